"""The blocking API on an in-memory or on-disk registry, without HTTP: blobs, uploads,
manifests, tags, images, OCI layouts, errors and the closed state. Content only enters existing
projects, so each registry here first creates the projects its repositories live in."""

from __future__ import annotations

import hashlib
import json
import pathlib

import pytest

import berth

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def reg():
    with berth.open("memory://") as r:
        r.create_project("team")
        yield r


def manifest_for(config: bytes, layers: list[bytes], **extra: object) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(l), "size": len(l)} for l in layers],
        **extra,
    }
    return json.dumps(doc).encode()


def test_blobs_roundtrip_stat_delete(reg):
    d = reg.push_blob("team/app", b"hello")
    assert d == sha256(b"hello")
    assert reg.stat_blob("team/app", d) == 5
    assert reg.pull_blob("team/app", d) == b"hello"
    assert reg.push_blob("team/app", bytearray(b"ba")) == sha256(b"ba")
    reg.delete_blob("team/app", d)
    with pytest.raises(berth.NotFoundError) as e:
        reg.stat_blob("team/app", d)
    assert e.value.code == "BLOB_UNKNOWN"


def test_blob_files_stream_both_ways(reg, tmp_path):
    src = tmp_path / "big.bin"
    payload = bytes(range(256)) * 8192  # 2 MiB
    src.write_bytes(payload)
    d = reg.push_blob_file("team/app", src)
    assert d == sha256(payload)
    out = tmp_path / "out" / "copy.bin"
    assert reg.save_blob("team/app", d, str(out)) == len(payload)
    assert out.read_bytes() == payload


def test_mount_blob_across_repositories(reg):
    d = reg.push_blob("team/a", b"shared")
    assert reg.mount_blob("team/b", d, "team/a") == 6
    assert reg.pull_blob("team/b", d) == b"shared"
    assert reg.mount_blob("team/c", sha256(b"nothing"), "team/a") is None


def test_chunked_upload_session(reg):
    data = b"a" * 1000 + b"b" * 500
    uid = reg.start_upload("team/app")
    assert reg.append_upload("team/app", uid, data[:1000], offset=0) == 1000
    assert reg.upload_status("team/app", uid) == 1000
    with pytest.raises(berth.InvalidError) as e:
        reg.append_upload("team/app", uid, b"zz", offset=5)
    assert e.value.code == "RANGE_INVALID"
    assert reg.finish_upload("team/app", uid, sha256(data), data[1000:]) == 1500
    assert reg.pull_blob("team/app", sha256(data)) == data
    with pytest.raises(LookupError):
        reg.upload_status("team/app", uid)


def test_upload_with_wrong_digest_is_refused_and_cancel_works(reg):
    uid = reg.start_upload("team/app")
    with pytest.raises(ValueError) as e:
        reg.finish_upload("team/app", uid, sha256(b"other"), b"data")
    assert e.value.code == "DIGEST_INVALID"
    uid = reg.start_upload("team/app")
    reg.cancel_upload("team/app", uid)
    with pytest.raises(berth.NotFoundError):
        reg.cancel_upload("team/app", uid)
    assert reg.purge_uploads(0) == 0


def test_manifests_tags_catalog_and_delete(reg):
    config, layer = b"{}", b"layer"
    reg.push_blob("team/app", config)
    reg.push_blob("team/app", layer)
    body = manifest_for(config, [layer])
    pushed = reg.put_manifest("team/app", "v1", body, OCI_MANIFEST, tags=["latest"])
    assert pushed.digest == sha256(body)
    assert pushed.tags == ["v1", "latest"]
    m = reg.get_manifest("team/app", "v1")
    assert (m.digest, m.media_type, m.content) == (pushed.digest, OCI_MANIFEST, body)
    assert m.json()["schemaVersion"] == 2
    assert reg.list_tags("team/app") == ["latest", "v1"]
    assert reg.list_tags("team/app", n=1) == ["latest"]
    assert reg.list_tags("team/app", last="latest") == ["v1"]
    assert reg.catalog() == ["team/app"]
    reg.delete_manifest("team/app", "latest")
    assert reg.list_tags("team/app") == ["v1"]
    reg.delete_manifest("team/app", pushed.digest)
    with pytest.raises(berth.NotFoundError) as e:
        reg.get_manifest("team/app", "v1")
    assert e.value.code == "MANIFEST_UNKNOWN"


def test_manifest_referencing_missing_blob(reg):
    with pytest.raises(LookupError) as e:
        reg.put_manifest("team/app", "v1", manifest_for(b"{}", [b"absent"]))
    assert e.value.code == "MANIFEST_BLOB_UNKNOWN"


def test_referrers(reg):
    subject = reg.push_image("team/app:1.0", layers=[b"x"])
    sig = manifest_for(b"{}", [b"sig"], artifactType="application/vnd.example.sig", subject={"mediaType": OCI_MANIFEST, "digest": subject.digest, "size": 1})
    reg.push_blob("team/app", b"{}")
    reg.push_blob("team/app", b"sig")
    out = reg.put_manifest("team/app", sha256(sig), sig)
    assert out.subject == subject.digest
    index = reg.referrers("team/app", subject.digest)
    assert [m["digest"] for m in index["manifests"]] == [out.digest]
    assert reg.referrers("team/app", subject.digest, artifact_type="other/type")["manifests"] == []


def test_push_and_pull_image(reg, tmp_path):
    layer_file = tmp_path / "layer.tar"
    layer_file.write_bytes(b"from a file" * 1000)
    ref = reg.push_image(
        "team/app:1.0",
        layers=[b"first", layer_file],
        config={"architecture": "amd64", "os": "linux"},
        annotations={"org.opencontainers.image.title": "app"},
    )
    assert ref.tags == ["1.0"]
    assert str(ref) == ref.reference == f"team/app@{ref.digest}"
    assert ref.layers == [sha256(b"first"), sha256(layer_file.read_bytes())]
    assert reg.list_tags("team/app") == ["1.0"]
    img = reg.pull_image("team/app:1.0")
    assert img.digest == ref.digest
    assert json.loads(img.config) == {"architecture": "amd64", "os": "linux"}
    assert [layer.data for layer in img.layers] == [b"first", layer_file.read_bytes()]
    assert json.loads(img.manifest)["annotations"] == {"org.opencontainers.image.title": "app"}
    assert reg.pull_image(ref.reference).digest == ref.digest
    # "team/app" alone means :latest.
    reg.push_image("team/app", layers=[b"l"], layer_media_type="application/x-custom", artifact_type="application/x-art")
    latest = reg.pull_image("team/app:latest")
    assert latest.layers[0].media_type == "application/x-custom"
    assert latest.config_media_type == "application/vnd.oci.empty.v1+json"


def test_oci_layout_export_and_import(reg, tmp_path):
    a = reg.push_image("team/app:1.0", layers=[b"one"])
    b = reg.push_image("team/app:2.0", layers=[b"two"])
    layout = tmp_path / "layout"
    assert reg.export_layout("team/app:1.0", layout) == a.digest
    assert reg.export_layout("team/app:2.0", str(layout)) == b.digest
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    with berth.open("memory://") as other:
        other.create_project("mirror")
        other.create_project("single")
        out = other.import_layout(layout, "mirror/app")
        assert [m.digest for m in out] == [a.digest, b.digest]
        assert other.list_tags("mirror/app") == ["1.0", "2.0"]
        assert other.pull_image("mirror/app:2.0").layers[0].data == b"two"
        one = other.import_layout(layout, "single/app", tag="1.0")
        assert [m.tags for m in one] == [["1.0"]]
        with pytest.raises(berth.NotFoundError):
            other.import_layout(tmp_path / "missing", "x/y")


def test_data_dir_persists_across_reopen(tmp_path):
    with berth.open(str(tmp_path / "data")) as r:
        r.create_project("team")
        r.push_image("team/app:1.0", layers=[b"kept"])
    with berth.open(f"file://{tmp_path / 'data'}") as r:
        assert r.pull_image("team/app:1.0").layers[0].data == b"kept"
    uris = {"metadata": f"sqlite://{tmp_path / 'm.db'}", "storage": f"file://{tmp_path / 'blobs'}"}
    with berth.open(**uris) as r:
        r.create_project("a")
        r.push_blob("a/b", b"x")
    with berth.open(**uris) as r:
        assert r.pull_blob("a/b", sha256(b"x")) == b"x"


@pytest.mark.parametrize(
    ("call", "cls", "builtin", "code"),
    [
        (lambda r: r.list_tags("Team/App"), berth.InvalidError, ValueError, "NAME_INVALID"),
        (lambda r: r.list_tags("team/none"), berth.NotFoundError, LookupError, "NAME_UNKNOWN"),
        (lambda r: r.get_manifest("team/app", "bad tag!"), berth.InvalidError, ValueError, "TAG_INVALID"),
        (lambda r: r.pull_blob("team/app", "sha256:nothex"), berth.InvalidError, ValueError, "DIGEST_INVALID"),
        (lambda r: r.put_manifest("team/app", "v1", b"not json"), berth.InvalidError, ValueError, "MANIFEST_INVALID"),
        (lambda r: r.push_image("team/app:1.0", layers=["/no/such/file"]), berth.InternalError, berth.BerthError, "UNKNOWN"),
        (lambda r: r.push_blob("team/app", "text, not bytes"), berth.InvalidTypeError, TypeError, "BAD_REQUEST"),
        (lambda r: r.list_tags(42), berth.InvalidTypeError, TypeError, "BAD_REQUEST"),
        (lambda r: r.list_tags("team/app", n=-1), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.push_image("team/app:1", layers=[1, 2]), berth.InvalidTypeError, TypeError, "BAD_REQUEST"),
        (lambda r: r.push_image("team/app:1", config=object()), berth.InvalidTypeError, TypeError, "BAD_REQUEST"),
    ],
)
def test_errors_are_classified_with_codes(reg, call, cls, builtin, code):
    with pytest.raises(cls) as e:
        call(reg)
    assert isinstance(e.value, builtin)
    assert isinstance(e.value, berth.BerthError)
    assert e.value.code == code
    assert code in str(e.value)


def test_open_argument_errors():
    with pytest.raises(berth.InvalidError) as e:
        berth.open("ftp://nowhere")
    assert e.value.code == "BAD_REQUEST"
    with pytest.raises(berth.InvalidError):
        berth.open(metadata="sqlite://x.db")  # storage missing
    with pytest.raises(berth.InvalidError):
        berth.check_repository_name("UPPER")
    berth.check_repository_name("fine/name")


def test_close_twice_is_harmless_and_use_after_close_raises():
    r = berth.open()
    assert not r.closed
    r.close()
    r.close()
    assert r.closed
    with pytest.raises(berth.ClosedError) as e:
        r.catalog()
    assert e.value.code == "CLOSED"
    assert isinstance(e.value, RuntimeError)
    with r:  # entering a closed registry and leaving it again is harmless too
        pass


def test_content_only_enters_existing_projects(reg):
    with pytest.raises(berth.PermissionDeniedError) as e:
        reg.push_image("nowhere/app:1", layers=[b"x"])
    assert isinstance(e.value, PermissionError)
    assert e.value.code == "DENIED"
    assert "nowhere" in str(e.value)
    with pytest.raises(berth.InvalidError) as e2:
        reg.push_blob("app", b"x")  # a repository is <project>/<name>
    assert e2.value.code == "NAME_INVALID"
    reg.create_project("nowhere")
    reg.push_image("nowhere/app:1", layers=[b"x"])
    assert reg.list_tags("nowhere/app") == ["1"]


def test_version():
    assert berth.__version__ == berth.version()
    assert berth.version().count(".") == 2
