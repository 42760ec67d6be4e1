"""Signing through the binding: in-process cosign-style signatures, accessories, trusted keys."""

from __future__ import annotations

import asyncio

import pytest

import berth
import berth.aio
import berth.types


def keys_of(td) -> set[str]:
    return set(td.__required_keys__) | set(td.__optional_keys__)


def test_sign_lists_the_signature_under_its_subject_and_verifies_with_a_trusted_key():
    with berth.open() as reg:
        reg.create_project("sig")
        image = reg.push_image("sig/app:v1", layers=[b"layer"])
        private, public = berth.generate_signing_key()
        assert "BEGIN PRIVATE KEY" in private and "BEGIN PUBLIC KEY" in public
        sig = reg.sign("sig/app:v1", private)
        assert sig.startswith("sha256:") and sig != image.digest

        # The signature is not an artifact of its own: it is the image's accessory.
        arts = reg.artifacts("sig", "app")
        assert arts["total"] == 1
        art = arts["items"][0]
        assert set(art) == keys_of(berth.types.Artifact)
        [acc] = art["accessories"]
        assert set(acc) == keys_of(berth.types.Accessory)
        assert (acc["type"], acc["digest"], acc["subject_artifact_digest"]) == ("signature.cosign", sig, image.digest)
        assert acc["verification"] is None, "no trusted keys, no verdict"
        assert reg.accessories("sig", "app", "v1", q="type=signature.cosign")["total"] == 1
        assert reg.accessories("sig", "app", "v1", q="type=sbom.harbor")["total"] == 0
        with pytest.raises(berth.InvalidError) as e:
            reg.accessories("sig", "app", "v1", q="type=bogus")
        assert e.value.code == "BAD_REQUEST"

        # Trusted keys: the signature now verifies; another key's does not.
        key = reg.add_trust_key("sig", "release", public)
        assert set(key) == keys_of(berth.types.TrustKey)
        assert (key["kind"], key["algorithm"]) == ("cosign", "ecdsa-p256")
        assert [k["id"] for k in reg.trust_keys("sig")] == [key["id"]]
        assert reg.artifact("sig", "app", "v1")["accessories"][0]["verification"] == "verified"
        with pytest.raises(berth.ConflictError):
            reg.add_trust_key("sig", "again", public)
        with pytest.raises(berth.InvalidError) as e:
            reg.add_trust_key("sig", "oops", private)
        assert "PUBLIC KEY" in str(e.value)
        other, _ = berth.generate_signing_key()
        reg.push_image("sig/app:v2", layers=[b"other layer"])
        reg.sign("sig/app:v2", other)
        assert reg.artifact("sig", "app", "v2")["accessories"][0]["verification"] == "unknown_key"
        reg.delete_trust_key("sig", key["id"])
        assert reg.trust_keys("sig") == []
        with pytest.raises(berth.NotFoundError):
            reg.delete_trust_key("sig", key["id"])

        # Deleting the image takes its signature along.
        reg.delete_manifest("sig/app", image.digest)
        with pytest.raises(berth.NotFoundError):
            reg.get_manifest("sig/app", sig)


def test_async_sign_and_accessories():
    async def main() -> None:
        async with berth.aio.open() as reg:
            await reg.create_project("sig")
            await reg.push_image("sig/app:v1", layers=[b"layer"])
            private, public = berth.generate_signing_key()
            sig = await reg.sign("sig/app:v1", private)
            await reg.add_trust_key("sig", "release", public)
            page = await reg.accessories("sig", "app", "v1")
            assert [(a["digest"], a["verification"]) for a in page["items"]] == [(sig, "verified")]
            assert len(await reg.trust_keys("sig")) == 1

    asyncio.run(main())


def _tgz(entries: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, data in entries.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_sbom_of_an_image_is_its_accessory():
    status = b"".join(
        b"Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\n\n" % p
        for p in [(b"libc6", b"2.36-9"), (b"bash", b"5.2.15-2+b8")]
    )
    layer = _tgz({"etc/os-release": b'ID=debian\nVERSION_ID="12"\n', "var/lib/dpkg/status": status})
    with berth.open() as reg:
        reg.create_project("scan")
        image = reg.push_image("scan/deb:12", layers=[layer], layer_media_type="application/vnd.oci.image.layer.v1.tar+gzip")
        sbom = reg.sbom("scan/deb:12")
        assert set(sbom) == keys_of(berth.types.Sbom)
        assert sbom["subject"] == image.digest and sbom["distro"] == "debian 12"
        assert [(p["name"], p["version"]) for p in sbom["packages"]] == [("bash", "5.2.15-2+b8"), ("libc6", "2.36-9")]
        assert sbom["spdx"]["spdxVersion"] == "SPDX-2.3" and sbom["cyclonedx"]["specVersion"] == "1.5"
        [acc] = reg.artifact("scan", "deb", "12")["accessories"]
        assert (acc["type"], acc["digest"]) == ("sbom.harbor", sbom["digest"])


def _osv(id_: str, package: str, fixed: str, vector: str) -> dict:
    return {
        "id": id_,
        "modified": "2024-05-01T00:00:00Z",
        "aliases": [id_.replace("DEBIAN-", "")],
        "summary": f"{id_} in {package}",
        "severity": [{"type": "CVSS_V3", "score": vector}],
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
    }


def test_scan_against_an_imported_osv_database(tmp_path):
    import json

    status = b"".join(
        b"Package: %s\nStatus: install ok installed\nSource: %s\nVersion: %s\n\n" % p
        for p in [(b"libc6", b"glibc", b"2.36-9+deb12u3"), (b"bash", b"bash", b"5.2.15-2+b8")]
    )
    layer = _tgz({"etc/os-release": b'ID=debian\nVERSION_ID="12"\n', "var/lib/dpkg/status": status})
    critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    # glibc is fixed in u10 (after u3 in dpkg's order); bash was fixed before the installed version.
    (tmp_path / "a.json").write_text(json.dumps(_osv("DEBIAN-CVE-2023-4911", "glibc", "2.36-9+deb12u10", critical)))
    (tmp_path / "b.json").write_text(json.dumps(_osv("DEBIAN-CVE-2022-3715", "bash", "5.1-1", critical)))
    with berth.open() as reg:
        reg.create_project("scan")
        image = reg.push_image("scan/deb:12", layers=[layer], layer_media_type="application/vnd.oci.image.layer.v1.tar+gzip")
        assert reg.vulnerabilities("scan/deb:12") is None, "never scanned"
        stats = reg.import_vulndb(tmp_path)
        assert set(stats) == keys_of(berth.types.VulndbImport)
        assert (stats["advisories"], stats["rows"], stats["total_advisories"]) == (2, 2, 2)
        result = reg.scan("scan/deb:12")
        assert set(result) == keys_of(berth.types.ScanResult)
        assert result["digest"] == image.digest
        # "No Critical CVE" in one line — here there is one, in glibc.
        critical_found = [v["id"] for v in result["report"]["vulnerabilities"] if v["severity"] == "Critical"]
        assert critical_found == ["DEBIAN-CVE-2023-4911"]
        [v] = reg.vulnerabilities("scan/deb:12")["vulnerabilities"]
        assert set(v) == keys_of(berth.types.Vulnerability)
        assert (v["package"], v["version"], v["fix_version"]) == ("libc6", "2.36-9+deb12u3", "2.36-9+deb12u10")
        assert v["vendor_attributes"]["aliases"] == ["CVE-2023-4911"]
        overview = result["overview"]
        assert set(overview) == keys_of(berth.types.ScanOverview)
        assert (overview["scan_status"], overview["severity"], overview["summary"]["total"]) == ("Success", "Critical", 1)
        art = reg.artifact("scan", "deb", "12")
        assert art["scan_overview"]["application/vnd.security.vulnerability.report; version=1.1"]["severity"] == "Critical"
        with pytest.raises(berth.InvalidError) as e:
            reg.import_vulndb(tmp_path / "missing")
        assert e.value.code == "BAD_REQUEST" and "missing" in str(e.value)
