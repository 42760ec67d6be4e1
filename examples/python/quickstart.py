"""Berth from Python: a throw-away registry served in-process, driven through the engine API and
over HTTP (as the admin, and as a user the engine API created), then the same with asyncio.

Run:  pip install ./registry-py && python examples/python/quickstart.py
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request

import berth
import berth.aio


def get_json(url: str, user: str, password: str) -> dict[str, object]:
    """GET with HTTP Basic credentials (any OCI client works too: oras, skopeo, crane, …)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    req = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(req) as res:
        doc: dict[str, object] = json.load(res)
        return doc


def sync_demo() -> None:
    # Free loopback port, temp data dir removed on exit. The admin user and the public project
    # "library" are created first; the password is generated unless admin_password= is given.
    with berth.serve() as reg:
        print(f"serving {reg.url}; log in as {reg.admin_username} / {reg.admin_password}")
        reg.create_project("team")  # content only enters existing projects (private by default)
        ref = reg.push_image(
            "team/app:1.0",
            layers=[b"pretend this is a tarball"],
            config={"architecture": "amd64", "os": "linux"},
        )
        print(f"pushed {ref} (tags {ref.tags}) to {reg.url}")
        assert reg.list_tags("team/app") == ["1.0"]

        # A user who may pull from and push to "team", then HTTP as that user.
        reg.create_user("dev", "Dev-Pass-1")
        reg.add_member("team", "dev", role="developer")
        tags = get_json(f"{reg.url}/v2/team/app/tags/list", "dev", "Dev-Pass-1")
        print("tags over HTTP as dev:", tags["tags"])
        try:
            urllib.request.urlopen(f"{reg.url}/v2/team/app/tags/list")
        except urllib.error.HTTPError as e:
            print("anonymous:", e.code)  # 401: team is private

        robot = reg.create_robot("ci", project="team", access=[{"resource": "repository", "action": "push"}])
        print(f"robot {robot['name']} (its secret is shown only now)")

        image = reg.pull_image("team/app:1.0")
        print("config:", json.loads(image.config), "layers:", [len(layer.data) for layer in image.layers])

        try:
            reg.get_manifest("team/app", "2.0")
        except berth.NotFoundError as e:  # also a LookupError
            print("as expected:", e.code)


async def async_demo() -> None:
    async with berth.aio.serve() as reg:
        pushed = await asyncio.gather(*(reg.push_image(f"library/app:{i}", layers=[bytes([i])]) for i in range(10)))
        print(f"pushed {len(pushed)} images concurrently to {reg.url}")
        print("tags:", await reg.list_tags("library/app"))
        print("projects:", [p["name"] for p in (await reg.projects())["items"]])


if __name__ == "__main__":
    sync_demo()
    asyncio.run(async_demo())
