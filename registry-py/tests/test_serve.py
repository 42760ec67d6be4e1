"""Served registries: the context manager, url/host, the admin credentials, HTTP against the
engine's data (authenticated), stop, the pytest fixture, and the real oras SDK pushing and
pulling through the fixture with credentials."""

from __future__ import annotations

import os
import pathlib
import socket
import time

import oras.client
import oras.provider
import pytest
import requests

import berth


def test_serve_context_manager_and_http(tmp_path):
    with berth.serve() as reg:
        assert reg.url == f"http://{reg.host}"
        assert reg.host.startswith("127.0.0.1:")
        auth = reg.credentials
        reg.create_project("team")  # private
        ref = reg.push_image("team/app:1.0", layers=[b"layer"])
        r = requests.get(f"{reg.url}/v2/team/app/tags/list", auth=auth, timeout=10)
        assert r.json() == {"name": "team/app", "tags": ["1.0"]}
        r = requests.get(
            f"{reg.url}/v2/team/app/manifests/1.0",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            auth=auth,
            timeout=10,
        )
        assert r.headers["Docker-Content-Digest"] == ref.digest
        # Anonymous callers see nothing of a private project.
        assert requests.get(f"{reg.url}/v2/team/app/tags/list", timeout=10).status_code == 401
        # HTTP writes are visible to the engine API at once.
        blob = requests.post(
            f"{reg.url}/v2/team/other/blobs/uploads/?digest={berth_sha(b'via http')}", data=b"via http", auth=auth, timeout=10
        )
        assert blob.status_code == 201
        assert reg.pull_blob("team/other", berth_sha(b"via http")) == b"via http"
        host, port = reg.host.split(":")
    assert reg.closed
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{host}:{port}/v2/", timeout=5)
    reg.stop()  # stopping twice is harmless
    with pytest.raises(berth.ClosedError):
        reg.list_tags("team/app")


def berth_sha(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_serve_on_given_data_dir_and_address(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    data = tmp_path / "data"
    with berth.serve(str(data), addr=f"127.0.0.1:{port}", admin_password="Given-Pass-1") as reg:
        assert reg.host == f"127.0.0.1:{port}"
        assert reg.credentials == ("admin", "Given-Pass-1")
        reg.push_image("library/app:1.0", layers=[b"persisted"])
    assert (data / "berth.db").exists()
    with berth.open(str(data)) as again:
        assert again.list_tags("library/app") == ["1.0"]
        assert again.login("admin", "Given-Pass-1")["sysadmin"] is True
    # A second start finds the admin: no password is generated; a given one is reported as given.
    with berth.serve(str(data)) as reg:
        assert reg.admin_password is None and reg.credentials is None
        assert requests.get(f"{reg.url}/v2/", auth=("admin", "Given-Pass-1"), timeout=10).status_code == 200
    with pytest.raises(berth.InvalidError):
        berth.serve(addr="not an address")


def test_start_and_stop_are_quick():
    t0 = time.perf_counter()
    reg = berth.serve()
    reg.stop()
    # Generous bound for a loaded CI machine; docs/benchmarks.md has the measured figures.
    assert time.perf_counter() - t0 < 5


def test_serve_generates_an_admin_password_and_bootstraps():
    with berth.serve() as a, berth.serve() as b:
        assert a.admin_username == "admin"
        assert a.admin_password and b.admin_password and a.admin_password != b.admin_password
        assert a.credentials == ("admin", a.admin_password)
        assert a.project("library")["metadata"]["public"] == "true"
        assert a.bootstrap() is None  # already done: nothing generated
    with berth.open() as plain:  # open() does not bootstrap; the engine call does
        password = plain.bootstrap()
        assert password is not None
        assert plain.login("admin", password)["sysadmin"] is True
        assert plain.bootstrap("Other-Pass-1") is None
    with pytest.raises(berth.InvalidError) as e:
        berth.serve(admin_password="weak")
    assert e.value.code == "BAD_REQUEST"


def test_fixture_gives_a_served_registry(berth_registry):
    assert isinstance(berth_registry, berth.Server)
    anonymous = requests.get(f"{berth_registry.url}/v2/", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer realm=")
    assert "/service/token" in anonymous.headers["WWW-Authenticate"]
    assert requests.get(f"{berth_registry.url}/v2/", auth=berth_registry.credentials, timeout=10).status_code == 200
    assert requests.get(f"{berth_registry.url}/v2/", auth=("admin", "wrong"), timeout=10).status_code == 401
    assert berth_registry.catalog() == []
    assert [p["name"] for p in berth_registry.projects()["items"]] == ["library"]


def test_fixture_is_fresh_per_test(berth_registry):
    assert berth_registry.catalog() == []
    berth_registry.push_image("library/here:1", layers=[b"x"])
    # library is public: anonymous pulls work, anonymous pushes do not.
    assert requests.get(f"{berth_registry.url}/v2/library/here/tags/list", timeout=10).json()["tags"] == ["1"]
    r = requests.post(f"{berth_registry.url}/v2/library/here/blobs/uploads/", timeout=10)
    assert r.status_code == 401


def oras_client(reg: berth.Server, auth: tuple[str, str] | None, backend: str = "token") -> oras.provider.Registry:
    """An oras client for `reg` answering Berth's challenges with `auth`: Basic credentials
    traded for Bearer tokens at /service/token (`backend="token"`, oras' default; the token
    carries every action the user may do on the scope, as in Harbor, so a push after a pull
    needs no second token), or HTTP Basic on every request (`backend="basic"`)."""
    client = oras.provider.Registry(hostname=reg.host, insecure=True, auth_backend=backend)
    if auth:
        client.auth.set_basic_auth(*auth)
    return client


def test_oras_sdk_push_and_pull_through_the_fixture(berth_registry, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "artifact.txt").write_bytes(b"pushed by oras")
    monkeypatch.chdir(work)  # oras push wants paths relative to the working directory
    berth_registry.create_project("team")
    client = oras_client(berth_registry, berth_registry.credentials)
    target = f"{berth_registry.host}/team/oras:v1"
    res = client.push(target=target, files=["artifact.txt"], quiet=True)
    assert res.status_code in (200, 201)
    # The engine sees what oras pushed …
    assert berth_registry.list_tags("team/oras") == ["v1"]
    img = berth_registry.pull_image("team/oras:v1")
    assert [layer.data for layer in img.layers] == [b"pushed by oras"]
    # … and oras pulls what the engine pushed.
    berth_registry.push_image(
        "team/oras:v2",
        layers=[b"pushed by berth"],
        annotations={},
    )
    manifest = berth_registry.get_manifest("team/oras", "v2").json()
    assert manifest["layers"][0]["digest"] == berth_sha(b"pushed by berth")
    assert client.get_tags(f"{berth_registry.host}/team/oras") == ["v1", "v2"]
    out = tmp_path / "out"
    files = client.pull(target=target, outdir=str(out))
    assert [pathlib.Path(f).read_bytes() for f in files] == [b"pushed by oras"]


def test_oras_pulls_an_image_pushed_through_the_engine(berth_registry, tmp_path):
    title = {"org.opencontainers.image.title": "hello.txt"}
    berth_registry.create_project("team")
    digest = berth_registry.push_blob("team/files", b"hello from berth")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": berth_registry.push_blob("team/files", b"{}"), "size": 2},
        "layers": [{"mediaType": "text/plain", "digest": digest, "size": 16, "annotations": title}],
    }
    import json

    berth_registry.put_manifest("team/files", "v1", json.dumps(manifest).encode())
    client = oras_client(berth_registry, berth_registry.credentials, backend="basic")
    files = client.pull(target=f"{berth_registry.host}/team/files:v1", outdir=str(tmp_path))
    assert [os.path.basename(f) for f in files] == ["hello.txt"]
    assert pathlib.Path(files[0]).read_bytes() == b"hello from berth"
