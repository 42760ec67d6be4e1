"""OIDC sign-in through a real `berth serve` (auth_mode = "oidc_auth") against a real OIDC
provider process (oidc-provider-mock, started by tests/lib/oidc.sh): the browser code flow over
/c/oidc/login and /c/oidc/callback, the CLI secret shown once, then that secret used as the
password by registry clients (HTTP Basic on /v2 and the token service), and changed via the API.

Needs BERTH_TEST_OIDC_URL and the server binary (BERTH_BIN, default target/debug/berth).
"""

import os
import pathlib
import uuid

import pytest
import requests

from berthproc import berth_server, free_port

ISSUER = os.environ.get("BERTH_TEST_OIDC_URL")
ADMIN = ("admin", "Oidc-Admin-Pass1")

if not ISSUER:
    if os.environ.get("BERTH_TEST_REQUIRE_ALL") == "1":
        raise RuntimeError("BERTH_TEST_OIDC_URL is not set but BERTH_TEST_REQUIRE_ALL=1")
    pytest.skip("BERTH_TEST_OIDC_URL not set (start it with tests/lib/oidc.sh)", allow_module_level=True)


@pytest.fixture(scope="module")
def server():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = requests.post(f"{ISSUER}/oauth2/clients", json={"redirect_uris": [f"{base}/c/oidc/callback"]}, timeout=10)
    assert client.status_code == 201, client.text
    c = client.json()
    oidc = (
        'auth_mode = "oidc_auth"\n'
        "[oidc]\n"
        f'endpoint = "{ISSUER}"\n'
        f'client_id = "{c["client_id"]}"\n'
        f'client_secret = "{c["client_secret"]}"\n'
        'groups_claim = "groups"\n'
        'scope = "openid,profile,email"\n'
    )
    with berth_server(oidc, ADMIN[1], port) as (url, tmp):
        assert url == base
        yield base, tmp


def sign_in(base, sub, query="", session=None):
    """Play the browser: Berth → provider (as `sub`) → Berth's callback. Returns the callback's answer."""
    s = session or requests.Session()
    r = s.get(f"{base}/c/oidc/login{query}", allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    auth_url = r.headers["location"]
    assert auth_url.startswith(ISSUER), auth_url
    r = s.post(auth_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    callback = r.headers["location"]
    assert callback.startswith(f"{base}/c/oidc/callback?"), callback
    r = s.get(callback, allow_redirects=False, timeout=10)
    return r


def test_code_flow_onboards_and_the_cli_secret_logs_in(server):
    base, tmp = server
    sub, name = f"sub-{uuid.uuid4().hex[:8]}", f"erin{uuid.uuid4().hex[:6]}"
    r = requests.put(f"{ISSUER}/users/{sub}", json={"preferred_username": name, "email": f"{name}@example.com", "groups": ["devs"]}, timeout=10)
    assert r.status_code == 204
    first = sign_in(base, sub)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["username"] == name
    secret = body["cli_secret"]
    assert secret and len(secret) >= 8
    # Shown once: the next sign-in does not show it again.
    again = sign_in(base, sub)
    assert again.status_code == 200 and again.json()["cli_secret"] is None
    # The CLI secret is the password for registry clients.
    assert requests.get(f"{base}/v2/", auth=(name, secret), timeout=10).status_code == 200
    assert requests.get(f"{base}/v2/", auth=(name, "Wrong-Secret-1"), timeout=10).status_code == 401
    tok = requests.get(f"{base}/service/token", params={"service": "harbor-registry", "scope": "repository:library/x:pull"}, auth=(name, secret), timeout=10)
    assert tok.status_code == 200 and tok.json()["token"]
    me = requests.get(f"{base}/api/v2.0/users/current", auth=(name, secret), timeout=10).json()
    assert (me["username"], me["email"], me["source"]) == (name, f"{name}@example.com", "oidc")
    # The user sets a new CLI secret; the old one stops working at once.
    r = requests.put(f"{base}/api/v2.0/users/{me['user_id']}/cli_secret", json={"secret": "New-Cli-Secret-9"}, auth=(name, secret), timeout=10)
    assert r.status_code == 200, r.text
    assert requests.get(f"{base}/v2/", auth=(name, "New-Cli-Secret-9"), timeout=10).status_code == 200
    assert requests.get(f"{base}/v2/", auth=(name, secret), timeout=10).status_code == 401
    # Secrets never reach the log.
    log = (tmp / "berth.log").read_text()
    assert secret not in log and "New-Cli-Secret-9" not in log and ADMIN[1] not in log


def test_the_portal_signs_in_through_the_code_flow(server):
    """With redirect_url (the portal), the callback opens a session and returns to the page."""
    base, _ = server
    sub, name = f"sub-{uuid.uuid4().hex[:8]}", f"pat{uuid.uuid4().hex[:6]}"
    r = requests.put(f"{ISSUER}/users/{sub}", json={"preferred_username": name, "email": f"{name}@example.com"}, timeout=10)
    assert r.status_code == 204
    browser = requests.Session()
    r = sign_in(base, sub, "?redirect_url=/harbor/projects", browser)
    assert r.status_code == 302, r.text
    assert r.headers["location"] == "/harbor/projects"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("sid=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    csrf = r.headers["x-harbor-csrf-token"]
    me = browser.get(f"{base}/api/v2.0/users/current", timeout=10)
    assert me.status_code == 200 and me.json()["username"] == name
    # A cookie write needs the token; with it, it goes through.
    body = {"project_name": f"p{uuid.uuid4().hex[:6]}"}
    assert browser.post(f"{base}/api/v2.0/projects", json=body, timeout=10).status_code == 403
    r = browser.post(f"{base}/api/v2.0/projects", json=body, headers={"X-Harbor-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 201, r.text
    assert browser.get(f"{base}/c/log_out", timeout=10).status_code == 200
    assert browser.get(f"{base}/api/v2.0/users/current", timeout=10).status_code == 401
    # Never back to another site: an off-site redirect_url is ignored (JSON answer instead).
    for evil in ["//evil.example/x", "https://evil.example/", "/\\evil.example"]:
        r = sign_in(base, sub, "?" + requests.compat.urlencode({"redirect_url": evil}))
        assert r.status_code == 200 and r.json()["username"] == name, (evil, r.status_code)


def test_a_forged_callback_is_refused(server):
    base, _ = server
    r = requests.get(f"{base}/c/oidc/callback", params={"code": "made-up", "state": "made-up"}, timeout=10)
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
