"""Identity and access through the binding: projects, users, members, robots, the management
views of content, and real HTTP clients (requests, the oras SDK) authenticating as the users and
robots the binding created against the served registry."""

from __future__ import annotations

import hashlib
import pathlib
import typing

import oras.provider
import pytest
import requests

import berth
import berth.types

PASSWORD = "Dev-Pass-1"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oras_as(reg: berth.Server, auth: tuple[str, str], backend: str = "token") -> oras.provider.Registry:
    """An oras client logged in with `auth`: through the token service (oras' default), or with
    HTTP Basic on every request (`backend="basic"`)."""
    client = oras.provider.Registry(hostname=reg.host, insecure=True, auth_backend=backend)
    client.auth.set_basic_auth(*auth)
    return client


def push_blob_over_http(reg: berth.Server, repo: str, data: bytes, auth: tuple[str, str] | None) -> int:
    """A monolithic blob upload with requests; the status code."""
    r = requests.post(f"{reg.url}/v2/{repo}/blobs/uploads/?digest={sha(data)}", data=data, auth=auth, timeout=10)
    return r.status_code


def keys_of(td: typing.Any) -> set[str]:
    return set(td.__required_keys__) | set(td.__optional_keys__)


# ---- projects --------------------------------------------------------------------------------


def test_projects_create_read_list_update_delete():
    with berth.open() as reg:
        created = reg.create_project("team", metadata={"auto_scan": "true"})
        assert created["name"] == "team"
        assert created["metadata"] == {"auto_scan": "true", "public": "false"}
        assert set(created) == keys_of(berth.types.Project)
        assert reg.project(created["project_id"])["name"] == "team"  # by id too
        reg.create_project("docs", public=True)
        page = reg.projects()
        assert (page["total"], page["page"], page["page_size"]) == (2, 1, 10)
        assert [p["name"] for p in page["items"]] == ["docs", "team"]
        assert [p["name"] for p in reg.projects(q="public=true")["items"]] == ["docs"]
        assert [p["name"] for p in reg.projects(sort="-name", page=1, page_size=1)["items"]] == ["team"]
        reg.update_project("team", {"public": "true", "severity": "high"})
        assert reg.project("team")["metadata"]["severity"] == "high"
        reg.push_image("team/app:1", layers=[b"x"])
        with pytest.raises(berth.PreconditionError) as e:
            reg.delete_project("team")
        assert e.value.code == "PRECONDITION"
        reg.delete_repository("team", "app")
        reg.delete_project("team")
        with pytest.raises(berth.NotFoundError):
            reg.project("team")


@pytest.mark.parametrize(
    ("call", "cls", "builtin", "code"),
    [
        (lambda r: r.create_project("Not Valid"), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.create_project("library"), berth.ConflictError, berth.BerthError, "CONFLICT"),
        (lambda r: r.project("nowhere"), berth.NotFoundError, LookupError, "NOT_FOUND"),
        (lambda r: r.update_project("library", {"colour": "red"}), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.projects(q="owner=me"), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.projects(page_size=1000), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.project(3.5), berth.InvalidTypeError, TypeError, "BAD_REQUEST"),
        (lambda r: r.create_user("bob", "short"), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.create_user("admin", PASSWORD), berth.ConflictError, berth.BerthError, "CONFLICT"),
        (lambda r: r.delete_user(999), berth.NotFoundError, LookupError, "NOT_FOUND"),
        (lambda r: r.add_member("library", "nobody"), berth.NotFoundError, LookupError, "NOT_FOUND"),
        (lambda r: r.add_member("library", "admin", role="owner"), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.add_member("library", "admin", role=9), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.add_member("library"), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.create_robot("Bad Name", project="library"), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.create_robot("ci", access=[{"resource": "repository", "action": "pull"}]), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.create_robot("ci", project="library", access=[{"resource": "nope", "action": "pull"}]), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.create_robot("ci", project="library", access=[{"no": "resource"}]), berth.InvalidError, ValueError, "BAD_REQUEST"),
        (lambda r: r.create_robot("ci", project="library", access=[object()]), berth.InvalidTypeError, TypeError, "BAD_REQUEST"),
        (lambda r: r.create_robot("ci", project="nowhere", access=[{"resource": "repository", "action": "pull"}]), berth.NotFoundError, LookupError, "NOT_FOUND"),
        (lambda r: r.delete_robot(42), berth.NotFoundError, LookupError, "NOT_FOUND"),
        (lambda r: r.login("admin", "wrong"), berth.PermissionDeniedError, PermissionError, "UNAUTHORIZED"),
        (lambda r: r.artifacts("library", "none"), berth.NotFoundError, LookupError, "NOT_FOUND"),
        (lambda r: r.push_image("nowhere/app:1", layers=[b"x"]), berth.PermissionDeniedError, PermissionError, "DENIED"),
    ],
)
def test_management_errors_are_classified(call, cls, builtin, code):
    with berth.open() as reg:
        reg.bootstrap("Admin-Pass-1")
        with pytest.raises(cls) as e:
            call(reg)
        assert isinstance(e.value, builtin)
        assert e.value.code == code


# ---- users and members -----------------------------------------------------------------------


def test_users_and_members():
    with berth.open() as reg:
        reg.bootstrap("Admin-Pass-1")
        reg.create_project("team")
        alice = reg.create_user("alice", PASSWORD, email="alice@example.com", realname="Alice")
        assert set(alice) == keys_of(berth.types.User)
        assert (alice["username"], alice["sysadmin_flag"], alice["source"]) == ("alice", False, "local")
        assert "password" not in str(alice).lower()
        assert [u["username"] for u in reg.users()["items"]] == ["admin", "alice"]
        assert reg.login("alice", PASSWORD) == {"kind": "user", "name": "alice", "id": alice["user_id"], "sysadmin": False}
        reg.set_sysadmin(alice["user_id"], True)
        assert reg.user(alice["user_id"])["sysadmin_flag"] is True
        assert reg.login("alice", PASSWORD)["sysadmin"] is True
        reg.change_password(alice["user_id"], "New-Pass-22")
        assert reg.login("alice", "New-Pass-22")["name"] == "alice"

        member_id = reg.add_member("team", "alice")  # developer by default
        members = reg.members("team")["items"]
        assert set(members[0]) == keys_of(berth.types.Member)
        assert [(m["id"], m["entity_name"], m["role_name"], m["entity_type"]) for m in members] == [
            (member_id, "alice", "developer", "u")
        ]
        reg.update_member("team", member_id, "maintainer")
        assert reg.members("team")["items"][0]["role_id"] == 4
        reg.update_member("team", member_id, 3)  # Harbor's role ids work too: 3 = guest
        assert reg.members("team", q="entityname=~ali")["items"][0]["role_name"] == "guest"
        group_member = reg.add_member("team", group="ops", role="limitedGuest")
        assert {m["entity_type"] for m in reg.members("team")["items"]} == {"u", "g"}
        reg.delete_member("team", group_member)
        reg.delete_member("team", member_id)
        assert reg.members("team")["total"] == 0
        reg.delete_user(alice["user_id"])
        with pytest.raises(berth.PermissionDeniedError):
            reg.login("alice", "New-Pass-22")


def test_members_push_and_pull_over_http_by_role(berth_registry, tmp_path, monkeypatch):
    reg = berth_registry
    reg.create_project("team")  # private
    dev = reg.create_user("dev", PASSWORD)
    guest = reg.create_user("guest", PASSWORD)
    reg.add_member("team", "dev", role="developer")
    reg.add_member("team", "guest", role="guest")
    assert dev["user_id"] != guest["user_id"]

    # The developer pushes with the oras SDK …
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_bytes(b"by the developer")
    monkeypatch.chdir(work)
    res = oras_as(reg, ("dev", PASSWORD)).push(target=f"{reg.host}/team/notes:v1", files=["notes.txt"], quiet=True)
    assert res.status_code in (200, 201)
    assert reg.list_tags("team/notes") == ["v1"]
    assert reg.repositories("team")["items"][0]["name"] == "team/notes"

    # … the guest pulls it, but cannot push: 403 over HTTP.
    files = oras_as(reg, ("guest", PASSWORD), backend="basic").pull(target=f"{reg.host}/team/notes:v1", outdir=str(tmp_path / "out"))
    assert [pathlib.Path(f).read_bytes() for f in files] == [b"by the developer"]
    assert push_blob_over_http(reg, "team/notes", b"by the guest", ("guest", PASSWORD)) == 403
    assert push_blob_over_http(reg, "team/notes", b"by the developer", ("dev", PASSWORD)) == 201
    # Anonymous callers and strangers see nothing of a private project.
    assert push_blob_over_http(reg, "team/notes", b"anon", None) == 401
    assert requests.get(f"{reg.url}/v2/team/notes/tags/list", timeout=10).status_code == 401
    # A token carries every action the role allows on the scope (Harbor's rule).
    for user, granted in (("dev", ["pull", "push"]), ("guest", ["pull"])):
        r = requests.get(
            f"{reg.url}/service/token",
            params={"service": "harbor-registry", "scope": "repository:team/notes:pull,push"},
            auth=(user, PASSWORD),
            timeout=10,
        )
        assert r.status_code == 200
        token = r.json()["token"]
        tags = requests.get(f"{reg.url}/v2/team/notes/tags/list", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert tags.json()["tags"] == ["v1"], user
        assert sorted(granted) == sorted(_token_actions(token)), user
    # Making the project public opens pulls to everyone.
    reg.update_project("team", {"public": "true"})
    assert requests.get(f"{reg.url}/v2/team/notes/tags/list", timeout=10).json()["tags"] == ["v1"]


def _token_actions(token: str) -> list[str]:
    import base64
    import json

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return [a for entry in claims["access"] for a in entry["actions"]]


# ---- robots ----------------------------------------------------------------------------------


def test_robot_secret_is_shown_once_and_works_over_http(berth_registry, tmp_path, monkeypatch):
    reg = berth_registry
    team = reg.create_project("team")
    ci = reg.create_robot(
        "ci",
        project="team",
        access=[{"resource": "repository", "action": "push"}, {"resource": "repository", "action": "pull"}],
        description="CI pushes",
    )
    assert set(ci) == keys_of(berth.types.RobotCreated)
    assert ci["name"] == "robot$team+ci" and ci["expires_at"] == -1 and len(ci["secret"]) >= 8
    reader = reg.create_robot("reader", project="team", access=[{"resource": "repository", "action": "pull"}], duration=30)
    assert reader["expires_at"] > 0

    # Listing and reading never show the secret again.
    listed = reg.robots(q=f"Level=project,ProjectID={team['project_id']}")
    assert [r["name"] for r in listed["items"]] == ["robot$team+ci", "robot$team+reader"]
    assert all("secret" not in r for r in listed["items"])
    assert set(listed["items"][0]) == keys_of(berth.types.Robot)
    one = reg.robot(ci["id"])
    assert "secret" not in one and one["description"] == "CI pushes"
    assert one["permissions"][0]["namespace"] == "team"
    assert reg.login(ci["name"], ci["secret"]) == {"kind": "robot", "name": "robot$team+ci", "id": ci["id"], "sysadmin": False}

    # The CI robot pushes with oras; the pull-only robot cannot push.
    work = tmp_path / "work"
    work.mkdir()
    (work / "build.txt").write_bytes(b"built by ci")
    monkeypatch.chdir(work)
    res = oras_as(reg, (ci["name"], ci["secret"])).push(target=f"{reg.host}/team/build:1", files=["build.txt"], quiet=True)
    assert res.status_code in (200, 201)
    assert reg.list_tags("team/build") == ["1"]
    assert push_blob_over_http(reg, "team/build", b"reader", (reader["name"], reader["secret"])) == 403
    assert push_blob_over_http(reg, "library/build", b"ci", (ci["name"], ci["secret"])) == 403  # not its project

    # A new secret replaces the old one.
    fresh = reg.refresh_robot_secret(ci["id"])
    assert fresh != ci["secret"]
    assert push_blob_over_http(reg, "team/build", b"old secret", (ci["name"], ci["secret"])) == 401
    assert push_blob_over_http(reg, "team/build", b"new secret", (ci["name"], fresh)) == 201
    assert reg.refresh_robot_secret(ci["id"], "Chosen-Secret-1") == "Chosen-Secret-1"

    reg.delete_robot(reader["id"])
    with pytest.raises(berth.NotFoundError):
        reg.robot(reader["id"])
    with pytest.raises(berth.PermissionDeniedError):
        reg.login(reader["name"], reader["secret"])


def test_system_robot_with_full_permissions():
    with berth.open() as reg:
        reg.create_project("a")
        reg.create_project("b")
        bot = reg.create_robot(
            "mirror",
            permissions=[{"kind": "project", "namespace": "*", "access": [{"resource": "repository", "action": "pull"}]}],
        )
        assert bot["name"] == "robot$mirror"
        assert reg.robot(bot["id"])["level"] == "system"
        assert [r["name"] for r in reg.robots(q="Level=system")["items"]] == ["robot$mirror"]


# ---- content views ---------------------------------------------------------------------------


def test_repositories_artifacts_tags_and_labels():
    with berth.open() as reg:
        reg.create_project("team")
        pushed = reg.push_image("team/app:1.0", layers=[b"one"], config={"os": "linux"})
        reg.push_image("team/app:2.0", layers=[b"two"])
        repos = reg.repositories()
        assert [r["name"] for r in repos["items"]] == ["team/app"]
        assert set(repos["items"][0]) == keys_of(berth.types.Repository)
        assert reg.repositories("team")["total"] == 1

        arts = reg.artifacts("team", "app")
        assert arts["total"] == 2
        assert set(arts["items"][0]) == keys_of(berth.types.Artifact)
        assert [a["digest"] for a in reg.artifacts("team", "app", q="tags=1.0")["items"]] == [pushed.digest]

        reg.create_tag("team", "app", "1.0", "stable")
        assert reg.list_tags("team/app") == ["1.0", "2.0", "stable"]
        assert sorted(t["name"] for t in reg.artifact("team", "app", "stable")["tags"]) == ["1.0", "stable"]
        with pytest.raises(berth.ConflictError) as e:
            reg.create_tag("team", "app", "2.0", "stable")
        assert e.value.code == "CONFLICT"
        reg.delete_tag("team", "app", pushed.digest, "stable")
        assert reg.list_tags("team/app") == ["1.0", "2.0"]

        label = reg.create_label("prod", color="#00ff00", description="in production")
        assert set(label) == keys_of(berth.types.Label)
        assert label["scope"] == "g"
        team_id = reg.project("team")["project_id"]
        local = reg.create_label("qa", project_id=team_id)
        assert (local["scope"], local["project_id"]) == ("p", team_id)
        assert [lab["name"] for lab in reg.labels()["items"]] == ["prod"]
        assert [lab["name"] for lab in reg.labels(team_id)["items"]] == ["qa"]
        reg.attach_label("team", "app", "1.0", label["id"])
        assert [lab["name"] for lab in reg.artifact("team", "app", "1.0")["labels"]] == ["prod"]
        assert [a["digest"] for a in reg.artifacts("team", "app", q=f"labels=({label['id']})")["items"]] == [pushed.digest]
        reg.detach_label("team", "app", "1.0", label["id"])
        reg.delete_label(label["id"])
        assert reg.labels()["total"] == 0
