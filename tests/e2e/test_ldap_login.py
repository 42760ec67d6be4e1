"""LDAP sign-in through a real `berth serve` (auth_mode = "ldap_auth") against a real slapd
(started by tests/lib/ldap.sh): directory users log in with their LDAP passwords over HTTP Basic
and the token service, the admin group makes system admins, and an LDAP group added to a project
(by DN, before any of its members signed in) gives its members their role.

Needs BERTH_TEST_LDAP_URL, BERTH_TEST_LDAP_BASE_DN, BERTH_TEST_LDAP_BIND_DN,
BERTH_TEST_LDAP_BIND_PASSWORD and the server binary (BERTH_BIN, default target/debug/berth).
"""

import os
import socket
import threading

import pytest
import requests

from berthproc import berth_server
URL = os.environ.get("BERTH_TEST_LDAP_URL")
ADMIN = ("admin", "Ldap-Admin-Pass1")

if not URL:
    if os.environ.get("BERTH_TEST_REQUIRE_ALL") == "1":
        raise RuntimeError("BERTH_TEST_LDAP_URL is not set but BERTH_TEST_REQUIRE_ALL=1")
    pytest.skip("BERTH_TEST_LDAP_URL not set (start it with tests/lib/ldap.sh)", allow_module_level=True)
BASE = os.environ["BERTH_TEST_LDAP_BASE_DN"]


@pytest.fixture(scope="module")
def base():
    ldap = (
        'auth_mode = "ldap_auth"\n'
        "[ldap]\n"
        f'url = "{URL}"\n'
        f'search_dn = "{os.environ["BERTH_TEST_LDAP_BIND_DN"]}"\n'
        f'search_password = "{os.environ["BERTH_TEST_LDAP_BIND_PASSWORD"]}"\n'
        f'base_dn = "ou=people,{BASE}"\n'
        'uid = "uid"\n'
        'filter = "(objectClass=inetOrgPerson)"\n'
        f'group_base_dn = "ou=groups,{BASE}"\n'
        'group_search_filter = "(objectClass=groupOfNames)"\n'
        f'group_admin_dn = "cn=berth-admins,ou=groups,{BASE}"\n'
    )
    with berth_server(ldap, ADMIN[1]) as (url, tmp):
        yield url
        text = (tmp / "berth.log").read_text()
        assert "Alice-pw-1" not in text and os.environ["BERTH_TEST_LDAP_BIND_PASSWORD"] not in text, "a password reached the log"


def _capture_one_connection():
    """A TCP listener that records what the first client sends (an LDAP bind, here)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = bytearray()

    def serve():
        srv.settimeout(10)
        try:
            conn, _ = srv.accept()
            conn.settimeout(2)
            with conn:
                while len(got) < 4096:
                    chunk = conn.recv(1024)
                    if not chunk:
                        break
                    got.extend(chunk)
        except OSError:
            pass
        finally:
            srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv.getsockname()[1], got, t


# Runs first: bob is imported before he ever signs in (the tests below sign him in).
def test_the_directory_api_pings_searches_and_imports(base):
    ok = requests.post(f"{base}/api/v2.0/ldap/ping", auth=ADMIN, timeout=20)
    assert ok.status_code == 200, ok.text
    assert ok.json()["success"] is True, ok.json()
    down = requests.post(f"{base}/api/v2.0/ldap/ping", json={"ldap_url": "ldap://127.0.0.1:1", "ldap_connection_timeout": 2}, auth=ADMIN, timeout=20)
    assert down.status_code == 200 and down.json()["success"] is False and down.json()["message"], down.text
    bad = requests.post(f"{base}/api/v2.0/ldap/ping", json={"ldap_url": "http://x", "ldap_scope": 2}, auth=ADMIN, timeout=20)
    assert bad.status_code == 200 and bad.json()["success"] is False, bad.text
    assert requests.post(f"{base}/api/v2.0/ldap/ping", json={"ldap_scope": 9}, auth=ADMIN, timeout=20).status_code == 400
    assert requests.post(f"{base}/api/v2.0/ldap/ping", json={"nope": 1}, auth=ADMIN, timeout=20).status_code == 400

    # Testing another address never sends it the stored search password.
    port, got, t = _capture_one_connection()
    r = requests.post(f"{base}/api/v2.0/ldap/ping", json={"ldap_url": f"ldap://127.0.0.1:{port}", "ldap_connection_timeout": 2}, auth=ADMIN, timeout=20)
    t.join(15)
    assert r.status_code == 200 and r.json()["success"] is False, r.text
    assert os.environ["BERTH_TEST_LDAP_BIND_DN"].encode() in bytes(got), "the bind reached the listener"
    assert os.environ["BERTH_TEST_LDAP_BIND_PASSWORD"].encode() not in bytes(got), "the stored password went to another server"

    users = requests.get(f"{base}/api/v2.0/ldap/users/search", params={"username": "a"}, auth=ADMIN, timeout=20)
    assert users.status_code == 200, users.text
    by_name = {u["username"]: u for u in users.json()}
    assert {"alice", "carol", "dave"} <= set(by_name) and "bob" not in by_name, by_name
    assert (by_name["alice"]["email"], by_name["alice"]["realname"]) == ("alice@berth.test", "Alice Liddell")
    star = requests.get(f"{base}/api/v2.0/ldap/users/search", params={"username": "*"}, auth=ADMIN, timeout=20)
    assert star.status_code == 200 and star.json() == [], "a filter metacharacter matches literally"

    groups = requests.get(f"{base}/api/v2.0/ldap/groups/search", params={"groupname": "dev"}, auth=ADMIN, timeout=20).json()
    assert [(g["group_name"], g["group_type"], g["ldap_group_dn"].lower()) for g in groups] == [("devs", 1, f"cn=devs,ou=groups,{BASE}".lower())]
    admins = requests.get(f"{base}/api/v2.0/ldap/groups/search", params={"groupdn": f"cn=berth-admins,ou=groups,{BASE}"}, auth=ADMIN, timeout=20).json()
    assert [g["group_name"] for g in admins] == ["berth-admins"]

    imp = requests.post(f"{base}/api/v2.0/ldap/users/import", json={"ldap_uid_list": ["bob", "zelda"]}, auth=ADMIN, timeout=20)
    assert imp.status_code == 404, imp.text
    assert [f["uid"] for f in imp.json()] == ["zelda"], imp.json()
    bob = requests.get(f"{base}/api/v2.0/users/search", params={"username": "bob"}, auth=ADMIN, timeout=10).json()
    assert [u["username"] for u in bob] == ["bob"], bob
    full = requests.get(f"{base}/api/v2.0/users/{bob[0]['user_id']}", auth=ADMIN, timeout=10).json()
    assert (full["source"], full["email"], full["realname"]) == ("ldap", "bob@berth.test", "Bob Builder")
    again = requests.post(f"{base}/api/v2.0/ldap/users/import", json={"ldap_uid_list": ["bob"]}, auth=ADMIN, timeout=20)
    assert again.status_code == 404 and again.json()[0]["uid"] == "bob"
    taken = requests.post(f"{base}/api/v2.0/ldap/users/import", json={"ldap_uid_list": ["admin"]}, auth=ADMIN, timeout=20)
    assert taken.status_code == 404 and taken.json()[0]["uid"] == "admin", "a local user's name is not taken over"
    assert requests.post(f"{base}/api/v2.0/ldap/users/import", json={"ldap_uid_list": []}, auth=ADMIN, timeout=20).status_code == 400
    assert requests.post(f"{base}/api/v2.0/ldap/users/import", json={"ldap_uid_list": [f"u{i}" for i in range(101)]}, auth=ADMIN, timeout=20).status_code == 400

    # An LDAP group must exist in the directory, as a group and as a project member.
    for dn in [f"cn=nosuch,ou=groups,{BASE}", ""]:
        r = requests.post(f"{base}/api/v2.0/usergroups", json={"group_name": "ghosts", "group_type": 1, "ldap_group_dn": dn}, auth=ADMIN, timeout=20)
        assert r.status_code == 400, r.text
    requests.post(f"{base}/api/v2.0/projects", json={"project_name": "ghostteam"}, auth=ADMIN, timeout=10).raise_for_status()
    r = requests.post(
        f"{base}/api/v2.0/projects/ghostteam/members",
        json={"role_id": 2, "member_group": {"group_name": "ghosts", "group_type": 1, "ldap_group_dn": f"cn=nosuch,ou=groups,{BASE}"}},
        headers={"X-Is-Resource-Name": "true"},
        auth=ADMIN,
        timeout=20,
    )
    assert r.status_code == 400 and "not found in the directory" in r.text, r.text
    groups = requests.get(f"{base}/api/v2.0/usergroups", params={"q": "group_name=ghosts"}, auth=ADMIN, timeout=10).json()
    assert groups == [], "nothing stored"

    # The least rights: a directory user who is no administrator gets none of it.
    alice = ("alice", "Alice-pw-1")
    assert requests.post(f"{base}/api/v2.0/ldap/ping", auth=alice, timeout=20).status_code == 403
    assert requests.get(f"{base}/api/v2.0/ldap/users/search", auth=alice, timeout=20).status_code == 403
    assert requests.get(f"{base}/api/v2.0/ldap/groups/search", auth=alice, timeout=20).status_code == 403
    assert requests.post(f"{base}/api/v2.0/ldap/users/import", json={"ldap_uid_list": ["dave"]}, auth=alice, timeout=20).status_code == 403
    assert requests.post(f"{base}/api/v2.0/ldap/ping", timeout=20).status_code == 401

    # The settings are shown, the password never.
    cfg = requests.get(f"{base}/api/v2.0/configurations", auth=ADMIN, timeout=10).json()
    assert cfg["ldap_url"] == {"value": URL, "editable": False}
    assert cfg["ldap_uid"]["value"] == "uid" and cfg["ldap_search_password_set"]["value"] is True
    assert os.environ["BERTH_TEST_LDAP_BIND_PASSWORD"] not in str(cfg)


def test_a_server_without_ldap_says_so():
    with berth_server("", ADMIN[1]) as (url, _tmp):
        r = requests.get(f"{url}/api/v2.0/ldap/users/search", auth=ADMIN, timeout=10)
        assert r.status_code == 412 and "does not use LDAP" in r.json()["errors"][0]["message"], r.text
        r = requests.post(f"{url}/api/v2.0/ldap/ping", auth=ADMIN, timeout=10)
        assert r.status_code == 400 and "ldap_url" in r.json()["errors"][0]["message"], r.text
        r = requests.post(f"{url}/api/v2.0/ldap/ping", json={"ldap_url": URL, "ldap_base_dn": f"ou=people,{BASE}", "ldap_search_dn": os.environ["BERTH_TEST_LDAP_BIND_DN"], "ldap_search_password": os.environ["BERTH_TEST_LDAP_BIND_PASSWORD"]}, auth=ADMIN, timeout=20)
        assert r.status_code == 200 and r.json()["success"] is True, "settings can be tried before they are configured"
        r = requests.post(f"{url}/api/v2.0/ldap/ping", json={"ldap_url": URL, "ldap_base_dn": f"ou=people,{BASE}", "ldap_search_dn": os.environ["BERTH_TEST_LDAP_BIND_DN"], "ldap_search_password": "wrong"}, auth=ADMIN, timeout=20)
        assert r.status_code == 200 and r.json()["success"] is False, r.text


def test_directory_users_log_in_and_admins_come_from_the_admin_group(base):
    assert requests.get(f"{base}/v2/", auth=("alice", "Alice-pw-1"), timeout=10).status_code == 200
    wrong = requests.get(f"{base}/v2/", auth=("alice", "nope"), timeout=10)
    unknown = requests.get(f"{base}/v2/", auth=("zelda", "nope"), timeout=10)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    me = requests.get(f"{base}/api/v2.0/users/current", auth=("alice", "Alice-pw-1"), timeout=10).json()
    assert (me["source"], me["email"], me["sysadmin_flag"]) == ("ldap", "alice@berth.test", False)
    carol = requests.get(f"{base}/api/v2.0/users/current", auth=("carol", "Carol-pw-333"), timeout=10).json()
    assert carol["sysadmin_flag"] is True
    # A directory user's password is the directory's.
    r = requests.put(f"{base}/api/v2.0/users/{me['user_id']}/password", json={"old_password": "Alice-pw-1", "new_password": "Other-pw-1"}, auth=("alice", "Alice-pw-1"), timeout=10)
    assert r.status_code == 412


def test_an_ldap_group_member_gets_the_groups_role(base):
    r = requests.post(f"{base}/api/v2.0/projects", json={"project_name": "ldapteam"}, auth=ADMIN, timeout=10)
    assert r.status_code == 201, r.text
    dn = f"cn=devs,ou=groups,{BASE}".upper()  # DNs compare case-insensitively
    r = requests.post(
        f"{base}/api/v2.0/projects/ldapteam/members",
        json={"role_id": 2, "member_group": {"group_name": "devs", "group_type": 1, "ldap_group_dn": dn}},
        headers={"X-Is-Resource-Name": "true"},
        auth=ADMIN,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    scope = "repository:ldapteam/app:pull,push,delete"
    tok = requests.get(f"{base}/service/token", params={"service": "harbor-registry", "scope": scope}, auth=("bob", "Bob-pw-22"), timeout=10)
    assert tok.status_code == 200
    import base64
    import json

    payload = tok.json()["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert sorted(claims["access"][0]["actions"]) == ["pull", "push"], "developer through the group: no delete"
    # dave is in no group: the private project does not exist for him.
    r = requests.get(f"{base}/api/v2.0/projects/ldapteam", headers={"X-Is-Resource-Name": "true"}, auth=("dave", "Dave-pw-4444"), timeout=10)
    assert r.status_code == 404
