"""Harbor's `/api/v2.0` conventions end to end: paging headers, `q=` and `sort=`, the error
envelope on bad input, conflicts and preconditions, login failures and throttling, secrets and
password hashes never leaking, twice-encoded repository names, and `/v2/_catalog` access.

Run:  pytest -q tests/e2e/test_api.py           (starts its own servers; BERTH_URL=… runs the
      shared-server tests against a running one; the throttling test always starts its own
      server, because it locks 127.0.0.1 out for a minute)
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

import time

import pytest
import requests

import berthlib
from berthlib import V2, Api, all_pages, enc2, envelope, expect_error, project_robot, push_image, robot_auth

PASSWORD = "Api-User-Pass1"
NEW_PASSWORD = "Api-User-Pass2"


@dataclass
class Env:
    berth: berthlib.Berth
    admin: Api
    run: str
    pg: list[str]  # paging projects, in name order
    pg_ids: dict[str, int]
    team: str  # a project with repositories app0..app6 and sub/app
    team_id: int
    artifacts: list[tuple[str, str, int]] = field(default_factory=list)  # (tag or "", digest, size) in team/app0
    dev: tuple[str, str] = ("", "")
    secrets: set[str] = field(default_factory=set)  # passwords that must never be echoed back

    def api(self, auth) -> Api:
        return Api(self.berth, auth)


def reset_throttle(env: Env):
    """A fresh successful login (not served from the login cache). Failures are counted per
    account and client, so deliberate failures with one user cannot lock out another."""
    user = f"reset-{berthlib.run_id()}"
    env.admin.create_user(user, PASSWORD)
    assert env.api((user, PASSWORD)).get("/users/current").status_code == 200


@pytest.fixture(scope="module")
def env(berth) -> Env:
    admin = berth.api()
    run = berthlib.run_id()
    pg = [f"pg{run}-{i:02d}" for i in range(12)]
    pg_ids = {name: admin.create_project(name, public=(i % 2 == 0)) for i, name in enumerate(pg)}
    team = f"team{run}"
    team_id = admin.create_project(team)
    e = Env(berth, admin, run, pg, pg_ids, team, team_id)
    for i in range(1, 7):  # app0 gets its artifacts below
        push_image(berth, f"{team}/app{i}", "v1", seed=f"{run}-app{i}")
    push_image(berth, f"{team}/sub/app", "v1", seed=f"{run}-sub")
    # team/app0: 5 tagged artifacts of growing size and one untagged.
    v2 = V2(berth, berth.admin)
    for i in range(6):
        img = berthlib.make_image(f"{run}-art{i}", layer_size=1000 + 500 * i)
        for blob in (img.config, img.layer):
            assert v2.push_blob(f"{team}/app0", blob).status_code == 201
        tag = f"t{i}" if i < 5 else ""
        r = v2.put_manifest(f"{team}/app0", tag or img.digest, img.manifest)
        assert r.status_code == 201, r.text
        e.artifacts.append((tag, img.digest, 0))
    user = f"dev{run}"
    admin.create_user(user, PASSWORD)
    admin.add_member(team, user, 2)
    e.dev = (user, PASSWORD)
    e.secrets |= {PASSWORD, NEW_PASSWORD, berth.admin[1]}
    return e


def links(r: requests.Response) -> dict[str, str]:
    return {rel: v["url"] for rel, v in r.links.items()}


def names(r: requests.Response, key: str = "name") -> list[str]:
    assert r.status_code == 200, f"{r.request.url}: {r.status_code} {r.text}"
    return [x[key] for x in r.json()]


# ---- paging -----------------------------------------------------------------------------------


def check_paging(env: Env, path: str, params: dict, total: int, page_size: int):
    api = env.admin
    seen: list = []
    pages = -(-total // page_size)
    for page in range(1, pages + 1):
        r = api.get(path, params={**params, "page": page, "page_size": page_size})
        assert r.status_code == 200, r.text
        assert int(r.headers["X-Total-Count"]) == total, f"page {page}: X-Total-Count {r.headers.get('X-Total-Count')}"
        items = r.json()
        assert len(items) == (page_size if page < pages else total - page_size * (pages - 1)), f"page {page}"
        seen.extend(items)
        ln = links(r)
        assert ("prev" in ln) == (page > 1), f"page {page}: Link {r.headers.get('Link')}"
        assert ("next" in ln) == (page < pages), f"page {page}: Link {r.headers.get('Link')}"
        for rel, want in (("prev", page - 1), ("next", page + 1)):
            if rel in ln:
                u = urllib.parse.urlparse(ln[rel])
                assert u.path == f"/api/v2.0{path}", ln[rel]
                qs = urllib.parse.parse_qs(u.query)
                assert qs["page"] == [str(want)] and qs["page_size"] == [str(page_size)], ln[rel]
                for k, v in params.items():
                    assert qs.get(k) == [v], f"Link {rel} lost {k}={v}: {ln[rel]}"
        if "next" in ln:  # following the link gives the next page
            nxt = api.s.get(urllib.parse.urljoin(env.berth.url, ln["next"]), timeout=60)
            direct = api.get(path, params={**params, "page": page + 1, "page_size": page_size})
            assert nxt.json() == direct.json()
    key = lambda x: x.get("name") or x.get("digest")  # noqa: E731
    assert len({key(x) for x in seen}) == total, "pages overlap or skip items"
    return seen


def test_projects_paging(env):
    seen = check_paging(env, "/projects", {"q": f"name=~pg{env.run}-"}, 12, 5)
    assert [p["name"] for p in seen] == env.pg  # default order: name
    r = env.admin.get("/projects", params={"q": f"name=~pg{env.run}-"})
    assert len(r.json()) == 10 and int(r.headers["X-Total-Count"]) == 12, "default page_size is 10"
    r = env.admin.get("/projects", params={"q": f"name=~pg{env.run}-", "page_size": 100})
    assert len(r.json()) == 12 and "Link" not in r.headers


def test_repositories_paging(env):
    seen = check_paging(env, f"/projects/{env.team}/repositories", {}, 8, 3)
    assert {r["name"] for r in seen} == {f"{env.team}/app{i}" for i in range(7)} | {f"{env.team}/sub/app"}
    check_paging(env, "/repositories", {"q": f"name=~{env.team}/"}, 8, 3)


def test_artifacts_paging(env):
    seen = check_paging(env, f"/projects/{env.team}/repositories/app0/artifacts", {}, 6, 4)
    assert {a["digest"] for a in seen} == {d for _, d, _ in env.artifacts}


# ---- q= and sort= -----------------------------------------------------------------------------


def test_project_query_and_sort(env):
    api, pg = env.admin, env.pg
    assert names(api.get("/projects", params={"q": f"name={pg[3]}"})) == [pg[3]]
    assert names(api.get("/projects", params={"q": f"name=~pg{env.run}-0", "page_size": 100})) == pg[:10]
    lo, hi = env.pg_ids[pg[2]], env.pg_ids[pg[5]]
    assert names(api.get("/projects", params={"q": f"project_id=[{lo}~{hi}]"})) == pg[2:6]
    assert names(api.get("/projects", params={"q": f"name={{{pg[1]} {pg[2]} {pg[7]}}}"})) == [pg[1], pg[2], pg[7]]
    assert names(api.get("/projects", params={"q": f"name=~pg{env.run}-,public=true", "page_size": 100})) == pg[0::2]
    assert names(api.get("/projects", params={"q": f"name=~pg{env.run}-", "public": "false", "page_size": 100})) == pg[1::2]
    assert names(api.get("/projects", params={"name": f"pg{env.run}-1", "page_size": 100})) == pg[10:]
    asc = names(api.get("/projects", params={"q": f"name=~pg{env.run}-", "sort": "name", "page_size": 100}))
    desc = names(api.get("/projects", params={"q": f"name=~pg{env.run}-", "sort": "-name", "page_size": 100}))
    assert asc == pg and desc == pg[::-1]
    by_id = names(api.get("/projects", params={"q": f"name=~pg{env.run}-", "sort": "-project_id", "page_size": 100}))
    assert by_id == sorted(pg, key=lambda n: -env.pg_ids[n])
    r = api.get("/projects", params={"q": f"name=~pg{env.run}-,public=true", "page_size": 2})
    assert int(r.headers["X-Total-Count"]) == 6


def test_repository_query_and_sort(env):
    api, t = env.admin, env.team
    path = f"/projects/{t}/repositories"
    assert names(api.get(path, params={"q": f"name={t}/app3"})) == [f"{t}/app3"]
    assert names(api.get(path, params={"q": "name=~sub"})) == [f"{t}/sub/app"]
    assert names(api.get(path, params={"q": f"name={{{t}/app1 {t}/app2}}"})) == [f"{t}/app1", f"{t}/app2"]
    assert len(names(api.get(path, params={"q": "pull_count=[0~1000000]", "page_size": 100}))) == 8
    assert names(api.get("/repositories", params={"q": f"project_id=[{env.team_id}~{env.team_id}]", "page_size": 100})) == sorted(
        [f"{t}/app{i}" for i in range(7)] + [f"{t}/sub/app"]
    )
    asc = names(api.get(path, params={"sort": "name", "page_size": 100}))
    desc = names(api.get(path, params={"sort": "-name", "page_size": 100}))
    assert asc == sorted(asc) and desc == asc[::-1] and len(asc) == 8


def test_artifact_query_and_sort(env):
    api = env.admin
    path = f"/projects/{env.team}/repositories/app0/artifacts"
    digests = [d for _, d, _ in env.artifacts]
    tagged = {a["digest"] for a in api.get(path, params={"q": "tags=*", "page_size": 100}).json()}
    assert tagged == set(digests[:5])
    untagged = [a["digest"] for a in api.get(path, params={"q": "tags=nil"}).json()]
    assert untagged == [digests[5]]
    [one] = api.get(path, params={"q": f"digest={digests[2]}"}).json()
    assert one["digest"] == digests[2] and [t["name"] for t in one["tags"]] == ["t2"]
    two = api.get(path, params={"q": f"digest={{{digests[0]} {digests[4]}}}"}).json()
    assert {a["digest"] for a in two} == {digests[0], digests[4]}
    assert [a["digest"] for a in api.get(path, params={"q": "tags=t3"}).json()] == [digests[3]]
    assert {a["digest"] for a in api.get(path, params={"q": "tags=~t", "page_size": 100}).json()} == set(digests[:5])
    all_ = api.get(path, params={"page_size": 100}).json()
    sizes = sorted(a["size"] for a in all_)
    lo, hi = sizes[1], sizes[3]
    ranged = api.get(path, params={"q": f"size=[{lo}~{hi}]", "page_size": 100}).json()
    assert sorted(a["size"] for a in ranged) == sizes[1:4]
    assert len(api.get(path, params={"q": "media_type=~manifest", "page_size": 100}).json()) == 6
    asc = [a["size"] for a in api.get(path, params={"sort": "size", "page_size": 100}).json()]
    desc = [a["size"] for a in api.get(path, params={"sort": "-size", "page_size": 100}).json()]
    assert asc == sorted(asc) and desc == sorted(asc, reverse=True) and len(asc) == 6
    # Push time: newest first by default.
    default = [a["digest"] for a in all_]
    by_push = [a["digest"] for a in api.get(path, params={"sort": "-push_time", "page_size": 100}).json()]
    assert default == by_push


# ---- bad input --------------------------------------------------------------------------------

BAD = [
    ("malformed JSON", "POST", "/projects", {"raw": b'{"project_name": '}),
    ("wrong JSON type", "POST", "/projects", {"body": {"project_name": 5}}),
    ("name of 256 characters", "POST", "/projects", {"body": {"project_name": "a" * 256}}),
    ("upper-case name", "POST", "/projects", {"body": {"project_name": "Bad_Name"}}),
    ("unknown metadata key", "POST", "/projects", {"body": {"project_name": "meta-x", "metadata": {"nope": "1"}}}),
    ("public not a boolean string", "POST", "/projects", {"body": {"project_name": "meta-y", "metadata": {"public": "maybe"}}}),
    ("JSON array body", "POST", "/projects", {"raw": b"[]"}),
    ("q without =", "GET", "/projects", {"params": {"q": "name"}}),
    ("q unknown key", "GET", "/projects", {"params": {"q": "bogus=1"}}),
    ("q int key with text", "GET", "/projects", {"params": {"q": "project_id=abc"}}),
    ("q unbalanced list", "GET", "/projects", {"params": {"q": "name={a b"}}),
    ("q fuzzy on an int", "GET", "/projects", {"params": {"q": "project_id=~1"}}),
    ("q bad time range", "GET", "/projects", {"params": {"q": "creation_time=[yesterday~]"}}),
    ("page_size=101", "GET", "/projects", {"params": {"page_size": "101"}}),
    ("page_size=0", "GET", "/projects", {"params": {"page_size": "0"}}),
    ("page=0", "GET", "/projects", {"params": {"page": "0"}}),
    ("page=abc", "GET", "/projects", {"params": {"page": "abc"}}),
    ("page_size=-1", "GET", "/projects", {"params": {"page_size": "-1"}}),
    ("unknown sort key", "GET", "/projects", {"params": {"sort": "bogus"}}),
    ("unknown descending sort key", "GET", "/projects", {"params": {"sort": "-bogus"}}),
    ("repositories: unknown q key", "GET", "/projects/{team}/repositories", {"params": {"q": "nope=1"}}),
    ("repositories: page_size=101", "GET", "/repositories", {"params": {"page_size": "101"}}),
    ("artifacts: unknown sort key", "GET", "/projects/{team}/repositories/app0/artifacts", {"params": {"sort": "nope"}}),
    ("artifacts: q int with text", "GET", "/projects/{team}/repositories/app0/artifacts", {"params": {"q": "size=big"}}),
    ("user: password of wrong type", "POST", "/users", {"body": {"username": "typed", "password": 123}}),
    ("user: weak password", "POST", "/users", {"body": {"username": "weakling", "email": "w@example.com", "realname": "w", "password": "weak"}}),
    ("user: unknown field", "POST", "/users", {"body": {"username": "extra", "password": PASSWORD, "bogus": 1}}),
    ("member: role_id of wrong type", "POST", "/projects/{team}/members", {"body": {"role_id": "two", "member_user": {"username": "admin"}}}),
    ("member: unknown role_id", "POST", "/projects/{team}/members", {"body": {"role_id": 9, "member_user": {"username": "admin"}}}),
    ("label: bad scope", "POST", "/labels", {"body": {"name": "l", "scope": "x"}}),
    ("labels: list without scope", "GET", "/labels", {"params": {"scope": "q"}}),
    ("robot: bad level", "POST", "/robots", {"body": {"name": "r", "level": "galaxy", "duration": -1, "permissions": []}}),
    ("robot: bad name", "POST", "/robots", {"body": {"name": "Bad Name", "level": "system", "duration": -1, "permissions": []}}),
    ("tag: bad name", "POST", "/projects/{team}/repositories/app0/artifacts/t0/tags", {"body": {"name": "bad tag!"}, "codes": ("BAD_REQUEST",)}),
]


@pytest.mark.parametrize("what,method,path,kw", [pytest.param(*b, id=b[0]) for b in BAD])
def test_bad_input_is_400_in_the_envelope(env, what, method, path, kw):
    path = path.format(team=env.team)
    r = env.admin.req(method, path, body=kw.get("body"), raw=kw.get("raw"), params=kw.get("params"))
    e = expect_error(r, 400)
    assert e["code"] in kw.get("codes", ("BAD_REQUEST",)), e
    assert e["message"], "an empty message helps nobody"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers


def test_conflicts_are_409(env):
    expect_error(env.admin.post("/projects", {"project_name": env.pg[0]}), 409, "CONFLICT")
    expect_error(env.admin.post("/users", {"username": env.dev[0], "email": "x@example.com", "realname": "x", "password": PASSWORD}), 409, "CONFLICT")
    expect_error(env.admin.post(f"/projects/{env.team}/members", {"role_id": 3, "member_user": {"username": env.dev[0]}}), 409, "CONFLICT")
    expect_error(env.admin.post(f"/projects/{env.team}/repositories/app0/artifacts/t0/tags", {"name": "t1"}), 409, "CONFLICT")
    label = {"name": f"dup{env.run}", "color": "#FFFFFF", "description": "", "scope": "g"}
    assert env.admin.post("/labels", label).status_code == 201
    expect_error(env.admin.post("/labels", label), 409, "CONFLICT")
    robot = project_robot(f"dup{env.run}", env.team, ("repository", "pull"))
    assert env.admin.post("/robots", robot).status_code == 201
    expect_error(env.admin.post("/robots", robot), 409, "CONFLICT")


def test_not_found_is_404_in_the_envelope(env):
    for path in (
        "/projects/nope-{run}",
        "/projects/999999999",
        "/projects/{team}/repositories/nope",
        "/projects/{team}/repositories/app0/artifacts/nope",
        "/projects/{team}/repositories/app0/artifacts/sha256:" + "0" * 64,
        "/users/999999999",
        "/robots/999999999",
        "/labels/999999999",
        "/usergroups/999999999",
        "/projects/{team}/members/999999999",
        "/no/such/route",
    ):
        e = expect_error(env.admin.get(path.format(run=env.run, team=env.team)), 404)
        # NOT_FOUND everywhere, artifacts included (Harbor's code, not the OCI MANIFEST_UNKNOWN).
        assert e["code"] == "NOT_FOUND", (path, e)


# ---- deleting a project with repositories -----------------------------------------------------


def test_delete_project_with_repositories_is_412(env):
    api, name = env.admin, f"del{env.run}"
    api.create_project(name)
    push_image(env.berth, f"{name}/app", "v1")
    expect_error(api.delete(f"/projects/{name}"), 412, "PRECONDITION")
    d = api.ok("GET", f"/projects/{name}/_deletable").json()
    assert d["deletable"] is False and d["message"], d
    assert api.get(f"/projects/{name}/summary").json()["repo_count"] == 1
    api.ok("DELETE", f"/projects/{name}/repositories/app")
    assert api.ok("GET", f"/projects/{name}/_deletable").json()["deletable"] is True
    api.ok("DELETE", f"/projects/{name}")
    expect_error(api.get(f"/projects/{name}"), 404, "NOT_FOUND")
    assert api.req("HEAD", "/projects", params={"project_name": name}).status_code == 404
    assert V2(env.berth, env.berth.admin).pull(f"{name}/app", "v1").status_code in (403, 404)
    # The name can be used again.
    api.create_project(name)
    api.ok("DELETE", f"/projects/{name}")


# ---- twice-encoded repository names -----------------------------------------------------------


def test_double_encoded_repository_names(env):
    api, t = env.admin, env.team
    base = f"/projects/{t}/repositories"
    assert enc2("sub/app") == "sub%252Fapp"
    r = api.ok("GET", f"{base}/sub%252Fapp").json()
    assert r["name"] == f"{t}/sub/app" and r["project_id"] == env.team_id
    [a] = api.ok("GET", f"{base}/sub%252Fapp/artifacts").json()
    assert a["repository_name"] == f"{t}/sub/app"
    assert api.ok("GET", f"{base}/sub%252Fapp/artifacts/v1").json()["digest"] == a["digest"]
    assert [x["name"] for x in api.ok("GET", f"{base}/sub%252Fapp/artifacts/v1/tags").json()] == ["v1"]
    api.ok("PUT", f"{base}/sub%252Fapp", {"description": "nested"})
    assert api.ok("GET", f"{base}/sub%252Fapp").json()["description"] == "nested"
    # Three levels, then delete through the API; /v2 agrees.
    push_image(env.berth, f"{t}/a/b/c", "v1", seed=f"{env.run}-abc")
    assert api.ok("GET", f"{base}/a%252Fb%252Fc").json()["name"] == f"{t}/a/b/c"
    api.ok("POST", f"{base}/a%252Fb%252Fc/artifacts/v1/tags", {"name": "v2"})
    tags = V2(env.berth, env.berth.admin).req("GET", f"/v2/{t}/a/b/c/tags/list").json()["tags"]
    assert sorted(tags) == ["v1", "v2"]
    api.ok("DELETE", f"{base}/a%252Fb%252Fc/artifacts/v1/tags/v2")
    api.ok("DELETE", f"{base}/a%252Fb%252Fc")
    expect_error(api.get(f"{base}/a%252Fb%252Fc"), 404, "NOT_FOUND")
    assert V2(env.berth, env.berth.admin).pull(f"{t}/a/b/c", "v1").status_code == 404


# ---- /v2/_catalog -----------------------------------------------------------------------------


def test_catalog_is_for_admins(env):
    url = f"{env.berth.url}/v2/_catalog"
    r = requests.get(url, timeout=60)
    assert r.status_code == 401 and r.headers.get("WWW-Authenticate"), r.headers
    r = requests.get(url, auth=env.dev, timeout=60)
    assert r.status_code == 403, r.text
    envelope(r)
    r = requests.get(url, params={"n": 1000}, auth=env.berth.admin, timeout=60)
    assert r.status_code == 200, r.text
    assert f"{env.team}/app0" in r.json()["repositories"]
    tok = berthlib.token_for(env.berth, env.berth.admin, "registry:catalog:*")
    assert V2(env.berth, token=tok).req("GET", "/v2/_catalog").status_code == 200
    tok = berthlib.token_for(env.berth, env.dev, "registry:catalog:*")
    assert V2(env.berth, token=tok).req("GET", "/v2/_catalog").status_code == 403


# ---- users, passwords, the rest of the surface -------------------------------------------------


def test_system_endpoints(env):
    anon = env.api(None)
    r = anon.get("/ping")
    assert r.status_code == 200 and r.text == "Pong"
    assert anon.get("/health").status_code == 200
    info = anon.get("/systeminfo")
    assert info.status_code == 200 and "harbor_version" in info.json()
    assert "registry_url" not in info.json(), "anonymous callers get a subset"
    assert "registry_url" in env.admin.ok("GET", "/systeminfo").json()
    assert anon.get("/statistics").status_code == 401
    stats = env.admin.ok("GET", "/statistics").json()
    assert stats["total_project_count"] >= 14 and "total_storage_consumption" in stats
    dev_stats = env.api(env.dev).ok("GET", "/statistics").json()
    assert "total_project_count" not in dev_stats
    assert dev_stats["private_project_count"] == 1  # team
    found = env.admin.ok("GET", "/search", params={"q": f"team{env.run}"}).json()
    assert [p["name"] for p in found["project"]] == [env.team]
    assert {x["repository_name"] for x in found["repository"]} >= {f"{env.team}/app0", f"{env.team}/sub/app"}
    assert env.admin.req("HEAD", "/projects", params={"project_name": env.team}).status_code == 200
    assert env.admin.req("HEAD", "/projects", params={"project_name": f"nope{env.run}"}).status_code == 404
    p = env.admin.ok("GET", f"/projects/{env.team_id}").json()
    assert p["name"] == env.team
    p = env.admin.ok("GET", f"/projects/{env.team}").json()
    assert p["project_id"] == env.team_id and p["metadata"]["public"] == "false"


def test_user_lifecycle(env):
    admin = env.admin
    name = f"life{env.run}"
    r = admin.post("/users", {"username": name, "email": f"{name}@example.com", "realname": "Life", "password": PASSWORD, "comment": "c"})
    assert r.status_code == 201 and r.headers["Location"].startswith("/api/v2.0/users/"), r.headers
    uid = int(r.headers["Location"].rsplit("/", 1)[1])
    me = env.api((name, PASSWORD))
    cur = me.ok("GET", "/users/current").json()
    assert cur["user_id"] == uid and cur["username"] == name and cur["sysadmin_flag"] is False
    # Non-admins cannot list users, make themselves admin or look at others.
    assert me.get("/users").status_code == 403
    assert me.put(f"/users/{uid}/sysadmin", {"sysadmin_flag": True}).status_code == 403
    assert me.get(f"/users/{env.admin.get('/users/current').json()['user_id']}").status_code in (403, 404)
    me.ok("PUT", f"/users/{uid}", {"email": f"{name}@example.org", "realname": "Life Two", "comment": "d"})
    assert admin.ok("GET", f"/users/{uid}").json()["realname"] == "Life Two"
    # Password change: old password required; weak new password refused; then only the new works.
    assert me.put(f"/users/{uid}/password", {"old_password": "Wrong-Pass-1", "new_password": NEW_PASSWORD}).status_code in (400, 401, 403)
    expect_error(me.put(f"/users/{uid}/password", {"old_password": PASSWORD, "new_password": "weak"}), 400, "BAD_REQUEST")
    me.ok("PUT", f"/users/{uid}/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert env.api((name, NEW_PASSWORD)).get("/users/current").status_code == 200
    assert env.api((name, PASSWORD)).get("/users/current").status_code == 401
    # The admin makes them an admin, then deletes them.
    admin.ok("PUT", f"/users/{uid}/sysadmin", {"sysadmin_flag": True})
    assert env.api((name, NEW_PASSWORD)).ok("GET", "/users/current").json()["sysadmin_flag"] is True
    assert env.api((name, NEW_PASSWORD)).get("/users").status_code == 200
    found = admin.ok("GET", "/users/search", params={"username": name}).json()
    assert [u["username"] for u in found] == [name]
    listed = all_pages(admin, "/users")
    assert name in {u["username"] for u in listed}
    admin.ok("DELETE", f"/users/{uid}")
    assert env.api((name, NEW_PASSWORD)).get("/users/current").status_code == 401
    reset_throttle(env)


def test_user_groups_and_labels(env):
    admin = env.admin
    r = admin.post("/usergroups", {"group_name": f"grp{env.run}", "group_type": 2})
    assert r.status_code == 201, r.text
    gid = int(r.headers["Location"].rsplit("/", 1)[1])
    assert admin.ok("GET", f"/usergroups/{gid}").json()["group_name"] == f"grp{env.run}"
    admin.ok("PUT", f"/usergroups/{gid}", {"group_name": f"grp2{env.run}", "group_type": 2})
    assert f"grp2{env.run}" in {g["group_name"] for g in all_pages(admin, "/usergroups")}
    admin.ok("DELETE", f"/usergroups/{gid}")
    expect_error(admin.get(f"/usergroups/{gid}"), 404, "NOT_FOUND")
    # Global labels: sysadmin only; project labels: listed with scope=p&project_id=.
    dev = env.api(env.dev)
    assert dev.post("/labels", {"name": f"g{env.run}", "color": "#000000", "description": "", "scope": "g"}).status_code == 403
    r = admin.post("/labels", {"name": f"g{env.run}", "color": "#000000", "description": "", "scope": "g"})
    assert r.status_code == 201
    lid = int(r.headers["Location"].rsplit("/", 1)[1])
    assert f"g{env.run}" in {x["name"] for x in all_pages(admin, "/labels", scope="g")}
    r = admin.post("/labels", {"name": f"p{env.run}", "color": "#000000", "description": "", "scope": "p", "project_id": env.team_id})
    assert r.status_code == 201
    plid = int(r.headers["Location"].rsplit("/", 1)[1])
    assert [x["name"] for x in dev.ok("GET", "/labels", params={"scope": "p", "project_id": env.team_id}).json()] == [f"p{env.run}"]
    art = f"/projects/{env.team}/repositories/app0/artifacts/t0"
    admin.ok("POST", f"{art}/labels", {"id": plid})
    assert [x["id"] for x in admin.ok("GET", art).json()["labels"]] == [plid]
    assert [a["digest"] for a in admin.ok("GET", f"/projects/{env.team}/repositories/app0/artifacts", params={"q": f"labels=({plid})"}).json()] == [
        env.artifacts[0][1]
    ]
    admin.ok("DELETE", f"{art}/labels/{plid}")
    assert admin.ok("GET", art).json()["labels"] == []
    admin.ok("PUT", f"/labels/{lid}", {"name": f"g2{env.run}", "color": "#111111", "description": "x", "scope": "g"})
    assert admin.ok("GET", f"/labels/{lid}").json()["name"] == f"g2{env.run}"
    admin.ok("DELETE", f"/labels/{lid}")
    expect_error(admin.get(f"/labels/{lid}"), 404, "NOT_FOUND")


def test_project_metadata_crud(env):
    api, t = env.admin, env.team
    api.ok("POST", f"/projects/{t}/metadatas", {"auto_scan": "true"})
    assert api.ok("GET", f"/projects/{t}/metadatas/auto_scan").json() == {"auto_scan": "true"}
    api.ok("PUT", f"/projects/{t}/metadatas/auto_scan", {"auto_scan": "false"})
    assert api.ok("GET", f"/projects/{t}/metadatas").json()["auto_scan"] == "false"
    api.ok("DELETE", f"/projects/{t}/metadatas/auto_scan")
    assert "auto_scan" not in api.ok("GET", f"/projects/{t}/metadatas").json()
    expect_error(api.get(f"/projects/{t}/metadatas/auto_scan"), 404, "NOT_FOUND")
    expect_error(api.delete(f"/projects/{t}/metadatas/public"), 400, "BAD_REQUEST")


# ---- login failures ---------------------------------------------------------------------------


def test_wrong_password_and_unknown_user_look_the_same(env):
    url = env.berth.url
    user = env.dev[0]
    try:
        for path in ("/api/v2.0/users/current", "/v2/", f"/service/token?service=harbor-registry&scope=repository:{env.team}/app0:pull"):
            wrong = requests.get(url + path, auth=(user, "Wrong-Pass-123"), timeout=60)
            unknown = requests.get(url + path, auth=(f"nobody{env.run}", "Wrong-Pass-123"), timeout=60)
            assert wrong.status_code == unknown.status_code == 401, (path, wrong.status_code, unknown.status_code)
            assert wrong.text == unknown.text, f"{path}: {wrong.text!r} vs {unknown.text!r}"
            assert wrong.headers.get("WWW-Authenticate") == unknown.headers.get("WWW-Authenticate")
            assert envelope(wrong)["code"] == "UNAUTHORIZED"
            assert user not in wrong.text
        # Credentials are checked even where none are needed: wrong ones are never "anonymous".
        assert requests.get(f"{url}/api/v2.0/projects", auth=(user, "Wrong-Pass-123"), timeout=60).status_code == 401
    finally:
        reset_throttle(env)


@pytest.fixture
def own_berth(tmp_path):
    """A server of its own (the throttle's counters are the server's database)."""
    server = berthlib.start_berth(tmp_path)
    yield server
    berthlib.finish(server)


def test_repeated_login_failures_are_throttled(own_berth):
    """Failures count per (account, client): after five, that client waits before it may try
    that account again, even with the right password, on the API, /v2 and the token service.
    Other accounts from the same client, and requests without credentials, are not held back."""
    admin = own_berth.api()
    victim = f"victim-{berthlib.run_id()}"
    admin.create_user(victim, PASSWORD)
    url = own_berth.url + "/api/v2.0/users/current"
    codes = [requests.get(url, auth=(victim, f"Wrong-Pass-{i}a"), timeout=60).status_code for i in range(5)]
    assert codes == [401] * 5, codes
    expect_error(requests.get(url, auth=(victim, "Wrong-Pass-xa"), timeout=60), 429, "TOOMANYREQUESTS")
    expect_error(requests.get(url, auth=(victim, PASSWORD), timeout=60), 429, "TOOMANYREQUESTS")
    assert requests.get(f"{own_berth.url}/v2/", auth=(victim, PASSWORD), timeout=60).status_code == 429
    token = requests.get(
        f"{own_berth.url}/service/token",
        params={"service": "harbor-registry", "scope": "repository:library/x:pull"},
        auth=(victim, PASSWORD),
        timeout=60,
    )
    assert token.status_code == 429
    # Another account from the same client is not locked out, nor are anonymous requests.
    assert requests.get(url, auth=own_berth.admin, timeout=60).status_code == 200
    assert requests.get(f"{own_berth.url}/api/v2.0/ping", timeout=60).status_code == 200
    assert requests.get(f"{own_berth.url}/api/v2.0/projects/library", timeout=60).status_code == 200
    # The wait grows from one second; after it the right password works again.
    time.sleep(2.5)
    assert requests.get(url, auth=(victim, PASSWORD), timeout=60).status_code == 200


# ---- secrets ----------------------------------------------------------------------------------


def test_robot_secret_only_in_create_and_refresh(env):
    admin, t = env.admin, env.team
    created = admin.create_robot(project_robot(f"sec{env.run}", t, ("repository", "pull")))
    rid, secret = created["id"], created["secret"]
    assert set(created) >= {"id", "name", "secret", "creation_time", "expires_at"}
    views = [
        admin.get(f"/robots/{rid}"),
        admin.get("/robots", params={"q": f"Level=project,ProjectID={env.team_id}"}),
        admin.get("/robots", params={"page_size": 100}),
        env.api(env.dev).get("/robots", params={"q": f"Level=project,ProjectID={env.team_id}"}),
    ]
    body = project_robot(f"sec{env.run}", t, ("repository", "pull"))
    body["description"] = "updated"
    views.append(admin.put(f"/robots/{rid}", body))
    for r in views:
        assert r.status_code == 200, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
        assert secret not in r.text, f"{r.request.url} shows the secret"
        items = r.json() if r.content else []
        for item in items if isinstance(items, list) else [items]:
            assert "secret" not in item, f"{r.request.url}: {item}"
    assert admin.ok("GET", f"/robots/{rid}").json()["description"] == "updated"
    v2 = lambda auth: requests.get(f"{env.berth.url}/v2/{t}/app0/tags/list", auth=auth, timeout=60)  # noqa: E731
    assert v2((created["name"], secret)).status_code == 200
    # Refresh: a generated secret, returned once; the old one stops working.
    r = admin.req("PATCH", f"/robots/{rid}", {})
    assert r.status_code == 200, r.text
    fresh = r.json()["secret"]
    assert fresh and fresh != secret and set(r.json()) == {"secret"}
    assert v2((created["name"], fresh)).status_code == 200
    assert v2((created["name"], secret)).status_code == 401
    # A chosen secret must be strong.
    expect_error(admin.req("PATCH", f"/robots/{rid}", {"secret": "weak"}), 400, "BAD_REQUEST")
    r = admin.req("PATCH", f"/robots/{rid}", {"secret": "Chosen-Secret-123"})
    assert r.status_code == 200, r.text
    assert v2((created["name"], "Chosen-Secret-123")).status_code == 200
    assert fresh not in admin.get(f"/robots/{rid}").text
    admin.ok("DELETE", f"/robots/{rid}")
    assert v2((created["name"], "Chosen-Secret-123")).status_code == 401
    reset_throttle(env)


def test_users_views_carry_no_password_fields(env):
    admin = env.admin
    uid = admin.ok("GET", "/users/current").json()["user_id"]
    views = [
        admin.get("/users/current"),
        admin.get(f"/users/{uid}"),
        admin.get("/users", params={"page_size": 100}),
        admin.get("/users/search", params={"username": env.dev[0]}),
        admin.get(f"/projects/{env.team}/members"),
        env.api(env.dev).get("/users/current"),
    ]
    for r in views:
        assert r.status_code == 200, r.text
        items = r.json()
        for item in items if isinstance(items, list) else [items]:
            leaked = [k for k in item if "password" in k or "secret" in k or "hash" in k or k == "salt"]
            assert not leaked, f"{r.request.url}: {leaked}"


def test_zz_no_password_hash_or_password_in_any_response(env):
    """Runs last: every response this module received (through berthlib's sessions)."""
    assert len(berthlib.SEEN) > 100
    for r in berthlib.SEEN:
        text = r.content.decode("utf-8", "replace")
        assert "$argon2" not in text, f"{r.request.method} {r.request.url} returned a password hash"
        for s in env.secrets:
            assert s not in text, f"{r.request.method} {r.request.url} echoed a password"
