"""fork(): a child process gets a working runtime of its own and can open a new registry; a
registry inherited from the parent is reported closed instead of hanging."""

from __future__ import annotations

import multiprocessing
import os
import sys

import pytest

import berth

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork start method")


def child_work(queue):
    try:
        with berth.open("memory://") as reg:
            reg.create_project("child")
            reg.push_image("child/app:1", layers=[b"from the child"])
            queue.put(("ok", reg.list_tags("child/app")))
    except Exception as e:  # pragma: no cover - reported to the parent
        queue.put(("error", repr(e)))


def test_child_opens_its_own_registry_after_fork():
    with berth.serve() as parent:  # the parent's runtime is running when we fork
        parent.push_image("library/app:1", layers=[b"x"])
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        proc = ctx.Process(target=child_work, args=(queue,))
        proc.start()
        result = queue.get(timeout=60)
        proc.join(timeout=60)
        assert result == ("ok", ["1"])
        assert proc.exitcode == 0
        assert parent.list_tags("library/app") == ["1"]  # the parent is unaffected


def test_inherited_registry_is_closed_in_the_child():
    reg = berth.open("memory://")
    reg.create_project("a")
    reg.push_blob("a/b", b"x")
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            try:
                reg.catalog()
            except berth.ClosedError as e:
                code = 0 if e.code == "CLOSED" and "fork" in str(e) else 2
            reg.close()  # harmless
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert reg.catalog() == ["a/b"]
    reg.close()
