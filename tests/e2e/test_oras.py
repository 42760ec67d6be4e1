"""End-to-end tests of Berth with the real ORAS Python SDK (PyPI `oras`, tested with 0.2.43)
and, for the referrers API, plain `requests`.

Run:  pytest -q tests/e2e/test_oras.py
Env:  BERTH_BIN (default: <repo>/target/debug/berth), BERTH_METADATA / BERTH_STORAGE (passed
      through to the server), E2E_READY_TIMEOUT (seconds, default 30), BERTH_URL (use a running
      server), BERTH_ADMIN_USER / BERTH_ADMIN_PASSWORD (see berthlib.py).

The SDK logs in with Basic credentials (`login()`) and then follows Berth's Bearer challenges to
/service/token by itself: the admin for the main tests, a project robot in one test; an SDK
client that never logged in cannot push. Plain `requests` calls use the admin's Basic auth.

oras 0.2.43's `push()` takes `manifest_annotations`, `manifest_config` ("path:mediaType"),
`subject`, `do_chunked` and `chunk_size`, but has no `artifact_type` argument. `BerthOras`
below therefore adds `artifactType` to the manifest dict that `push()` built, in the one method
it sends it through (`upload_manifest`); everything else is the SDK's own code path.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
from dataclasses import dataclass

import oras.client
import oras.oci
import pytest
import requests

import berthlib

HTTP_TIMEOUT = 60  # seconds, for every request the tests or the SDK make

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
ARTIFACT_TYPE = "application/vnd.berth.test.v1"
SIGNATURE_TYPE = "application/vnd.berth.signature.v1"
SBOM_TYPE = "application/vnd.berth.sbom.v1"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---- the server (berthlib / conftest.py: a fresh `berth serve` per module, or BERTH_URL) ----------

ADMIN = berthlib.ADMIN_USER, berthlib.ADMIN_PASSWORD
Berth = berthlib.Berth


@pytest.fixture(scope="module", autouse=True)
def e2e_project(berth):
    """Repositories live in projects: everything here goes into project `e2e`."""
    api = berth.api()
    if api.req("HEAD", "/projects", params={"project_name": "e2e"}).status_code != 200:
        r = api.post("/projects", {"project_name": "e2e", "metadata": {"public": "false"}})
        assert r.status_code in (201, 409), f"{r.status_code} {r.text}"


@pytest.fixture(scope="module", autouse=True)
def short_sdk_backoff():
    """oras' retry decorator sleeps 3, 5, 11, 29 and 83 s between attempts of a failing request;
    the attempts stay, the sleeps are capped at 0.2 s so a failure reports in seconds."""
    import oras.decorator

    real = oras.decorator.time.sleep

    class _Time:
        def __getattr__(self, name):
            return getattr(__import__("time"), name)

        @staticmethod
        def sleep(s):
            real(min(s, 0.2))

    saved = oras.decorator.time
    oras.decorator.time = _Time()
    yield
    oras.decorator.time = saved


# ---- the client -------------------------------------------------------------------------------


class BerthOras(oras.client.OrasClient):
    """The real SDK, plus: every request is bounded by HTTP_TIMEOUT and recorded in `calls`,
    and `artifact_type` (when set) becomes the pushed manifest's `artifactType`. Logged in as
    `auth` (default: the admin; None: not logged in), with a throw-away docker config file."""

    def __init__(self, hostname: str, auth=ADMIN, config_dir: pathlib.Path | None = None):
        super().__init__(hostname=hostname, insecure=True)
        self.artifact_type: str | None = None
        self.calls: list[tuple[str, str]] = []
        send = self.session.request

        def request(method, url, **kw):
            kw.setdefault("timeout", HTTP_TIMEOUT)
            self.calls.append((method.upper(), url))
            return send(method, url, **kw)

        self.session.request = request
        if auth:
            if config_dir is None:
                config_dir = pathlib.Path(tempfile.mkdtemp(prefix="berth-oras-"))
                atexit.register(shutil.rmtree, config_dir, True)
            cfg = config_dir / "config.json"
            out = self.login(username=auth[0], password=auth[1], hostname=hostname, config_path=str(cfg))
            assert "Succeeded" in str(out), out

    def upload_manifest(self, manifest, container):
        if self.artifact_type:
            manifest = {**manifest, "artifactType": self.artifact_type}
        return super().upload_manifest(manifest, container)


@pytest.fixture
def client(berth) -> BerthOras:
    return BerthOras(berth.host)


def write(path: pathlib.Path, data: bytes) -> pathlib.Path:
    path.write_bytes(data)
    return path


def empty_config(dir: pathlib.Path) -> str:
    """A manifest_config argument for the OCI empty descriptor, as artifacts should use."""
    return f"{write(dir / 'empty-config.json', EMPTY_JSON)}:{OCI_EMPTY}"


def get_raw_manifest(berth: Berth, repo: str, ref: str) -> requests.Response:
    r = requests.get(
        f"{berth.url}/v2/{repo}/manifests/{ref}",
        headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"},
        auth=ADMIN,
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 200, f"GET manifest {repo}:{ref} -> {r.status_code} {r.text}"
    return r


@dataclass
class Pushed:
    repo: str
    target: str
    payload: bytes
    filename: str
    digest: str  # manifest digest
    manifest_bytes: bytes


ANNOTATIONS = {
    "org.opencontainers.image.description": "berth e2e artifact",
    "com.example.berth.purpose": "e2e",
}


@pytest.fixture(scope="module")
def first_artifact(berth, tmp_path_factory) -> Pushed:
    """A file artifact pushed with the SDK: custom artifactType, manifest annotations."""
    work = tmp_path_factory.mktemp("first")
    payload = os.urandom(3000) + b"berth e2e payload\n"
    filename = "payload.bin"
    write(work / filename, payload)
    client = BerthOras(berth.host)
    client.artifact_type = ARTIFACT_TYPE
    repo = "e2e/oras-artifact"
    target = f"{berth.host}/{repo}:v1"
    cwd = os.getcwd()
    os.chdir(work)  # push() wants files relative to the working directory
    try:
        res = client.push(
            target=target,
            files=[f"{filename}:application/vnd.berth.payload.v1"],
            manifest_config=empty_config(work),
            manifest_annotations=ANNOTATIONS,
            quiet=True,
        )
    finally:
        os.chdir(cwd)
    assert res.status_code == 201, f"{res.status_code} {res.text}"
    digest = res.headers.get("Docker-Content-Digest")
    assert digest and digest.startswith("sha256:")
    raw = get_raw_manifest(berth, repo, digest).content
    return Pushed(repo, target, payload, filename, digest, raw)


# ---- tests ------------------------------------------------------------------------------------


def test_push_pull_roundtrip(berth, client, first_artifact, tmp_path):
    files = client.pull(target=first_artifact.target, outdir=str(tmp_path))
    assert [os.path.basename(f) for f in files] == [first_artifact.filename]
    assert pathlib.Path(files[0]).read_bytes() == first_artifact.payload


def test_manifest_keeps_artifact_type_and_annotations(berth, client, first_artifact):
    m = client.get_manifest(first_artifact.target)
    assert m["artifactType"] == ARTIFACT_TYPE
    assert m["mediaType"] == OCI_MANIFEST
    for k, v in ANNOTATIONS.items():
        assert m["annotations"][k] == v
    assert m["config"] == {"mediaType": OCI_EMPTY, "size": 2, "digest": sha256(EMPTY_JSON)}
    [layer] = m["layers"]
    assert layer["digest"] == sha256(first_artifact.payload)
    assert layer["size"] == len(first_artifact.payload)
    assert layer["mediaType"] == "application/vnd.berth.payload.v1"
    assert layer["annotations"]["org.opencontainers.image.title"] == first_artifact.filename

    # The stored bytes hash to the digest the registry reports, by tag and by digest.
    r = get_raw_manifest(berth, first_artifact.repo, "v1")
    assert r.headers["Content-Type"] == OCI_MANIFEST
    assert r.headers["Docker-Content-Digest"] == first_artifact.digest == sha256(r.content)
    assert r.content == first_artifact.manifest_bytes
    assert json.loads(r.content) == m


def test_chunked_push_uses_post_patch_put(berth, client, tmp_path, monkeypatch):
    chunk = 64 * 1024
    payload = os.urandom(16 * chunk + 4099)  # 17 chunks, the last one short
    write(tmp_path / "big.bin", payload)
    monkeypatch.chdir(tmp_path)
    repo = "e2e/oras-chunked"
    target = f"{berth.host}/{repo}:chunked"
    res = client.push(target=target, files=["big.bin"], do_chunked=True, chunk_size=chunk, quiet=True)
    assert res.status_code == 201, res.text

    uploads = [(m, u) for m, u in client.calls if "/blobs/uploads/" in u]
    patches = [u for m, u in uploads if m == "PATCH"]
    assert len(patches) == -(-len(payload) // chunk) == 17
    # The layer: POST, 17 PATCHes, PUT ?digest=; the (non-chunked) config: POST, PUT.
    assert [m for m, _ in uploads].count("POST") == 2
    puts = [u for m, u in uploads if m == "PUT"]
    assert len(puts) == 2 and any(hashlib.sha256(payload).hexdigest() in u for u in puts)

    h = requests.head(f"{berth.url}/v2/{repo}/blobs/{sha256(payload)}", auth=ADMIN, timeout=HTTP_TIMEOUT)
    assert h.status_code == 200 and int(h.headers["Content-Length"]) == len(payload)
    out = tmp_path / "out"
    files = client.pull(target=target, outdir=str(out))
    assert pathlib.Path(files[0]).read_bytes() == payload


def test_get_tags_with_pagination(berth, client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    repo = "e2e/oras-tags"
    for tag in ["c", "a", "b"]:
        write(tmp_path / "f.txt", f"tag {tag}\n".encode())
        res = client.push(target=f"{berth.host}/{repo}:{tag}", files=["f.txt"], quiet=True)
        assert res.status_code == 201, res.text
    assert client.get_tags(f"{berth.host}/{repo}") == ["a", "b", "c"]
    client.calls.clear()
    assert client.get_tags(f"{berth.host}/{repo}", N=2) == ["a", "b"]
    assert any("n=2" in u for _, u in client.calls)


def test_delete_tag(berth, client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    repo = "e2e/oras-delete"
    for tag in ["keep", "drop"]:
        write(tmp_path / "f.txt", f"{tag}\n".encode())
        res = client.push(target=f"{berth.host}/{repo}:{tag}", files=["f.txt"], quiet=True)
        assert res.status_code == 201, res.text
    drop_digest = get_raw_manifest(berth, repo, "drop").headers["Docker-Content-Digest"]

    assert client.delete_tag(f"{berth.host}/{repo}", "drop") is True
    assert client.get_tags(f"{berth.host}/{repo}") == ["keep"]
    for ref in ["drop", drop_digest]:
        r = requests.get(f"{berth.url}/v2/{repo}/manifests/{ref}", auth=ADMIN, timeout=HTTP_TIMEOUT)
        assert r.status_code == 404, f"{ref}: {r.status_code}"
        assert r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    # Deleting it again finds nothing; the other tag is untouched.
    assert client.delete_tag(f"{berth.host}/{repo}", "drop") is False
    files = client.pull(target=f"{berth.host}/{repo}:keep", outdir=str(tmp_path / "out"))
    assert pathlib.Path(files[0]).read_bytes() == b"keep\n"


# ---- referrers (plain HTTP) -------------------------------------------------------------------


def push_blob(berth: Berth, repo: str, data: bytes) -> dict:
    d = sha256(data)
    r = requests.post(
        f"{berth.url}/v2/{repo}/blobs/uploads/",
        params={"digest": d},
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        auth=ADMIN,
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 201, f"{r.status_code} {r.text}"
    assert r.headers["Docker-Content-Digest"] == d
    return {"digest": d, "size": len(data)}


def push_referrer(berth: Berth, subject: Pushed, artifact_type: str, body: bytes, annotations: dict):
    layer = push_blob(berth, subject.repo, body)
    push_blob(berth, subject.repo, EMPTY_JSON)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": OCI_EMPTY, "digest": sha256(EMPTY_JSON), "size": 2},
        "layers": [{"mediaType": "application/octet-stream", **layer}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject.digest, "size": len(subject.manifest_bytes)},
        "annotations": annotations,
    }
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    digest = sha256(raw)
    r = requests.put(
        f"{berth.url}/v2/{subject.repo}/manifests/{digest}",
        data=raw,
        headers={"Content-Type": OCI_MANIFEST},
        auth=ADMIN,
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 201, f"{r.status_code} {r.text}"
    assert r.headers["Docker-Content-Digest"] == digest
    assert r.headers.get("OCI-Subject") == subject.digest
    return digest, len(raw)


def get_referrers(berth: Berth, repo: str, digest: str, **params) -> requests.Response:
    r = requests.get(f"{berth.url}/v2/{repo}/referrers/{digest}", params=params, auth=ADMIN, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    assert r.headers["Content-Type"].split(";")[0] == OCI_INDEX
    body = r.json()
    assert body["schemaVersion"] == 2 and body["mediaType"] == OCI_INDEX
    return r


def test_referrers_list_and_filter(berth, first_artifact):
    sig_ann = {"org.opencontainers.image.created": "2024-01-01T00:00:00Z", "com.example.kind": "signature"}
    sig, sig_size = push_referrer(berth, first_artifact, SIGNATURE_TYPE, b"not really a signature", sig_ann)
    sbom, sbom_size = push_referrer(berth, first_artifact, SBOM_TYPE, b'{"sbom":true}', {"com.example.kind": "sbom"})

    r = get_referrers(berth, first_artifact.repo, first_artifact.digest)
    assert "OCI-Filters-Applied" not in r.headers
    by_digest = {d["digest"]: d for d in r.json()["manifests"]}
    assert set(by_digest) >= {sig, sbom}
    assert by_digest[sig] == {
        "mediaType": OCI_MANIFEST,
        "digest": sig,
        "size": sig_size,
        "artifactType": SIGNATURE_TYPE,
        "annotations": sig_ann,
    }
    assert by_digest[sbom]["artifactType"] == SBOM_TYPE and by_digest[sbom]["size"] == sbom_size

    r = get_referrers(berth, first_artifact.repo, first_artifact.digest, artifactType=SIGNATURE_TYPE)
    assert r.headers.get("OCI-Filters-Applied") == "artifactType"
    assert [d["digest"] for d in r.json()["manifests"]] == [sig]

    r = get_referrers(berth, first_artifact.repo, first_artifact.digest, artifactType="application/x-none")
    assert r.headers.get("OCI-Filters-Applied") == "artifactType"
    assert r.json()["manifests"] == []

    # A digest nothing refers to (here: the signature itself) gets an empty index, not 404.
    r = get_referrers(berth, first_artifact.repo, sig)
    assert r.json()["manifests"] == []

    # Deleting a referrer removes it from the list.
    d = requests.delete(f"{berth.url}/v2/{first_artifact.repo}/manifests/{sbom}", auth=ADMIN, timeout=HTTP_TIMEOUT)
    assert d.status_code == 202, d.text
    r = get_referrers(berth, first_artifact.repo, first_artifact.digest)
    assert sbom not in {m["digest"] for m in r.json()["manifests"]}
    assert sig in {m["digest"] for m in r.json()["manifests"]}


def test_sdk_subject_push_is_a_referrer(berth, client, first_artifact, tmp_path, monkeypatch):
    """oras' own `subject=` support: the SDK computes the subject descriptor from the manifest."""
    subject = oras.oci.Subject.from_manifest(client.get_manifest(first_artifact.target))
    # The SDK re-serialises the manifest to compute the digest; it must match the stored bytes
    # for this test to mean anything.
    assert subject.digest == first_artifact.digest and subject.size == len(first_artifact.manifest_bytes)

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "note.txt", b"an attached note\n")
    client.artifact_type = "application/vnd.berth.note.v1"
    res = client.push(
        target=f"{berth.host}/{first_artifact.repo}:note",
        files=["note.txt"],
        manifest_config=empty_config(tmp_path),
        subject=subject,
        quiet=True,
    )
    assert res.status_code == 201, res.text
    assert res.headers.get("OCI-Subject") == first_artifact.digest
    note = res.headers["Docker-Content-Digest"]

    r = get_referrers(berth, first_artifact.repo, first_artifact.digest, artifactType="application/vnd.berth.note.v1")
    assert [(d["digest"], d["artifactType"]) for d in r.json()["manifests"]] == [(note, "application/vnd.berth.note.v1")]


# ---- authentication ---------------------------------------------------------------------------


def test_anonymous_sdk_push_is_refused(berth, tmp_path, monkeypatch):
    """An SDK client that never logged in gets only an anonymous token: its push fails and
    stores nothing."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "anon.txt", b"anonymous\n")
    anon = BerthOras(berth.host, auth=None)
    target = f"{berth.host}/e2e/oras-anon:v1"
    try:
        res = anon.push(target=target, files=["anon.txt"], quiet=True)
        pushed = res.status_code in (200, 201)
    except Exception:  # the SDK raises when it cannot authenticate
        pushed = False
    assert not pushed, "an anonymous push was accepted"
    r = requests.get(f"{berth.url}/v2/e2e/oras-anon/manifests/v1", auth=ADMIN, timeout=HTTP_TIMEOUT)
    assert r.status_code == 404, f"{r.status_code} {r.text}"
    # And without any SDK: the registry challenges anonymous uploads with a Bearer realm.
    r = requests.post(f"{berth.url}/v2/e2e/oras-anon/blobs/uploads/", timeout=HTTP_TIMEOUT)
    assert r.status_code == 401, f"{r.status_code} {r.text}"
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer "), r.headers


def test_robot_account_pushes_and_pulls_with_the_sdk(berth, tmp_path, monkeypatch):
    """A project robot with push+pull logs in with the SDK, pushes and pulls back through the
    token flow; it cannot push outside its project."""
    api = berth.api()
    robot = api.create_robot(
        berthlib.project_robot(f"oras{berthlib.run_id()}", "e2e", ("repository", "push"), ("repository", "pull"))
    )
    assert robot["name"].startswith("robot$e2e+") and robot["secret"]
    monkeypatch.chdir(tmp_path)
    payload = os.urandom(2048)
    write(tmp_path / "robot.bin", payload)
    rc = BerthOras(berth.host, auth=(robot["name"], robot["secret"]), config_dir=tmp_path)
    res = rc.push(target=f"{berth.host}/e2e/oras-robot:v1", files=["robot.bin"], quiet=True)
    assert res.status_code == 201, f"{res.status_code} {res.text}"
    # Pulled back by a fresh robot client (its own token) and checked as the admin.
    rc2 = BerthOras(berth.host, auth=(robot["name"], robot["secret"]), config_dir=tmp_path)
    files = rc2.pull(target=f"{berth.host}/e2e/oras-robot:v1", outdir=str(tmp_path / "out"))
    assert pathlib.Path(files[0]).read_bytes() == payload
    assert get_raw_manifest(berth, "e2e/oras-robot", "v1").status_code == 200
    # Outside its project: library is public (pull works) but the robot may not push there.
    rc3 = BerthOras(berth.host, auth=(robot["name"], robot["secret"]), config_dir=tmp_path)
    try:
        res = rc3.push(target=f"{berth.host}/library/oras-robot:v1", files=["robot.bin"], quiet=True)
        pushed = res.status_code in (200, 201)
    except Exception:
        pushed = False
    assert not pushed, "the robot pushed outside its project"
    r = requests.get(f"{berth.url}/v2/library/oras-robot/manifests/v1", auth=ADMIN, timeout=HTTP_TIMEOUT)
    assert r.status_code == 404, f"{r.status_code} {r.text}"
