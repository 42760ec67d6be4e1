"""The asyncio API: the same engine calls as awaitables, concurrency, cancellation, and the
async context managers of open/serve."""

from __future__ import annotations

import asyncio

import pytest

import berth
import berth.aio


def run(coro):
    return asyncio.run(coro)


def test_async_open_push_pull():
    async def main():
        async with berth.aio.open() as reg:
            assert isinstance(reg, berth.aio.Registry)
            await reg.create_project("team")
            ref = await reg.push_image("team/app:1.0", layers=[b"one", b"two"], config={"os": "linux"})
            assert await reg.list_tags("team/app") == ["1.0"]
            img = await reg.pull_image("team/app:1.0")
            assert img.digest == ref.digest
            assert [layer.data for layer in img.layers] == [b"one", b"two"]
            assert await reg.catalog() == ["team/app"]
        assert reg.closed

    run(main())


def test_async_serve_and_errors():
    async def main():
        async with berth.aio.serve() as reg:
            assert isinstance(reg, berth.aio.Server)
            assert reg.url.startswith("http://127.0.0.1:")
            assert reg.admin_username == "admin" and reg.credentials == ("admin", reg.admin_password)
            assert (await reg.project("library"))["metadata"]["public"] == "true"
            with pytest.raises(berth.NotFoundError) as e:
                await reg.get_manifest("library/app", "missing")
            assert e.value.code == "NAME_UNKNOWN" or e.value.code == "MANIFEST_UNKNOWN"
            with pytest.raises(berth.InvalidError) as e2:
                await reg.list_tags("Bad/Name")
            assert e2.value.code == "NAME_INVALID"
        await reg.stop()  # harmless a second time
        with pytest.raises(berth.ClosedError):
            await reg.catalog()

    run(main())


def test_many_concurrent_calls():
    async def main():
        reg = await berth.aio.open()
        await reg.create_project("team")
        pushed = await asyncio.gather(*(reg.push_image(f"team/app:{i}", layers=[str(i).encode()]) for i in range(50)))
        assert len({p.digest for p in pushed}) == 50
        assert len(await reg.list_tags("team/app")) == 50
        await reg.close()
        await reg.close()

    run(main())


def test_cancelled_await_lets_the_engine_call_finish():
    async def main():
        reg = await berth.aio.open()
        await reg.create_project("team")
        task = asyncio.ensure_future(reg.push_image("team/app:1", layers=[b"x" * 1_000_000]))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The registry still works afterwards, and the push was not cut off half-way.
        await reg.push_image("team/app:2", layers=[b"y"])
        for _ in range(100):
            if await reg.list_tags("team/app") == ["1", "2"]:
                break
            await asyncio.sleep(0.05)
        assert await reg.list_tags("team/app") == ["1", "2"]
        await reg.close()

    run(main())


def test_async_identity_calls():
    async def main():
        async with berth.aio.open() as reg:
            project = await reg.create_project("team", public=True)
            assert project["metadata"]["public"] == "true"
            user = await reg.create_user("alice", "Alice-Pass-1")
            member_id = await reg.add_member("team", "alice", role="guest")
            page = await reg.members("team")
            assert [(m["id"], m["entity_name"], m["role_name"]) for m in page["items"]] == [(member_id, "alice", "guest")]
            who = await reg.login("alice", "Alice-Pass-1")
            assert who == {"kind": "user", "name": "alice", "id": user["user_id"], "sysadmin": False}
            with pytest.raises(berth.ConflictError) as e:
                await reg.create_project("team")
            assert e.value.code == "CONFLICT"

    run(main())


def test_sync_and_async_calls_need_the_right_context():
    with pytest.raises(RuntimeError):
        berth.aio.open().__await__().send(None)  # no running event loop
