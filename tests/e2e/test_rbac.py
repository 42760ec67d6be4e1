"""Role-based access control end to end: every role of harbor.md §2.3 (plus the system admin,
an authenticated non-member, anonymous, a project robot and a system robot) against the
resources and actions Berth exposes over HTTP, in a private project A and a public project P.

Each (project, subject, resource:action) cell is its own test id, e.g.
`A-developer-repository:delete` or `P-anonymous-repository:push(token)`. Expected answers:
allowed -> 2xx (a project delete of a project with repositories -> 412, its precondition, which
comes after the permission check); refused -> 403, or 401 for anonymous callers; a project the
caller may not read -> 404 on /api/v2.0, exactly like a missing one (on /v2: 403/401).

Run:  pytest -q tests/e2e/test_rbac.py         (starts its own server; or BERTH_URL=… for a
      running one with BERTH_ADMIN_USER / BERTH_ADMIN_PASSWORD; see berthlib.py)
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Callable

import pytest
import requests

import berthlib
from berthlib import V2, Api, all_pages, envelope, jwt_claims, project_robot, push_image, robot_auth, system_robot, token_for

PASSWORD = "Rbac-User-Pass1"
ROLES = {"projectAdmin": 1, "developer": 2, "guest": 3, "maintainer": 4, "limitedGuest": 5}


def perms(table: dict[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset((r, a) for r, acts in table.items() for a in acts.split())


# harbor.md §2.3, restricted to the resources exercised here.
MATRIX = {
    "projectAdmin": perms(
        {
            "project": "read update delete",
            "member": "create delete list read update",
            "metadata": "create delete read update",
            "repository": "create delete list pull push read update",
            "artifact": "create delete list read",
            "tag": "create delete list",
            "label": "create delete list read update",
            "artifact-label": "create delete",
            "robot": "create delete list read update",
        }
    ),
    "maintainer": perms(
        {
            "project": "read",
            "member": "list read",
            "metadata": "read",
            "repository": "create delete list pull push read update",
            "artifact": "create delete list read",
            "tag": "create delete list",
            "label": "create delete list read update",
            "artifact-label": "create delete",
            "robot": "list read",
        }
    ),
    "developer": perms(
        {
            "project": "read",
            "member": "list read",
            "repository": "create list pull push read update",
            "artifact": "create list read",
            "tag": "create list",
            "label": "list read",
            "artifact-label": "create delete",
            "robot": "list read",
        }
    ),
    "guest": perms(
        {
            "project": "read",
            "member": "list read",
            "repository": "list pull read",
            "artifact": "list read",
            "tag": "list",
            "label": "list read",
            "robot": "list read",
        }
    ),
    "limitedGuest": perms(
        {"project": "read", "repository": "list pull read", "artifact": "list read", "tag": "list"}
    ),
}
# The "Public" column: anyone, anonymous included, in a public project.
PUBLIC = perms({"project": "read", "label": "list read", "repository": "list pull", "artifact": "list read", "tag": "list"})
# Robots hold what they were given; holding anything in a project lets them read the project.
ROBOT_A = perms({"project": "read", "repository": "pull push"})
ROBOT_SYS = perms({"project": "read", "repository": "pull"})

ALL = "all"
HIDDEN = "hidden"
SUBJECTS = ["admin", *ROLES, "nonmember", "anonymous", "robot_a", "robot_sys"]


def slug(subject: str) -> str:
    return subject.lower().replace("_", "-")


# ---- the world --------------------------------------------------------------------------------


@dataclass
class World:
    berth: berthlib.Berth
    admin: Api
    run: str
    names: dict[str, str]  # "A", "B", "P" -> project name
    ids: dict[str, int]
    auth: dict[str, tuple[str, str] | None]
    users: dict[str, str] = field(default_factory=dict)  # subject -> username
    probe_member: dict[str, int] = field(default_factory=dict)  # "A"/"P" -> member id of the probe user
    robots: dict[str, dict] = field(default_factory=dict)
    v1: dict[str, str] = field(default_factory=dict)  # "A"/"B"/"P" -> digest of app:v1
    _apis: dict = field(default_factory=dict)

    def api(self, subject: str) -> Api:
        if subject not in self._apis:
            self._apis[subject] = Api(self.berth, self.auth[subject])
        return self._apis[subject]

    def perms(self, subject: str, proj: str):
        """The subject's permission set in project "A" (private, where the roles are), "B"
        (private, nobody's) or "P" (public): ALL, HIDDEN or a set of (resource, action)."""
        if subject == "admin":
            return ALL
        if proj == "P":
            return PUBLIC
        if subject == "robot_sys":
            return ROBOT_SYS
        if proj == "B":
            return HIDDEN
        if subject in ROLES:
            return MATRIX[subject]
        if subject == "robot_a":
            return ROBOT_A
        return HIDDEN  # nonmember, anonymous

    def allowed(self, subject: str, proj: str, resource: str, action: str) -> bool:
        p = self.perms(subject, proj)
        return p == ALL or (p != HIDDEN and (resource, action) in p)


@pytest.fixture(scope="module")
def world(berth) -> World:
    admin = berth.api()
    run = berthlib.run_id()
    names = {"A": f"rbac-a-{run}", "B": f"rbac-b-{run}", "P": f"rbac-p-{run}"}
    ids = {k: admin.create_project(v, public=(k == "P")) for k, v in names.items()}
    w = World(berth, admin, run, names, ids, {"admin": berth.admin, "anonymous": None})
    for subject in [*ROLES, "nonmember"]:
        user = f"{subject.lower()}-{run}"
        admin.create_user(user, PASSWORD)
        w.users[subject] = user
        w.auth[subject] = (user, PASSWORD)
    for role, rid in ROLES.items():
        admin.add_member(names["A"], w.users[role], rid)
    probe = f"probe-{run}"
    admin.create_user(probe, PASSWORD)
    for k in ("A", "P"):
        w.probe_member[k] = admin.add_member(names[k], probe, ROLES["guest"])
        r = admin.post(f"/projects/{names[k]}/metadatas", {"auto_scan": "false"})
        assert r.status_code in (200, 201), f"add metadata: {r.status_code} {r.text}"
    for k in ("A", "B", "P"):
        w.v1[k] = push_image(berth, f"{names[k]}/app", "v1")
    w.robots["robot_a"] = admin.create_robot(project_robot("ci", names["A"], ("repository", "push"), ("repository", "pull")))
    w.robots["robot_sys"] = admin.create_robot(
        system_robot(f"sys-{run}", [{"kind": "project", "namespace": "*", "access": [{"resource": "repository", "action": "pull"}]}])
    )
    for k in ("robot_a", "robot_sys"):
        w.auth[k] = robot_auth(w.robots[k])
    assert w.robots["robot_a"]["name"] == f"robot${names['A']}+ci"
    return w


# ---- the cells --------------------------------------------------------------------------------


@dataclass
class Cell:
    resource: str
    action: str
    run: Callable[[World, str, str], requests.Response]
    v2: bool = False  # a /v2 (or token) request: hidden projects answer 403/401, not 404
    label: str = ""  # test id suffix, e.g. "(token)"
    ok: int | Callable[[World, str], int] | None = None  # an allowed caller's status, when not simply 2xx

    @property
    def id(self) -> str:
        return f"{self.resource}:{self.action}{self.label}"


def _p(w: World, proj: str) -> str:
    return w.names[proj]


def _repo(w: World, proj: str, rel: str = "app") -> str:
    return f"/projects/{_p(w, proj)}/repositories/{berthlib.enc2(rel)}"


def member_create(w, s, proj):
    user = f"mc-{slug(s)}-{proj.lower()}-{w.run}"
    w.admin.create_user(user, PASSWORD)
    return w.api(s).post(f"/projects/{_p(w, proj)}/members", {"role_id": 3, "member_user": {"username": user}})


def member_delete(w, s, proj):
    user = f"md-{slug(s)}-{proj.lower()}-{w.run}"
    w.admin.create_user(user, PASSWORD)
    mid = w.admin.add_member(_p(w, proj), user, ROLES["guest"])
    return w.api(s).delete(f"/projects/{_p(w, proj)}/members/{mid}")


def repository_delete(w, s, proj):
    rel = f"victim-{slug(s)}"
    push_image(w.berth, f"{_p(w, proj)}/{rel}", "v1")
    return w.api(s).delete(_repo(w, proj, rel))


def v2_auth(w: World, s: str, proj: str, scope_actions: str | None):
    """A /v2 client for the subject: Basic (scope_actions None) or a token for app."""
    if scope_actions is None:
        return V2(w.berth, w.auth[s])
    return V2(w.berth, token=token_for(w.berth, w.auth[s], f"repository:{_p(w, proj)}/app:{scope_actions}"))


def pull(token: bool):
    def run(w, s, proj):
        return v2_auth(w, s, proj, "pull" if token else None).pull(f"{_p(w, proj)}/app", "v1")

    return run


def push(token: bool):
    def run(w, s, proj):
        c = v2_auth(w, s, proj, "pull,push" if token else None)
        tag = f"push-{slug(s)}{'-t' if token else ''}"
        r, _ = c.push_image(f"{_p(w, proj)}/app", tag, seed=f"{w.run}-{proj}-{tag}")
        return r

    return run


def delete_v2(token: bool):
    def run(w, s, proj):
        tag = f"vd-{slug(s)}{'-t' if token else ''}"
        digest = push_image(w.berth, f"{_p(w, proj)}/app", tag, seed=f"{w.run}-{proj}-{tag}")
        c = v2_auth(w, s, proj, "delete" if token else None)
        return c.req("DELETE", f"/v2/{_p(w, proj)}/app/manifests/{digest}")

    return run


def mount(source: str, with_from: bool):
    """Mount a layer of project `source` (`self`: the cell's own app:v1; `B`: a fresh image only
    B holds) into a new repository of the cell's project, with or without `from`. A caller who may push there gets 201 when it may also pull the source, else
    an upload session (202) and nothing linked; the blob is then not readable from the target."""

    def run(w, s, proj):
        if source == "self":
            src = f"{_p(w, proj)}/app"
            layer = berthlib.sha256(berthlib.make_image(f"{src}:v1").layer)
        else:
            # A blob only B holds, fresh for this cell: what other cells mounted cannot leak in.
            src = f"{_p(w, source)}/mnt-src"
            seed = f"{w.run}-{proj}-{slug(s)}-{with_from}"
            push_image(w.berth, src, f"s-{slug(s)}-{proj.lower()}-{int(with_from)}", seed=seed)
            layer = berthlib.sha256(berthlib.make_image(seed).layer)
        target = f"{_p(w, proj)}/mnt-{slug(s)}-{source.lower()}{'-f' if with_from else ''}"
        query = f"mount={layer}" + (f"&from={src}" if with_from else "")
        c = v2_auth(w, s, proj, None)
        r = c.req("POST", f"/v2/{target}/blobs/uploads/?{query}")
        if r.status_code == 202:
            got = V2(w.berth, w.berth.admin).req("GET", f"/v2/{target}/blobs/{layer}")
            assert got.status_code == 404, f"a refused mount linked the blob: {got.status_code}"
        return r

    return run


def mount_ok(source: str):
    """201 when the subject may pull the source project, else 202 (an upload session)."""
    return lambda w, s: 201 if source == "self" or w.allowed(s, source, "repository", "pull") else 202


def artifact_delete(w, s, proj):
    tag = f"ad-{slug(s)}"
    digest = push_image(w.berth, f"{_p(w, proj)}/app", tag, seed=f"{w.run}-{proj}-{tag}")
    return w.api(s).delete(f"{_repo(w, proj)}/artifacts/{digest}")


def tag_delete(w, s, proj):
    tag = f"td-{slug(s)}"
    w.admin.ok("POST", f"{_repo(w, proj)}/artifacts/v1/tags", {"name": tag})
    return w.api(s).delete(f"{_repo(w, proj)}/artifacts/v1/tags/{tag}")


def label_create(w, s, proj):
    body = {"name": f"lc-{slug(s)}-{proj.lower()}-{w.run}", "color": "#0000FF", "description": "e2e", "scope": "p", "project_id": w.ids[proj]}
    return w.api(s).post("/labels", body)


def artifact_label(w, s, proj):
    body = {"name": f"la-{slug(s)}-{proj.lower()}-{w.run}", "color": "#00FF00", "description": "e2e", "scope": "p", "project_id": w.ids[proj]}
    r = w.admin.post("/labels", body)
    assert r.status_code == 201, f"create label: {r.status_code} {r.text}"
    label_id = r.json()["id"] if r.content else int(r.headers["Location"].rstrip("/").split("/")[-1])
    return w.api(s).post(f"{_repo(w, proj)}/artifacts/v1/labels", {"id": label_id})


CELLS = [
    Cell("project", "read", lambda w, s, p: w.api(s).get(f"/projects/{_p(w, p)}")),
    Cell("project", "update", lambda w, s, p: w.api(s).put(f"/projects/{_p(w, p)}", {"metadata": {"public": "true" if p == "P" else "false"}})),
    Cell("project", "delete", lambda w, s, p: w.api(s).get(f"/projects/{_p(w, p)}/_deletable"), label="(_deletable)"),
    Cell("member", "list", lambda w, s, p: w.api(s).get(f"/projects/{_p(w, p)}/members")),
    Cell("member", "read", lambda w, s, p: w.api(s).get(f"/projects/{_p(w, p)}/members/{w.probe_member[p]}")),
    Cell("member", "create", member_create),
    Cell("member", "update", lambda w, s, p: w.api(s).put(f"/projects/{_p(w, p)}/members/{w.probe_member[p]}", {"role_id": 3})),
    Cell("member", "delete", member_delete),
    Cell("metadata", "read", lambda w, s, p: w.api(s).get(f"/projects/{_p(w, p)}/metadatas")),
    Cell("metadata", "update", lambda w, s, p: w.api(s).put(f"/projects/{_p(w, p)}/metadatas/auto_scan", {"auto_scan": "false"})),
    Cell("repository", "list", lambda w, s, p: w.api(s).get(f"/projects/{_p(w, p)}/repositories")),
    Cell("repository", "read", lambda w, s, p: w.api(s).get(_repo(w, p))),
    Cell("repository", "update", lambda w, s, p: w.api(s).put(_repo(w, p), {"description": f"set by {s}"})),
    Cell("repository", "delete", repository_delete),
    Cell("repository", "pull", pull(False), v2=True, label="(basic)"),
    Cell("repository", "pull", pull(True), v2=True, label="(token)"),
    Cell("repository", "push", push(False), v2=True, label="(basic)"),
    Cell("repository", "push", push(True), v2=True, label="(token)"),
    Cell("repository", "push", mount("B", True), v2=True, label="(mount from private B)", ok=mount_ok("B")),
    Cell("repository", "push", mount("B", False), v2=True, label="(mount B's blob, no from)", ok=mount_ok("B")),
    Cell("repository", "push", mount("self", True), v2=True, label="(mount from own project)", ok=mount_ok("self")),
    Cell("repository", "push", mount("self", False), v2=True, label="(mount own blob, no from)", ok=mount_ok("self")),
    Cell("repository", "delete", delete_v2(False), v2=True, label="(v2 basic)"),
    Cell("repository", "delete", delete_v2(True), v2=True, label="(v2 token)"),
    Cell("artifact", "list", lambda w, s, p: w.api(s).get(f"{_repo(w, p)}/artifacts")),
    Cell("artifact", "read", lambda w, s, p: w.api(s).get(f"{_repo(w, p)}/artifacts/v1")),
    Cell("artifact", "delete", artifact_delete),
    Cell("tag", "list", lambda w, s, p: w.api(s).get(f"{_repo(w, p)}/artifacts/v1/tags")),
    Cell("tag", "create", lambda w, s, p: w.api(s).post(f"{_repo(w, p)}/artifacts/v1/tags", {"name": f"tc-{slug(s)}"})),
    Cell("tag", "delete", tag_delete),
    Cell("label", "create", label_create),
    Cell("artifact-label", "create", artifact_label),
    Cell("robot", "list", lambda w, s, p: w.api(s).get("/robots", params={"q": f"Level=project,ProjectID={w.ids[p]}"})),
    Cell(
        "robot",
        "create",
        lambda w, s, p: w.api(s).post("/robots", project_robot(f"rc-{slug(s)}", _p(w, p), ("repository", "pull"))),
    ),
    # Last: a wrongly allowed delete would take the project with it.
    Cell("project", "delete", lambda w, s, p: w.api(s).delete(f"/projects/{_p(w, p)}"), ok=412),
]

PARAMS = [pytest.param(proj, s, c, id=f"{proj}-{s}-{c.id}") for c in CELLS for proj in ("A", "P") for s in SUBJECTS]


def expected_status(w: World, subject: str, proj: str, cell: Cell):
    p = w.perms(subject, proj)
    refused = 401 if subject == "anonymous" else 403
    if p == HIDDEN:
        return refused if cell.v2 else 404
    if w.allowed(subject, proj, cell.resource, cell.action):
        return (cell.ok(w, subject) if callable(cell.ok) else cell.ok) or "2xx"
    return refused


@pytest.mark.parametrize("proj,subject,cell", PARAMS)
def test_matrix(world, proj, subject, cell):
    want = expected_status(world, subject, proj, cell)
    r = cell.run(world, subject, proj)
    got = r.status_code
    where = f"{r.request.method} {urllib.parse.unquote(r.request.url)} as {subject} -> {got} {r.text[:300]}"
    if want == "2xx":
        assert 200 <= got < 300, f"expected 2xx: {where}"
    else:
        assert got == want, f"expected {want}: {where}"
        if r.request.method != "HEAD" and want >= 400:
            envelope(r)  # refusals carry the error envelope


# ---- the token service grants exactly what RBAC allows ------------------------------------------


@pytest.mark.parametrize("proj", ["A", "B", "P"])
@pytest.mark.parametrize("subject", SUBJECTS)
def test_token_grants_only_permitted_actions(world, subject, proj):
    repo = f"{world.names[proj]}/app"
    tok = token_for(world.berth, world.auth[subject], f"repository:{repo}:pull,push,delete")
    claims = jwt_claims(tok)
    assert claims.get("iss") == "harbor-token-issuer", claims
    aud = claims.get("aud")
    assert aud == "harbor-registry" or (isinstance(aud, list) and "harbor-registry" in aud), claims
    if subject not in ("anonymous",):
        assert claims.get("sub") == world.auth[subject][0], claims
    [access] = claims["access"]
    assert access["type"] == "repository" and access["name"] == repo, access
    want = sorted(a for a in ("pull", "push", "delete") if world.allowed(subject, proj, "repository", a))
    granted = set(access["actions"])
    if "*" in granted:  # Harbor adds "*" when pull, push and delete are all held
        assert want == ["delete", "pull", "push"], f"{subject} in {proj}: granted {access['actions']}"
        granted.discard("*")
    assert sorted(granted) == want, f"{subject} in {proj}: granted {access['actions']}, matrix says {want}"


@pytest.mark.parametrize("subject", ["admin", "projectAdmin", "maintainer", "developer", "guest", "robot_a"])
def test_token_grants_are_recomputed_not_intersected(world, subject):
    """harbor.md §12: the granted actions are what the subject may do on the repository, not
    merely the asked ones intersected with that. Clients rely on it: oras-py asks for `pull` on
    its first HEAD and reuses that token for the upload that follows."""
    repo = f"{world.names['A']}/app"
    [access] = jwt_claims(token_for(world.berth, world.auth[subject], f"repository:{repo}:pull"))["access"]
    want = {a for a in ("pull", "push", "delete") if world.allowed(subject, "A", "repository", a)}
    assert set(access["actions"]) - {"*"} == want, f"asked for pull, granted {access['actions']}; may do {sorted(want)}"


@pytest.mark.parametrize("subject", SUBJECTS)
def test_token_catalog_scope_only_for_admin(world, subject):
    claims = jwt_claims(token_for(world.berth, world.auth[subject], "registry:catalog:*"))
    [access] = claims["access"]
    assert access["actions"] == (["*"] if subject == "admin" else []), access


def test_token_service_rejects_bad_credentials_and_unknown_service(world):
    r = berthlib.get_token(world.berth, (world.users["developer"], "Wrong-Pass-123"), f"repository:{world.names['A']}/app:pull")
    assert r.status_code == 401, r.text
    r = berthlib.session(world.auth["developer"]).get(
        f"{world.berth.url}/service/token", params={"service": "not-harbor", "scope": "repository:x/y:pull"}, timeout=60
    )
    assert r.status_code == 400, r.text
    # Anonymous without a scope is how `docker login` probes: 401.
    r = berthlib.session(None).get(f"{world.berth.url}/service/token", params={"service": "harbor-registry"}, timeout=60)
    assert r.status_code == 401, r.text


# ---- must-haves, spelled out ------------------------------------------------------------------


def test_developer_cannot_delete(world):
    dev, a = world.api("developer"), world.names["A"]
    digest = push_image(world.berth, f"{a}/app", "dev-del", seed=f"{world.run}-dev-del")
    assert dev.delete(_repo(world, "A")).status_code == 403
    assert dev.delete(f"{_repo(world, 'A')}/artifacts/{digest}").status_code == 403
    assert dev.delete(f"{_repo(world, 'A')}/artifacts/{digest}/tags/dev-del").status_code == 403
    assert V2(world.berth, world.auth["developer"]).req("DELETE", f"/v2/{a}/app/manifests/{digest}").status_code == 403
    assert dev.delete(f"/projects/{a}").status_code == 403
    # …and everything is still there.
    assert world.admin.get(f"{_repo(world, 'A')}/artifacts/{digest}").status_code == 200


def test_guest_cannot_push(world):
    a = world.names["A"]
    for client in (
        V2(world.berth, world.auth["guest"]),
        V2(world.berth, token=token_for(world.berth, world.auth["guest"], f"repository:{a}/app:pull,push")),
    ):
        r = client.req("POST", f"/v2/{a}/app/blobs/uploads/")
        assert r.status_code == 403, f"{r.status_code} {r.text}"
        r = client.put_manifest(f"{a}/app", "guest", berthlib.make_image("guest").manifest)
        assert r.status_code == 403, f"{r.status_code} {r.text}"
    assert V2(world.berth, world.auth["guest"]).pull(f"{a}/app", "v1").status_code == 200


def test_limited_guest_cannot_list_members(world):
    lg = world.api("limitedGuest")
    a = world.names["A"]
    assert lg.get(f"/projects/{a}").status_code == 200
    assert lg.get(f"/projects/{a}/members").status_code == 403
    assert lg.get(f"/projects/{a}/members/{world.probe_member['A']}").status_code == 403
    assert lg.get(f"/projects/{a}/members").status_code == 403


@pytest.mark.parametrize("subject", ["developer", "projectAdmin", "nonmember", "robot_a"])
def test_private_b_is_invisible(world, subject):
    """A private project the caller has no part in is answered exactly like a missing one, and
    appears in no listing, search or count."""
    api = world.api(subject)
    b, b_id = world.names["B"], world.ids["B"]
    missing = f"rbac-missing-{world.run}"

    def same_as_missing(path_b: str, path_missing: str):
        rb, rm = api.get(path_b), api.get(path_missing)
        assert rb.status_code == 404 == rm.status_code, f"{path_b}: {rb.status_code} {rb.text}; {path_missing}: {rm.status_code}"
        eb, em = envelope(rb), envelope(rm)
        assert eb["code"] == em["code"] == "NOT_FOUND", (eb, em)
        assert eb["message"].replace(b, "X").replace(str(b_id), "N") == em["message"].replace(missing, "X").replace("999999999", "N")

    same_as_missing(f"/projects/{b}", f"/projects/{missing}")
    same_as_missing(f"/projects/{b_id}", "/projects/999999999")
    same_as_missing(f"/projects/{b}/summary", f"/projects/{missing}/summary")
    same_as_missing(f"/projects/{b}/repositories", f"/projects/{missing}/repositories")
    same_as_missing(f"/projects/{b}/repositories/app", f"/projects/{missing}/repositories/app")
    same_as_missing(f"/projects/{b}/repositories/app/artifacts", f"/projects/{missing}/repositories/app/artifacts")
    same_as_missing(f"/projects/{b}/members", f"/projects/{missing}/members")
    assert api.req("HEAD", "/projects", params={"project_name": b}).status_code in (200, 404)

    projects = all_pages(api, "/projects")
    names = {p["name"] for p in projects}
    assert b not in names
    if subject != "nonmember":
        assert world.names["A"] in names
    assert world.names["P"] in names
    r = api.get("/projects", params={"page_size": 1})
    assert int(r.headers["X-Total-Count"]) == len(projects), "X-Total-Count counts projects the caller cannot see"
    admin_total = int(world.admin.get("/projects", params={"page_size": 1}).headers["X-Total-Count"])
    assert admin_total >= len(projects) + 1

    repos = all_pages(api, "/repositories")
    assert not [x for x in repos if x["name"].startswith(b + "/")], repos
    r = api.get("/repositories", params={"page_size": 1})
    assert int(r.headers["X-Total-Count"]) == len(repos)

    found = api.get("/search", params={"q": b}).json()
    assert [p["name"] for p in found.get("project", [])] == [], found
    assert [x for x in found.get("repository", []) if x["project_name"] == b] == [], found
    found = api.get("/search", params={"q": "rbac-"}).json()
    assert b not in {p["name"] for p in found.get("project", [])}

    stats = api.get("/statistics")
    assert stats.status_code == 200, stats.text
    private = 0 if subject == "nonmember" else 1  # A is private and visible to its members and robot
    assert stats.json()["private_project_count"] == private, stats.json()

    labels = api.get("/labels", params={"scope": "p", "project_id": b_id})
    assert labels.status_code == 404, labels.text
    robots = api.get("/robots", params={"q": f"Level=project,ProjectID={b_id}"})
    assert robots.status_code == 404, robots.text

    v2 = V2(world.berth, world.auth[subject])
    assert v2.pull(f"{b}/app", "v1").status_code == 403
    assert v2.pull(f"{missing}/app", "v1").status_code == 403


def test_robot_cannot_act_outside_its_permissions(world):
    a, b, p = world.names["A"], world.names["B"], world.names["P"]
    ra = V2(world.berth, world.auth["robot_a"])
    assert ra.pull(f"{a}/app", "v1").status_code == 200
    assert ra.pull(f"{b}/app", "v1").status_code == 403, "robot of A pulled from B"
    r, _ = ra.push_image(f"{b}/app", "robot", seed="robot-b")
    assert r.status_code == 403, "robot of A pushed into B"
    r, _ = ra.push_image(f"{p}/app", "robot", seed="robot-p")
    assert r.status_code == 403, "robot of A pushed into public P"
    assert ra.pull(f"{p}/app", "v1").status_code == 200, "public P is pullable by everyone"
    assert ra.req("DELETE", f"/v2/{a}/app/manifests/{world.v1['A']}").status_code == 403
    api = world.api("robot_a")
    assert api.delete(_repo(world, "A")).status_code == 403
    assert api.get(f"/projects/{a}/members").status_code == 403
    assert api.post("/projects", {"project_name": f"robot-made-{world.run}"}).status_code == 403
    assert api.get("/users").status_code in (401, 403)
    assert api.post("/robots", project_robot("escalate", a, ("repository", "delete"))).status_code == 403
    # The system robot: pull everywhere (project:*), nothing else.
    rs = V2(world.berth, world.auth["robot_sys"])
    assert rs.pull(f"{b}/app", "v1").status_code == 200
    r, _ = rs.push_image(f"{a}/app", "sys", seed="sys-a")
    assert r.status_code == 403
    assert world.api("robot_sys").delete(_repo(world, "B")).status_code == 403
    assert world.admin.get(_repo(world, "A")).status_code == 200


def test_disabled_robot_is_locked_out(world):
    admin, a = world.admin, world.names["A"]
    body = project_robot(f"dis-{world.run}", a, ("repository", "pull"))
    created = admin.create_robot(body)
    auth = robot_auth(created)
    v2 = V2(world.berth, auth)
    assert v2.pull(f"{a}/app", "v1").status_code == 200
    old_token = token_for(world.berth, auth, f"repository:{a}/app:pull")
    assert V2(world.berth, token=old_token).pull(f"{a}/app", "v1").status_code == 200

    current = admin.ok("GET", f"/robots/{created['id']}").json()
    assert current["disable"] is False
    r = admin.put(f"/robots/{created['id']}", {**body, "disable": True})
    assert r.status_code == 200, r.text
    assert admin.ok("GET", f"/robots/{created['id']}").json()["disable"] is True

    assert v2.pull(f"{a}/app", "v1").status_code == 401, "a disabled robot still pulls with Basic auth"
    assert berthlib.get_token(world.berth, auth, f"repository:{a}/app:pull").status_code == 401
    assert V2(world.berth, token=old_token).pull(f"{a}/app", "v1").status_code == 401, "a token issued before disabling still works"
    assert Api(world.berth, auth).get(f"/projects/{a}").status_code == 401

    r = admin.put(f"/robots/{created['id']}", {**body, "disable": False})
    assert r.status_code == 200, r.text
    assert V2(world.berth, auth).pull(f"{a}/app", "v1").status_code == 200, "re-enabled robot cannot pull"


def test_robot_created_disabled_cannot_log_in(world):
    a = world.names["A"]
    created = world.admin.create_robot(project_robot(f"off-{world.run}", a, ("repository", "pull"), disable=True))
    auth = robot_auth(created)
    assert V2(world.berth, auth).pull(f"{a}/app", "v1").status_code == 401
    assert berthlib.get_token(world.berth, auth, f"repository:{a}/app:pull").status_code == 401


def test_robot_expiry_fields(world):
    """Robots cannot be created already expired (duration is -1 or >= 1 day); expires_at
    follows duration."""
    a = world.names["A"]
    r = world.admin.post("/robots", project_robot("zero", a, ("repository", "pull"), duration=0))
    assert r.status_code == 400, r.text
    created = world.admin.create_robot(project_robot(f"day-{world.run}", a, ("repository", "pull"), duration=1))
    got = world.admin.ok("GET", f"/robots/{created['id']}").json()
    assert got["duration"] == 1 and got["expires_at"] > 0, got
    never = world.admin.create_robot(project_robot(f"never-{world.run}", a, ("repository", "pull")))
    assert never["expires_at"] == -1, never


def test_robot_permissions_never_exceed_the_creator(world):
    a, b = world.names["A"], world.names["B"]
    # A developer holds repository:delete nowhere, and robot:create neither.
    r = world.api("developer").post("/robots", project_robot("devbot", a, ("repository", "delete")))
    assert r.status_code == 403, r.text
    r = world.api("developer").post("/robots", project_robot("devbot", a, ("repository", "pull")))
    assert r.status_code == 403, r.text
    # A maintainer may list and read robots but not create them.
    r = world.api("maintainer").post("/robots", project_robot("maintbot", a, ("repository", "pull")))
    assert r.status_code == 403, r.text
    # The project admin may hand out what it holds in A…
    pa = world.api("projectAdmin")
    r = pa.post("/robots", project_robot("pabot", a, ("repository", "delete"), ("repository", "push")))
    assert r.status_code == 201, r.text
    # …but not in B (not a member: B is invisible), not system-wide, not in every project.
    r = pa.post("/robots", project_robot("pabot", b, ("repository", "pull")))
    assert r.status_code in (403, 404), r.text
    r = pa.post("/robots", system_robot("pasys", [{"kind": "project", "namespace": "*", "access": [{"resource": "repository", "action": "pull"}]}]))
    assert r.status_code == 403, r.text
    r = pa.post("/robots", system_robot("pasys2", [{"kind": "system", "namespace": "/", "access": [{"resource": "project", "action": "create"}]}]))
    assert r.status_code == 403, r.text
    # A robot allowed to create robots in A, holding only repository:pull there, can hand out
    # pull but not push.
    maker = world.admin.create_robot(
        system_robot(
            f"maker-{world.run}",
            [{"kind": "project", "namespace": a, "access": [{"resource": "robot", "action": "create"}, {"resource": "repository", "action": "pull"}]}],
        )
    )
    mk = Api(world.berth, robot_auth(maker))
    r = mk.post("/robots", project_robot("child-push", a, ("repository", "push")))
    assert r.status_code == 403, r.text
    r = mk.post("/robots", project_robot("child-pull", a, ("repository", "pull")))
    assert r.status_code == 201, r.text
    child = robot_auth(r.json())
    assert V2(world.berth, child).pull(f"{a}/app", "v1").status_code == 200
    r, _ = V2(world.berth, child).push_image(f"{a}/app", "child", seed="child")
    assert r.status_code == 403
    # Invalid permissions are a 400, not a silent drop.
    r = world.admin.post("/robots", project_robot("bad", a, ("repository", "fly")))
    assert r.status_code == 400, r.text
    r = world.admin.post("/robots", project_robot("Bad+Name", a, ("repository", "pull")))
    assert r.status_code == 400, r.text


# ---- /v2 challenges and anonymous access ------------------------------------------------------


def test_anonymous_v2_challenges(world):
    a = world.names["A"]
    host = world.berth.host
    r = requests.get(f"{world.berth.url}/v2/", timeout=60)
    assert r.status_code == 401
    h = r.headers.get("WWW-Authenticate", "")
    assert h.startswith("Bearer ") and f'realm="http://{host}/service/token"' in h and 'service="harbor-registry"' in h, h
    r = requests.get(f"{world.berth.url}/v2/{a}/app/manifests/v1", timeout=60)
    assert r.status_code == 401
    assert r.headers.get("WWW-Authenticate") == (
        f'Bearer realm="http://{host}/service/token",service="harbor-registry",scope="repository:{a}/app:pull"'
    ), r.headers
    envelope(r)
    r = requests.post(f"{world.berth.url}/v2/{a}/app/blobs/uploads/", timeout=60)
    assert r.status_code == 401
    scope = r.headers.get("WWW-Authenticate", "").split('scope="')[-1]
    assert "push" in scope, f"an upload's challenge should ask for push: {r.headers}"
    # Missing projects look the same as private ones.
    r = requests.get(f"{world.berth.url}/v2/nope-{world.run}/app/manifests/v1", timeout=60)
    assert r.status_code == 401 and r.headers.get("WWW-Authenticate", "").startswith("Bearer ")


def test_anonymous_pulls_public_only(world):
    p, a = world.names["P"], world.names["A"]
    r = requests.get(f"{world.berth.url}/v2/{p}/app/manifests/v1", headers={"Accept": berthlib.OCI_MANIFEST}, timeout=60)
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == world.v1["P"]
    tok = token_for(world.berth, None, f"repository:{p}/app:pull,push")
    assert jwt_claims(tok)["access"][0]["actions"] == ["pull"]
    assert V2(world.berth, token=tok).pull(f"{p}/app", "v1").status_code == 200
    tok = token_for(world.berth, None, f"repository:{a}/app:pull")
    assert jwt_claims(tok)["access"][0]["actions"] == []
    assert V2(world.berth, token=tok).pull(f"{a}/app", "v1").status_code == 401
    assert requests.get(f"{world.berth.url}/api/v2.0/projects/{p}", timeout=60).status_code == 200
    assert requests.get(f"{world.berth.url}/api/v2.0/projects/{a}", timeout=60).status_code == 404


def test_push_to_missing_project_is_denied_naming_it(world):
    missing = f"nope-{world.run}"
    r, _ = V2(world.berth, world.berth.admin).push_image(f"{missing}/app", "v1", seed="missing")
    assert r.status_code == 403, r.text
    e = envelope(r)
    assert e["code"] == "DENIED" and missing in e["message"], e


@pytest.mark.parametrize("role", list(ROLES))
def test_current_user_permissions_match_the_matrix(world, role):
    r = world.api(role).get("/users/current/permissions", params={"scope": f"/project/{world.ids['A']}", "relative": "true"})
    assert r.status_code == 200, r.text
    held = set()
    for p in r.json():
        res = p["resource"].rstrip("/").split("/")[-1] if "/" in p["resource"] else p["resource"]
        if res in ("", ".", str(world.ids["A"])):
            res = "project"
        held.add((res, p["action"]))
    exercised = {res for res, _ in MATRIX["projectAdmin"]}
    assert {x for x in held if x[0] in exercised and x[0] != "project"} == {x for x in MATRIX[role] if x[0] != "project"}
