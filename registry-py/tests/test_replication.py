"""Replication through the binding, against a real Distribution 2.8 (Debian docker-registry)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

import berth
import berth.types


def keys_of(td) -> set[str]:
    return set(td.__required_keys__) | set(td.__optional_keys__)


@pytest.fixture
def distribution(tmp_path):
    """A Distribution 2.8 server on a free loopback port; yields its base URL."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry (Debian) is needed: tests/setup.sh installs it"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "dist.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage: {{ filesystem: {{ rootdirectory: {tmp_path / 'dist-data'} }} }}\n"
        f"http: {{ addr: 127.0.0.1:{port} }}\n"
    )
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(url + "/v2/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_replicate_mirrors_fixtures_in_one_call_both_ways(distribution):
    with berth.open() as src, berth.open() as dst:
        src.create_project("fix")
        image = src.push_image("fix/app:v1", layers=[b"fixture layer"])
        src.push_image("fix/app:v2", layers=[b"another layer"])

        out = src.replicate(f"{distribution}/mirror/app", "fix/app", push=True, tags=["v1"])
        assert set(out) == keys_of(berth.types.CopyReport)
        assert (out["copied"], out["blobs_copied"]) == (["v1"], 2)

        # Into another registry, whose project is created on the way: every tag by default.
        got = dst.replicate(f"{distribution}/mirror/app", "mirrored/app")
        assert got["copied"] == ["v1"]
        assert dst.pull_image("mirrored/app:v1").digest == image.digest
        again = dst.replicate(f"{distribution}/mirror/app", "mirrored/app")
        assert (again["copied"], again["skipped"], again["blobs_copied"]) == ([], ["v1"], 0)

        with pytest.raises(berth.InvalidError) as e:
            dst.replicate(f"{distribution}/", "mirrored/app")
        assert e.value.code == "BAD_REQUEST"
        with pytest.raises(berth.UnavailableError) as e:
            dst.replicate("http://127.0.0.1:9/nothing/here", "mirrored/app")
        assert e.value.code == "UNAVAILABLE"


def test_policies_endpoints_and_proxy_projects(distribution):
    with berth.open() as reg:
        reg.create_project("src")
        image = reg.push_image("src/app:v1", layers=[b"layer"])
        endpoint = reg.create_registry("dist", distribution, access_key="u", access_secret="never shown")
        assert set(endpoint) == keys_of(berth.types.RegistryEndpoint)
        assert endpoint["credential"]["access_secret"] == "*****"
        policy = reg.create_replication_policy(
            {
                "name": "out",
                "dest_registry": {"id": endpoint["id"]},
                "dest_namespace": "copy",
                "dest_namespace_replace_count": 1,
                "filters": [{"type": "name", "value": "src/**"}],
            }
        )
        assert set(policy) == keys_of(berth.types.ReplicationPolicy)
        execution = reg.start_replication(policy["id"])
        reg.run_jobs()
        run = reg.replication_execution(execution)
        assert set(run) == keys_of(berth.types.ReplicationExecution)
        assert (run["status"], run["total"], run["succeed"]) == ("Succeed", 1, 1)
        pulled = reg.replicate(f"{distribution}/copy/app", "back/app")
        assert pulled["copied"] == ["v1"] and reg.pull_image("back/app:v1").digest == image.digest

        proxy = reg.create_proxy_project("hub", endpoint["id"])
        assert proxy["registry_id"] == endpoint["id"]
        with pytest.raises(berth.InvalidError):
            reg.create_proxy_project("hub2", 999)
        with pytest.raises(berth.InvalidError):
            reg.create_replication_policy({"name": "bad", "src_registry": {"id": endpoint["id"]}, "dest_registry": {"id": endpoint["id"]}})
