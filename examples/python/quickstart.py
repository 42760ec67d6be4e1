"""Berth from Python: a throw-away registry served in-process, driven through the engine API and
over HTTP, then the same with asyncio.

Run:  pip install ./registry-py && python examples/python/quickstart.py
"""

from __future__ import annotations

import asyncio
import json
import urllib.request

import berth
import berth.aio


def sync_demo() -> None:
    with berth.serve() as reg:  # free loopback port, temp data dir removed on exit
        ref = reg.push_image(
            "team/app:1.0",
            layers=[b"pretend this is a tarball"],
            config={"architecture": "amd64", "os": "linux"},
        )
        print(f"pushed {ref} (tags {ref.tags}) to {reg.url}")
        assert reg.list_tags("team/app") == ["1.0"]

        # Any OCI client can use reg.host now; here plain HTTP.
        with urllib.request.urlopen(f"{reg.url}/v2/team/app/tags/list") as res:
            tags: dict[str, object] = json.load(res)
        print("tags over HTTP:", tags["tags"])

        image = reg.pull_image("team/app:1.0")
        print("config:", json.loads(image.config), "layers:", [len(layer.data) for layer in image.layers])

        try:
            reg.get_manifest("team/app", "2.0")
        except berth.NotFoundError as e:  # also a LookupError
            print("as expected:", e.code)


async def async_demo() -> None:
    async with berth.aio.serve() as reg:
        pushed = await asyncio.gather(*(reg.push_image(f"team/app:{i}", layers=[bytes([i])]) for i in range(10)))
        print(f"pushed {len(pushed)} images concurrently to {reg.url}")
        print("tags:", await reg.list_tags("team/app"))


if __name__ == "__main__":
    sync_demo()
    asyncio.run(async_demo())
