"""Governance through the binding: quotas, garbage collection, read-only mode, the audit log,
and GC runs started over HTTP executed by the served registry's job workers."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests

import berth
import berth.aio
import berth.types


def keys_of(td) -> set[str]:
    return set(td.__required_keys__) | set(td.__optional_keys__)


def test_quota_counts_refuses_and_changes():
    with berth.open() as reg:
        reg.create_project("team", storage_limit=10_000)
        q = reg.quota("team")
        assert set(q) == keys_of(berth.types.Quota)
        assert (q["hard"]["storage"], q["used"]["storage"]) == (10_000, 0)
        reg.push_blob("team/app", b"a" * 4000)
        reg.push_blob("team/other", b"a" * 4000)  # the same blob in a second repository: charged once
        assert reg.quota("team")["used"]["storage"] == 4000
        with pytest.raises(berth.PermissionDeniedError) as e:
            reg.push_blob("team/app", b"b" * 7000)
        assert e.value.code == "DENIED"
        assert "quota exceeded in project team" in str(e.value)
        assert reg.quota("team")["used"]["storage"] == 4000, "nothing was charged"
        reg.set_storage_limit("team", -1)
        reg.push_blob("team/app", b"b" * 7000)
        assert reg.quota("team")["used"]["storage"] == 11_000
        with pytest.raises(berth.InvalidError):
            reg.set_storage_limit("team", -3)
        with pytest.raises(berth.InvalidTypeError):
            reg.set_storage_limit("team", "lots")
        with pytest.raises(berth.NotFoundError):
            reg.quota("nope")


def test_garbage_collection_frees_what_nothing_references():
    with berth.open() as reg:
        reg.create_project("gc")
        kept = reg.push_image("gc/app:keep", layers=[b"kept layer"])
        orphan = reg.push_blob("gc/app", b"orphan bytes")
        time.sleep(0.02)  # older than a zero grace period: strictly before now
        dry = reg.gc(dry_run=True, grace_seconds=0)
        assert set(dry) == keys_of(berth.types.GcReport)
        assert dry["dry_run"] and dry["purged_blobs"] == 1 and dry["freed_space"] == len(b"orphan bytes")
        assert reg.stat_blob("gc/app", orphan) == len(b"orphan bytes"), "a dry run changes nothing"
        report = reg.gc(grace_seconds=0, workers=2)
        assert (report["purged_blobs"], report["dropped_links"]) == (1, 1)
        with pytest.raises(berth.NotFoundError):
            reg.stat_blob("gc/app", orphan)
        assert reg.pull_image("gc/app:keep").layers[0].data == b"kept layer"
        assert kept.digest == reg.pull_image("gc/app:keep").digest
        fresh = reg.push_blob("gc/app", b"fresh")
        assert reg.gc()["purged_blobs"] == 0, "within the default grace period"
        assert reg.stat_blob("gc/app", fresh) == 5
        with pytest.raises(berth.InvalidError):
            reg.gc(workers=11)


def test_read_only_mode_and_audit_log():
    with berth.open() as reg:
        reg.create_project("ro")
        reg.push_image("ro/app:1", layers=[b"x"])
        assert reg.read_only() is False
        reg.set_read_only(True)
        assert reg.read_only() is True
        with pytest.raises(berth.PermissionDeniedError) as e:
            reg.push_image("ro/app:2", layers=[b"y"])
        assert "read-only" in str(e.value)
        assert reg.pull_image("ro/app:1").layers[0].data == b"x"
        reg.set_read_only(False)
        reg.push_image("ro/app:2", layers=[b"y"])
        log = reg.audit_logs(q="operation=create")
        assert log["total"] >= 2
        assert set(log["items"][0]) <= keys_of(berth.types.AuditLog)
        assert {e["resource"] for e in log["items"]} >= {"ro/app:1", "ro/app:2"}
        with pytest.raises(berth.InvalidError):
            reg.audit_logs(q="nonsense=1")


def test_gc_started_over_http_runs_on_the_served_registrys_workers():
    with berth.serve(admin_password="Gc-Admin-Pass-1") as srv:
        srv.create_project("web")
        srv.push_blob("web/app", b"unreferenced")
        auth = ("admin", "Gc-Admin-Pass-1")
        r = requests.post(
            f"{srv.url}/api/v2.0/system/gc/schedule",
            json={"schedule": {"type": "Manual"}, "parameters": {"dry_run": True}},
            auth=auth,
            timeout=10,
        )
        assert r.status_code == 201, r.text
        run = r.headers["Location"].rsplit("/", 1)[1]
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline:
            status = requests.get(f"{srv.url}/api/v2.0/system/gc/{run}", auth=auth, timeout=10).json()["job_status"]
            if status in ("Success", "Error"):
                break
            time.sleep(0.1)
        assert status == "Success"
        log = requests.get(f"{srv.url}/api/v2.0/system/gc/{run}/log", auth=auth, timeout=10).text
        assert "would delete" in log


def test_async_governance():
    async def main():
        async with berth.aio.open() as reg:
            await reg.create_project("aq", storage_limit=100)
            with pytest.raises(berth.PermissionDeniedError):
                await reg.push_blob("aq/app", b"z" * 200)
            assert (await reg.quota("aq"))["used"]["storage"] == 0
            report = await reg.gc(dry_run=True)
            assert report["purged_blobs"] == 0
            assert await reg.run_jobs() == 0

    asyncio.run(main())


def test_retention_dry_run_lists_what_a_run_would_delete():
    with berth.open() as reg:
        pid = reg.create_project("ret")["project_id"]
        for i in range(4):
            reg.push_image(f"ret/app:v{i}", layers=[f"layer {i}".encode()])
        policy = {
            "algorithm": "or",
            "rules": [
                {
                    "action": "retain",
                    "template": "latestPushedK",
                    "params": {"latestPushedK": 1},
                    "tag_selectors": [{"kind": "regex", "decoration": "matches", "pattern": "v[0-9]+"}],
                    "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]},
                }
            ],
            "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
            "scope": {"level": "project", "ref": pid},
        }
        rid = reg.create_retention(policy)
        preview = reg.retention_dry_run(rid)
        assert set(preview[0]) == keys_of(berth.types.RetentionPreview)
        assert (preview[0]["repository"], preview[0]["total"], preview[0]["retained"]) == ("ret/app", 4, 1)
        assert len(preview[0]["deleted"]) == 3
        assert reg.list_tags("ret/app") == ["v0", "v1", "v2", "v3"], "a dry run deletes nothing"
        with pytest.raises(berth.InvalidError):
            reg.create_retention({**policy, "rules": [{**policy["rules"][0], "template": "sometimes"}]})
