"""Shared helpers for Berth's Python end-to-end tests: start a real `berth serve` (or use the one
named by BERTH_URL), call `/api/v2.0` and the token service, and push small images over the OCI
API with plain `requests`.

Environment:
  BERTH_URL             use this running server instead of starting one (http://127.0.0.1:PORT)
  BERTH_ADMIN_USER      admin user name (default admin)
  BERTH_ADMIN_PASSWORD  admin password (default E2e-Admin-Pass1; given to servers started here)
  BERTH_BIN             server binary (default <repo>/target/debug/berth)
  BERTH_METADATA / BERTH_STORAGE  passed through to servers started here
  E2E_READY_TIMEOUT     seconds to wait for a started server (default 30)
  E2E_KEEP_TMP=1        keep data dirs of started servers
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field

import pytest
import requests

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BERTH_BIN = os.environ.get("BERTH_BIN") or str(REPO_ROOT / "target" / "debug" / "berth")
READY_TIMEOUT = float(os.environ.get("E2E_READY_TIMEOUT", "30"))
HTTP_TIMEOUT = 60  # seconds, for every request
ADMIN_USER = os.environ.get("BERTH_ADMIN_USER") or "admin"
ADMIN_PASSWORD = os.environ.get("BERTH_ADMIN_PASSWORD") or "E2e-Admin-Pass1"
SERVICE = "harbor-registry"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

# Every response any helper here received (for "no password hash in any response" checks).
SEEN: list[requests.Response] = []


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _record(resp: requests.Response, *args, **kwargs):
    SEEN.append(resp)
    return resp


def session(auth=None) -> requests.Session:
    """A requests session with Basic `auth` (a (user, password) tuple, or None: anonymous) whose
    responses are all recorded in SEEN."""
    s = requests.Session()
    s.auth = auth
    s.hooks["response"].append(_record)
    return s


# ---- the server ---------------------------------------------------------------------------------


@dataclass
class Berth:
    host: str  # 127.0.0.1:PORT
    url: str  # http://127.0.0.1:PORT
    admin: tuple[str, str]
    data_dir: pathlib.Path | None = None
    log_path: pathlib.Path | None = None
    proc: subprocess.Popen | None = None
    extra: dict = field(default_factory=dict)

    def log(self) -> str:
        if not self.log_path:
            return "(external server: no log)"
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"(no log: {e})"

    def api(self, auth="admin") -> "Api":
        """An /api/v2.0 client: auth "admin", None (anonymous) or a (user, password) tuple."""
        return Api(self, self.admin if auth == "admin" else auth)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def start_berth(tmp: pathlib.Path, env_extra: dict | None = None) -> Berth:
    """Start `berth serve` on a free loopback port with a data dir under `tmp`; wait until
    GET /v2/ answers 200 to the admin."""
    if not os.access(BERTH_BIN, os.X_OK):
        pytest.fail(f"berth binary not found: {BERTH_BIN} (cargo build -p registry-http, or set BERTH_BIN)")
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)  # BERTH_METADATA / BERTH_STORAGE reach the server through it
    env.pop("BERTH_URL", None)
    env["BERTH_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    env.update(env_extra or {})
    admin = (ADMIN_USER, ADMIN_PASSWORD)
    for attempt in range(3):
        port = free_port()
        host = f"127.0.0.1:{port}"
        log_path = tmp / f"berth.{attempt}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [BERTH_BIN, "serve", "--listen", host, "--data-dir", str(data_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        server = Berth(host, f"http://{host}", admin, data_dir, log_path, proc)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if requests.get(f"{server.url}/v2/", auth=admin, timeout=2).status_code == 200:
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.2)
        exited = proc.poll()
        stop(proc)
        if exited is not None and "binding" in server.log() and attempt < 2:
            continue  # someone took the port between free_port() and the bind: try another
        if exited is not None:
            why = f"berth exited with status {exited} before answering GET {server.url}/v2/"
        else:
            why = f"berth did not answer GET {server.url}/v2/ with 200 (as {ADMIN_USER}) within {READY_TIMEOUT}s"
        pytest.fail(f"{why}; server log:\n{server.log()}")
    raise AssertionError("unreachable")


def external_berth() -> Berth | None:
    url = os.environ.get("BERTH_URL")
    if not url:
        return None
    url = url.rstrip("/")
    return Berth(urllib.parse.urlparse(url).netloc, url, (ADMIN_USER, ADMIN_PASSWORD))


def finish(server: Berth) -> None:
    if server.proc is None:
        return
    stop(server.proc)
    if server.proc.returncode not in (0, -15):
        print(f"berth exited with {server.proc.returncode}; log:\n{server.log()}")
    if os.environ.get("E2E_KEEP_TMP") != "1" and server.data_dir:
        shutil.rmtree(server.data_dir, ignore_errors=True)


# ---- /api/v2.0 ----------------------------------------------------------------------------------


class Api:
    """Calls to /api/v2.0 with one identity. Methods return the Response; nothing raises on
    HTTP errors."""

    def __init__(self, berth: Berth, auth):
        self.berth = berth
        self.auth = auth
        self.s = session(auth)

    def url(self, path: str) -> str:
        return f"{self.berth.url}/api/v2.0{path}"

    def req(self, method: str, path: str, body=None, raw: bytes | None = None, **kw) -> requests.Response:
        kw.setdefault("timeout", HTTP_TIMEOUT)
        if raw is not None:
            kw["data"] = raw
            kw.setdefault("headers", {})["Content-Type"] = "application/json"
        elif body is not None:
            kw["json"] = body
        return self.s.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.req("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)

    def ok(self, method: str, path: str, body=None, **kw) -> requests.Response:
        r = self.req(method, path, body, **kw)
        assert 200 <= r.status_code < 300, f"{method} {path} -> {r.status_code} {r.text}"
        return r

    # -- conveniences (expect success) --

    def create_project(self, name: str, public: bool = False) -> int:
        r = self.post("/projects", {"project_name": name, "metadata": {"public": "true" if public else "false"}})
        assert r.status_code == 201, f"create project {name}: {r.status_code} {r.text}"
        return self.ok("GET", f"/projects/{name}").json()["project_id"]

    def create_user(self, username: str, password: str) -> int:
        r = self.post(
            "/users",
            {"username": username, "email": f"{username}@example.com", "realname": username, "password": password, "comment": "e2e"},
        )
        assert r.status_code == 201, f"create user {username}: {r.status_code} {r.text}"
        loc = r.headers.get("Location", "")
        if loc.rstrip("/").split("/")[-1].isdigit():
            return int(loc.rstrip("/").split("/")[-1])
        found = self.ok("GET", "/users/search", params={"username": username}).json()
        return next(u["user_id"] for u in found if u["username"] == username)

    def add_member(self, project: str, username: str, role_id: int) -> int:
        r = self.post(f"/projects/{project}/members", {"role_id": role_id, "member_user": {"username": username}})
        assert r.status_code == 201, f"add member {username} to {project}: {r.status_code} {r.text}"
        return member_id_from(self, project, r, username)

    def create_robot(self, body: dict) -> dict:
        r = self.post("/robots", body)
        assert r.status_code == 201, f"create robot {body.get('name')}: {r.status_code} {r.text}"
        return r.json()


def member_id_from(api: Api, project: str, created: requests.Response, username: str) -> int:
    loc = created.headers.get("Location", "").rstrip("/").split("/")[-1]
    if loc.isdigit():
        return int(loc)
    members = api.ok("GET", f"/projects/{project}/members", params={"page_size": 100}).json()
    return next(m["id"] for m in members if m["entity_name"] == username)


def project_robot(name: str, project: str, *access: tuple[str, str], duration: int = -1, disable: bool = False) -> dict:
    return {
        "name": name,
        "level": "project",
        "duration": duration,
        "disable": disable,
        "permissions": [
            {"kind": "project", "namespace": project, "access": [{"resource": r, "action": a} for r, a in access]}
        ],
    }


def system_robot(name: str, permissions: list[dict], duration: int = -1) -> dict:
    return {"name": name, "level": "system", "duration": duration, "permissions": permissions}


def robot_auth(created: dict) -> tuple[str, str]:
    return (created["name"], created["secret"])


def envelope(r: requests.Response) -> dict:
    """The first error of a Harbor error envelope (asserts the shape)."""
    try:
        body = r.json()
    except ValueError:
        raise AssertionError(f"{r.status_code} body is not JSON: {r.text!r}")
    assert isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"], f"not an error envelope: {body!r}"
    e = body["errors"][0]
    assert isinstance(e.get("code"), str) and isinstance(e.get("message"), str), f"bad error entry: {e!r}"
    return e


def expect_error(r: requests.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, f"expected {status}, got {r.status_code} {r.text}"
    e = envelope(r)
    if code:
        assert e["code"] == code, f"expected code {code}, got {e}"
    return e


def all_pages(api: Api, path: str, **params) -> list:
    out, page = [], 1
    while True:
        r = api.get(path, params={**params, "page": page, "page_size": 100})
        assert r.status_code == 200, f"GET {path} page {page}: {r.status_code} {r.text}"
        items = r.json()
        out.extend(items)
        if len(items) < 100:
            return out
        page += 1


def enc2(repo_in_project: str) -> str:
    """A repository name inside its project, URL-encoded twice (a/b -> a%252Fb)."""
    return urllib.parse.quote(urllib.parse.quote(repo_in_project, safe=""), safe="")


# ---- the token service and /v2 ------------------------------------------------------------------


def get_token(berth: Berth, auth, *scopes: str) -> requests.Response:
    params = [("service", SERVICE)] + [("scope", s) for s in scopes]
    return session(auth).get(f"{berth.url}/service/token", params=params, timeout=HTTP_TIMEOUT)


def token_for(berth: Berth, auth, *scopes: str) -> str:
    r = get_token(berth, auth, *scopes)
    assert r.status_code == 200, f"token for {auth and auth[0]} {scopes}: {r.status_code} {r.text}"
    body = r.json()
    assert body.get("token") and isinstance(body.get("expires_in"), int) and body.get("issued_at"), body
    return body["token"]


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class V2:
    """A /v2 client: Basic credentials (`auth` tuple), a Bearer token, or anonymous."""

    def __init__(self, berth: Berth, auth=None, token: str | None = None):
        self.berth = berth
        self.s = session(None if token else auth)
        if token:
            self.s.headers["Authorization"] = f"Bearer {token}"

    def req(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", HTTP_TIMEOUT)
        url = path if path.startswith("http") else f"{self.berth.url}{path}"
        return self.s.request(method, url, **kw)

    def pull(self, repo: str, ref: str) -> requests.Response:
        return self.req("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"})

    def push_blob(self, repo: str, data: bytes) -> requests.Response:
        """POST an upload session, then PUT the whole blob with ?digest= (monolithic). Returns
        the first response that is not a success, or the final 201."""
        r = self.req("POST", f"/v2/{repo}/blobs/uploads/")
        if r.status_code != 202:
            return r
        loc = r.headers["Location"]
        if not loc.startswith("http"):
            loc = f"{self.berth.url}{loc}"
        sep = "&" if "?" in loc else "?"
        return self.req(
            "PUT",
            f"{loc}{sep}digest={sha256(data)}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def put_manifest(self, repo: str, ref: str, raw: bytes, media_type: str = OCI_MANIFEST) -> requests.Response:
        return self.req("PUT", f"/v2/{repo}/manifests/{ref}", data=raw, headers={"Content-Type": media_type})

    def push_image(self, repo: str, tag: str | None, seed: str = "") -> tuple[requests.Response, str]:
        """Push a one-layer image (content varies with `seed`) and tag it (or push by digest when
        `tag` is None). Returns (the failing or final response, manifest digest)."""
        img = make_image(seed or f"{repo}:{tag}")
        for blob in (img.config, img.layer):
            r = self.push_blob(repo, blob)
            if r.status_code != 201:
                return r, img.digest
        r = self.put_manifest(repo, tag or img.digest, img.manifest)
        return r, img.digest


@dataclass
class Image:
    config: bytes
    layer: bytes
    manifest: bytes
    digest: str


def make_image(seed: str, layer_size: int = 512) -> Image:
    layer = (hashlib.sha256(seed.encode()).digest() * (layer_size // 32 + 1))[:layer_size]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"e2e.seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        },
        separators=(",", ":"),
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
        },
        separators=(",", ":"),
    ).encode()
    return Image(config, layer, manifest, sha256(manifest))


def push_image(berth: Berth, repo: str, tag: str | None, auth=None, seed: str = "") -> str:
    """Push as `auth` (default: the admin) and assert success; returns the manifest digest."""
    r, digest = V2(berth, auth or berth.admin).push_image(repo, tag, seed)
    assert r.status_code == 201, f"push {repo}:{tag}: {r.status_code} {r.text}"
    return digest


def run_id() -> str:
    """A short random suffix, so names never collide on a shared (BERTH_URL) server."""
    return os.urandom(3).hex()
