"""Security end to end: the real `berth serve`, probed the way an attacker would.

1. Bodies are bounded before they are buffered (413 PAYLOAD_TOO_LARGE, `max_body_bytes`), for
   anonymous and authenticated callers, on every JSON route; blob uploads are not limited.
2. A request body that stops sending fails after `body_idle_timeout_secs`.
3. A client that never finishes its request headers is disconnected (HEADER_READ_TIMEOUT, 30 s).
4. A cross-repository mount links only blobs the caller may pull; otherwise it is a plain upload
   session (202), for Basic and Bearer callers alike.
5. Deleting an artifact (API or /v2) releases its quota at once, without GC.
6. /systeminfo reports the configured external URL and auth mode (and hides them from anonymous
   callers).
7. Start-up errors never print the credentials of the metadata or storage URI.
8. The login throttle: 5 failures of one client on one account make it wait (429), even with the
   right password; other clients and accounts are unaffected; X-Forwarded-For counts only from a
   trusted proxy.
9. Webhook auth headers are never shown back and are sealed at rest, like the token signing key.

Every server here is started by this module (a data dir, the process and its memory are
inspected), with the BERTH_* backend variables of the caller's environment removed: BERTH_URL
is not used.

Run:  cd tests/e2e && python -m pytest -q test_security.py     (about 1.5 minutes: two tests
      wait for server timeouts of 30 s)
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import select
import socket
import sqlite3
import subprocess
import time

import pytest
import requests

import berthlib
from berthlib import V2, Api, Berth, enc2, expect_error, make_image, run_id, sha256, token_for
from berthproc import berth_server

MiB = 1 << 20
KiB = 1 << 10
PASSWORD = "Sec-User-Pass1"
# Settings of the tuned server (the default server keeps every default).
TUNED_BODY_LIMIT = 64 * KiB
TUNED_IDLE_SECS = 2
EXTERNAL_URL = "https://registry.example.com"
# Addresses a trusted proxy (127.0.0.1 here) names in X-Forwarded-For.
GUESSER_IP = "203.0.113.7"
OWNER_IP = "198.51.100.9"


# ---- servers ------------------------------------------------------------------------------------


@contextlib.contextmanager
def server_env():
    """The caller's environment without the BERTH_* variables that would point a server started
    here at another backend, port, config or key (kept: the admin credentials, the binary, BERTH_LOG)."""
    keep = {"BERTH_BIN", "BERTH_ADMIN_USER", "BERTH_ADMIN_PASSWORD", "BERTH_LOG"}
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("BERTH_") and k not in keep}
    try:
        yield
    finally:
        os.environ.update(saved)


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Berth:
    """A server with the default settings (SQLite and files in its own data dir)."""
    with server_env():
        server = berthlib.start_berth(tmp_path_factory.mktemp("berth-sec"))
    yield server
    berthlib.finish(server)


@pytest.fixture(scope="module")
def tuned() -> Berth:
    """A server behind a "trusted proxy" (127.0.0.1) with a small body limit, a short body idle
    timeout and an external URL."""
    toml = (
        f"max_body_bytes = {TUNED_BODY_LIMIT}\n"
        f"body_idle_timeout_secs = {TUNED_IDLE_SECS}\n"
        'trusted_proxies = ["127.0.0.1"]\n'
        f'external_url = "{EXTERNAL_URL}"\n'
    )
    with server_env(), berth_server(toml, berthlib.ADMIN_PASSWORD) as (url, tmp):
        host = url.split("://", 1)[1]
        yield Berth(host, url, (berthlib.ADMIN_USER, berthlib.ADMIN_PASSWORD), tmp / "data", tmp / "berth.log")


def addr(b: Berth) -> tuple[str, int]:
    host, port = b.host.rsplit(":", 1)
    return host, int(port)


def vm_hwm_kib(b: Berth) -> int:
    """The server's peak resident set size so far (VmHWM), in KiB."""
    assert b.proc is not None and b.proc.poll() is None, "the server process is not running"
    for line in pathlib.Path(f"/proc/{b.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{b.proc.pid}/status")


def alive(b: Berth) -> None:
    r = requests.get(f"{b.url}/v2/", auth=b.admin, timeout=30)
    assert r.status_code == 200, f"the server stopped answering after the attack: {r.status_code} {r.text}"


def read_head(sock: socket.socket, deadline: float) -> bytes:
    """Read until a complete response head, the server's close, or `deadline` (monotonic): the
    bytes read (b"" when closed with nothing). Raises socket.timeout past the deadline."""
    data = b""
    while b"\r\n\r\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout(f"nothing but {data!r} after the deadline")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    return data


def read_body(sock: socket.socket, head: bytes, deadline: float) -> bytes:
    """The body of the response whose head (and maybe some body) is `head`, as far as its
    Content-Length and the connection allow."""
    top, _, body = head.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in top.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        None,
    )
    while length is not None and len(body) < length and time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        body += chunk
    return body


def status_of(head: bytes) -> int | None:
    if not head.startswith(b"HTTP/1."):
        return None
    return int(head.split(b" ", 2)[1])


def oversized(n: int) -> bytes:
    """A well-formed JSON object of `n`+ bytes (a server that read it all would answer 400 for
    the bad name, not 413)."""
    return b'{"project_name":"' + b"a" * n + b'","name":"x","username":"x","role_id":1}'


# ---- 1. bounded bodies ---------------------------------------------------------------------------


def test_anonymous_400mb_streamed_body_is_refused_without_buffering(local):
    before = vm_hwm_kib(local)
    sent = 0

    def body():
        nonlocal sent
        chunk = b"a" * MiB
        for _ in range(400):
            sent += len(chunk)
            yield chunk

    t0 = time.monotonic()
    try:
        r = requests.post(
            f"{local.url}/api/v2.0/projects",
            data=body(),  # chunked: the server cannot know the size before it reads
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
    except requests.ConnectionError as e:
        r = None
        reset = e
    elapsed = time.monotonic() - t0
    grown = vm_hwm_kib(local) - before
    assert grown < 64 * 1024, f"peak RSS grew by {grown} KiB reading a {sent}-byte body (before: {before} KiB)"
    if r is None:
        # Accepted only because memory stayed flat (checked above); the server cut us off early.
        assert sent < 400 * MiB, f"the connection broke ({reset}) only after the whole body was sent"
    else:
        expect_error(r, 413, "PAYLOAD_TOO_LARGE")
    print(f"400 MB body: {r.status_code if r is not None else 'reset'} after {sent} bytes sent, "
          f"{elapsed:.2f}s, peak RSS +{grown} KiB")
    alive(local)


def test_declared_huge_content_length_is_refused_once_over_the_limit(local):
    """Content-Length framing: the body is cut at the limit, not read to its declared 400 MB."""
    before = vm_hwm_kib(local)
    with socket.create_connection(addr(local), timeout=30) as s:
        s.sendall(
            b"POST /api/v2.0/projects HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\n"
            b"Content-Length: 419430400\r\n\r\n"
        )
        sent, chunk = 0, b"a" * (64 * KiB)
        with contextlib.suppress(OSError):  # broken pipe: the server stopped reading
            while sent < 8 * MiB and not select.select([s], [], [], 0)[0]:
                s.sendall(chunk)
                sent += len(chunk)
        head = read_head(s, time.monotonic() + 20)
        body = read_body(s, head, time.monotonic() + 10)
    assert status_of(head) == 413, f"after {sent} of 400 MB declared: {head[:300]!r}"
    assert b'"PAYLOAD_TOO_LARGE"' in body, f"413 without Harbor's envelope: {body[:300]!r}"
    grown = vm_hwm_kib(local) - before
    assert grown < 64 * 1024, f"peak RSS grew by {grown} KiB"
    alive(local)


ROUTES = [
    ("POST", "/projects"),
    ("PUT", "/projects/library"),
    ("POST", "/projects/library/members"),
    ("POST", "/users"),
    ("POST", "/robots"),
    ("POST", "/usergroups"),
    ("POST", "/projects/library/webhook/policies"),
]


@pytest.mark.parametrize("who", ["anonymous", "admin"])
@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_2mib_json_body_is_413(local, who, method, path):
    api = local.api(None if who == "anonymous" else "admin")
    r = api.req(method, path, raw=oversized(2 * MiB))
    expect_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_bodies_under_the_limit_still_work(local):
    api = local.api()
    run = run_id()
    r = api.post("/projects", {"project_name": f"plain-{run}", "metadata": {"public": "false"}})
    assert r.status_code == 201, f"normal project create: {r.status_code} {r.text}"
    # 900 KB of JSON whitespace: legal, and under 1 MiB.
    padded = b'{"project_name":"padded-' + run.encode() + b'",' + b" " * (900 * KiB) + b'"metadata":{"public":"false"}}'
    r = api.req("POST", "/projects", raw=padded)
    assert r.status_code == 201, f"a {len(padded)}-byte body (under 1 MiB): {r.status_code} {r.text[:300]}"
    assert api.get(f"/projects/padded-{run}").status_code == 200


def test_blob_uploads_are_not_limited(local):
    run = run_id()
    local.api().create_project(f"blobs-{run}")
    blob = os.urandom(3 * MiB)
    v = V2(local, local.admin)
    r = v.push_blob(f"blobs-{run}/big", blob)
    assert r.status_code == 201, f"3 MiB monolithic blob upload: {r.status_code} {r.text[:300]}"
    r = v.req("HEAD", f"/v2/blobs-{run}/big/blobs/{sha256(blob)}")
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(blob), (r.status_code, r.headers)


def test_max_body_bytes_is_configurable(tuned):
    """100 KiB is under the default 1 MiB: only the configured 64 KiB limit refuses it."""
    api = tuned.api()
    expect_error(api.req("POST", "/projects", raw=oversized(100 * KiB)), 413, "PAYLOAD_TOO_LARGE")
    expect_error(tuned.api(None).req("POST", "/projects", raw=oversized(100 * KiB)), 413, "PAYLOAD_TOO_LARGE")
    run = run_id()
    padded = b'{"project_name":"small-' + run.encode() + b'",' + b" " * (60 * KiB) + b'"metadata":{"public":"false"}}'
    r = api.req("POST", "/projects", raw=padded)
    assert r.status_code == 201, f"a {len(padded)}-byte body under the {TUNED_BODY_LIMIT}-byte limit: {r.status_code} {r.text[:300]}"
    # Blobs bigger than the JSON limit still upload.
    r = V2(tuned, tuned.admin).push_blob(f"small-{run}/big", os.urandom(MiB))
    assert r.status_code == 201, f"1 MiB blob on a server with a 64 KiB body limit: {r.status_code} {r.text[:300]}"


# ---- 2. idle bodies ------------------------------------------------------------------------------


def test_body_that_stops_sending_fails(tuned):
    with socket.create_connection(addr(tuned), timeout=15) as s:
        s.sendall(
            b"POST /api/v2.0/projects HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"project_'
        )
        t0 = time.monotonic()
        try:
            head = read_head(s, t0 + 10)
        except socket.timeout:
            pytest.fail(f"the server still waits for the body after 10 s (body_idle_timeout_secs = {TUNED_IDLE_SECS})")
        elapsed = time.monotonic() - t0
    status = status_of(head)
    assert head == b"" or (status is not None and status >= 400), f"after {elapsed:.1f}s: {head[:300]!r}"
    print(f"idle body: {status or 'closed'} after {elapsed:.1f}s")
    alive(tuned)


# ---- 3. slow headers -----------------------------------------------------------------------------


def test_client_that_never_finishes_its_headers_is_disconnected(local):
    with socket.create_connection(addr(local), timeout=45) as s:
        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: berth\r\nX-Slow: ")
        t0 = time.monotonic()
        try:
            head = read_head(s, t0 + 40)
        except socket.timeout:
            pytest.fail("the server kept a connection with unfinished headers open for 40 s")
        elapsed = time.monotonic() - t0
    status = status_of(head)
    assert head == b"" or (status is not None and status >= 400), f"after {elapsed:.1f}s: {head[:300]!r}"
    print(f"unfinished headers: {status or 'closed'} after {elapsed:.1f}s")
    alive(local)


# ---- 4. mounts -----------------------------------------------------------------------------------


def test_mount_links_only_blobs_the_caller_may_pull(local):
    admin = local.api()
    run = run_id()
    secret, mallory = f"secret-{run}", f"mallory-{run}"
    admin.create_project(secret)
    admin.create_project(mallory)
    seed = f"secret-{run}"
    berthlib.push_image(local, f"{secret}/app", "v1", seed=seed)
    layer = sha256(make_image(seed).layer)
    user = f"mallory-{run}"
    admin.create_user(user, PASSWORD)
    admin.add_member(mallory, user, 2)  # developer of mallory only

    def no_leak(v: V2, who: str):
        r = v.req("GET", f"/v2/{mallory}/x/blobs/{layer}")
        assert r.status_code == 404, f"{who}: GET the secret layer through {mallory}/x -> {r.status_code}"

    def session_only(v: V2, who: str, **params):
        r = v.req("POST", f"/v2/{mallory}/x/blobs/uploads/", params={"mount": layer, **params})
        assert r.status_code == 202, (
            f"{who}: POST /v2/{mallory}/x/blobs/uploads/?{params or ''} mount of a layer only in {secret}: "
            f"{r.status_code} {r.headers.get('Location')} {r.text[:200]} (201 = leaked)"
        )
        assert "/blobs/uploads/" in r.headers.get("Location", ""), r.headers
        no_leak(v, who)

    basic = V2(local, (user, PASSWORD))
    session_only(basic, "developer (Basic)")
    session_only(basic, "developer (Basic)", **{"from": f"{secret}/app"})
    token = token_for(local, (user, PASSWORD), f"repository:{mallory}/x:pull,push")
    bearer = V2(local, token=token)
    session_only(bearer, "developer (Bearer)")
    session_only(bearer, "developer (Bearer)", **{"from": f"{secret}/app"})
    # The user can pull their own project's blobs: the 202s above are not a permission failure.
    r = basic.push_blob(f"{mallory}/x", b"mallory's own blob " + run.encode())
    assert r.status_code == 201, f"the developer's own push: {r.status_code} {r.text}"

    # The admin may pull from secret: the same mount links the blob.
    r = V2(local, local.admin).req("POST", f"/v2/{mallory}/x/blobs/uploads/", params={"mount": layer})
    assert r.status_code == 201, f"admin mount: {r.status_code} {r.text[:200]}"
    assert r.headers.get("Docker-Content-Digest", layer) == layer
    assert V2(local, local.admin).req("HEAD", f"/v2/{mallory}/x/blobs/{layer}").status_code == 200


# ---- 5. quota release on delete ------------------------------------------------------------------


LAYER = 880 * KiB


def push_sized(v: V2, repo: str, tag: str, seed: str) -> tuple[requests.Response, berthlib.Image]:
    img = make_image(seed, layer_size=LAYER)
    for blob in (img.config, img.layer):
        r = v.push_blob(repo, blob)
        if r.status_code != 201:
            return r, img
    return v.put_manifest(repo, tag, img.manifest), img


def quota_project(b: Berth) -> tuple[str, Api, callable]:
    api = b.api()
    name = f"quota-{run_id()}"
    r = api.post("/projects", {"project_name": name, "metadata": {"public": "false"}, "storage_limit": MiB})
    assert r.status_code == 201, f"create {name} with storage_limit 1 MiB: {r.status_code} {r.text}"
    pid = api.ok("GET", f"/projects/{name}").json()["project_id"]

    def used() -> int:
        q = api.ok("GET", "/quotas", params={"reference": "project", "reference_id": pid}).json()
        assert q and q[0]["hard"]["storage"] == MiB, q
        return q[0]["used"]["storage"]

    return name, api, used


@pytest.mark.parametrize("how", ["api", "v2"])
def test_delete_releases_quota_at_once(local, how):
    project, api, used = quota_project(local)
    v = V2(local, local.admin)
    repo = f"{project}/app"
    r, first = push_sized(v, repo, "one", f"{project}-1")
    assert r.status_code == 201, f"first push: {r.status_code} {r.text}"
    assert used() >= LAYER, f"usage after an {LAYER}-byte layer: {used()}"

    if how == "api":
        r = api.delete(f"/projects/{project}/repositories/{enc2('app')}/artifacts/{first.digest}")
        assert r.status_code == 200, f"DELETE artifact: {r.status_code} {r.text}"
    else:
        r = v.req("DELETE", f"/v2/{repo}/manifests/{first.digest}")
        assert r.status_code == 202, f"DELETE /v2 manifest: {r.status_code} {r.text}"
    assert used() == 0, f"usage right after the {how} delete (no GC): {used()}"

    r, second = push_sized(v, repo, "two", f"{project}-2")
    assert r.status_code == 201, f"second {LAYER}-byte image after the delete: {r.status_code} {r.text}"
    assert used() >= LAYER
    # The limit is real: a third image while the second is there does not fit.
    r, _ = push_sized(v, repo, "three", f"{project}-3")
    e = expect_error(r, 403)
    assert "quota" in e["message"].lower(), e


# ---- 6. systeminfo -------------------------------------------------------------------------------


def test_systeminfo_reports_the_configured_url_and_auth_mode(tuned, local):
    info = tuned.api().ok("GET", "/systeminfo").json()
    assert info["external_url"] == EXTERNAL_URL, info
    assert info["registry_url"] == "registry.example.com", info
    assert info["auth_mode"] == "db_auth", info
    anon = tuned.api(None).ok("GET", "/systeminfo").json()
    assert anon.get("auth_mode") == "db_auth", anon
    assert "external_url" not in anon and "registry_url" not in anon, anon
    # Without an external URL: the address the request came in on, not a made-up one.
    info = local.api().ok("GET", "/systeminfo").json()
    assert info["external_url"] == local.url and info["registry_url"] == local.host, info


# ---- 7. start-up errors --------------------------------------------------------------------------


STARTUP_CASES = {
    "postgres-unreachable": (["--metadata", "postgres://berth:Sekr1t-Pw@127.0.0.1:1/db"], ["postgres", "127.0.0.1"]),
    "mysql-and-s3": (
        [
            "--metadata", "mysql://u:Sekr1t-Pw@h/db",
            "--storage", "s3://b?endpoint=http://127.0.0.1:1&access_key_id=AKID&secret_access_key=Sekr1t-Key&region=r",
        ],
        ["mysql"],
    ),
    "s3-bad-parameter": (
        ["--storage", "s3://b?endpoint=http://127.0.0.1:1&access_key_id=AKID&secret_access_key=Sekr1t-Key&region=r&bogus=1"],
        ["s3"],
    ),
    "unsupported-storage-with-userinfo": (["--storage", "gcs://user:Sekr1t-Key@bucket/x"], ["gcs"]),
}


@pytest.mark.parametrize("case", list(STARTUP_CASES))
def test_startup_errors_hide_credentials(tmp_path, case):
    args, mentions = STARTUP_CASES[case]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_") or k == "BERTH_LOG"}
    cmd = [berthlib.BERTH_BIN, "serve", *args, "--data-dir", str(tmp_path / "data"), "--listen", f"127.0.0.1:{berthlib.free_port()}"]
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"berth did not exit within 60 s: {cmd}; output: {e.stdout!r} {e.stderr!r}")
    out = p.stdout + p.stderr
    assert p.returncode != 0, f"berth started with {args}: {out}"
    assert "Sekr1t" not in out, f"a credential in the start-up error:\n{out}"
    for word in mentions:
        assert word in out, f"the error should name {word!r} to be useful:\n{out}"
    print(f"{case}: exit {p.returncode} after {time.monotonic() - t0:.1f}s: {out.strip().splitlines()[-1]}")


# ---- 8. login throttle ---------------------------------------------------------------------------


def login(b: Berth, user: str, password: str, xff: str | None = None) -> requests.Response:
    headers = {"X-Forwarded-For": xff} if xff else {}
    return requests.get(f"{b.url}/v2/", auth=(user, password), headers=headers, timeout=30)


def fail_until(b: Berth, user: str, xff: str | None, failures: int, already: int) -> None:
    """Keep guessing wrong (waiting out each 429) until `failures` have counted: each failure past
    the fifth doubles the wait, so the lock lasts long enough for the checks that follow."""
    deadline = time.monotonic() + 60
    while already < failures:
        assert time.monotonic() < deadline, "the throttle never let the guesser try again"
        r = login(b, user, "wrong-guess", xff)
        if r.status_code == 429:
            time.sleep(0.2)
        else:
            expect_error(r, 401, "UNAUTHORIZED")
            already += 1


def test_throttle_behind_a_trusted_proxy(tuned):
    admin = tuned.api()
    run = run_id()
    alice, bob = f"alice-{run}", f"bob-{run}"
    admin.create_user(alice, PASSWORD)
    admin.create_user(bob, PASSWORD)

    for i in range(5):
        expect_error(login(tuned, alice, f"guess-{i}", GUESSER_IP), 401, "UNAUTHORIZED")
    expect_error(login(tuned, alice, PASSWORD, GUESSER_IP), 429, "TOOMANYREQUESTS")  # right password, still held
    fail_until(tuned, alice, GUESSER_IP, failures=7, already=5)  # now held for 4 s

    r = login(tuned, alice, PASSWORD, OWNER_IP)
    assert r.status_code == 200, f"alice from her own address while {GUESSER_IP} guesses: {r.status_code} {r.text}"
    r = login(tuned, bob, PASSWORD, GUESSER_IP)
    assert r.status_code == 200, f"bob from the guesser's address: {r.status_code} {r.text}"
    # Neither success cleared the guesser's counter on alice.
    expect_error(login(tuned, alice, PASSWORD, GUESSER_IP), 429, "TOOMANYREQUESTS")
    # Forged entries further left in X-Forwarded-For prove nothing: the proxy appended the guesser.
    expect_error(login(tuned, alice, PASSWORD, f"{OWNER_IP}, {GUESSER_IP}"), 429, "TOOMANYREQUESTS")


def test_forwarded_for_is_ignored_without_trusted_proxies(local):
    user = f"carol-{run_id()}"
    local.api().create_user(user, PASSWORD)
    for i in range(5):
        expect_error(login(local, user, f"guess-{i}", f"10.9.8.{i}"), 401, "UNAUTHORIZED")
    # Had each forged address counted as a new client, this would be 200.
    expect_error(login(local, user, PASSWORD, "10.9.8.99"), 429, "TOOMANYREQUESTS")
    expect_error(login(local, user, PASSWORD), 429, "TOOMANYREQUESTS")


# ---- 9. secrets at rest --------------------------------------------------------------------------


def test_webhook_auth_header_is_never_shown_back_and_sealed_at_rest(local):
    admin = local.api()
    project = f"hooks-{run_id()}"
    admin.create_project(project)
    policy = {
        "name": "on-push",
        "description": "",
        "targets": [{"type": "http", "address": "http://127.0.0.1:9/x", "auth_header": "Bearer t0ps3cret"}],
        "event_types": ["PUSH_ARTIFACT"],
        "enabled": True,
    }
    r = admin.post(f"/projects/{project}/webhook/policies", policy)
    assert r.status_code == 201, f"create webhook policy: {r.status_code} {r.text}"
    pid = r.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    one = admin.ok("GET", f"/projects/{project}/webhook/policies/{pid}")
    listed = admin.ok("GET", f"/projects/{project}/webhook/policies")
    for resp in (r, one, listed):
        assert "t0ps3cret" not in resp.text, f"{resp.request.method} {resp.url} shows the secret: {resp.text}"
    assert one.json()["targets"][0]["auth_header"] == "***", one.json()
    assert [p["targets"][0]["auth_header"] for p in listed.json()] == ["***"], listed.json()

    token_for(local, local.admin, f"repository:{project}/app:pull")  # the signing key exists by now
    db_path = local.data_dir / "berth.db"
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        targets = [t for (t,) in db.execute("SELECT targets FROM webhook_policies")]
        signing = db.execute("SELECT value FROM settings WHERE key = 'token_signing_key'").fetchall()
    assert targets and not any("t0ps3cret" in t for t in targets), f"webhook_policies.targets: {targets}"
    assert any("enc:v1:" in t for t in targets), f"the auth header is not sealed: {targets}"
    assert len(signing) == 1 and signing[0][0].startswith("enc:v1:"), f"token_signing_key row: {signing}"
    # Nowhere in the database files (WAL included) nor in the log.
    for f in sorted(local.data_dir.glob("berth.db*")):
        assert b"t0ps3cret" not in f.read_bytes(), f"{f.name} holds the webhook secret in clear"
    assert "t0ps3cret" not in local.log(), "the server log shows the webhook secret"
