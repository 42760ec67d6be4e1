"""LDAP sign-in through a real `berth serve` (auth_mode = "ldap_auth") against a real slapd
(started by tests/lib/ldap.sh): directory users log in with their LDAP passwords over HTTP Basic
and the token service, the admin group makes system admins, and an LDAP group added to a project
(by DN, before any of its members signed in) gives its members their role.

Needs BERTH_TEST_LDAP_URL, BERTH_TEST_LDAP_BASE_DN, BERTH_TEST_LDAP_BIND_DN,
BERTH_TEST_LDAP_BIND_PASSWORD and the server binary (BERTH_BIN, default target/debug/berth).
"""

import os

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
