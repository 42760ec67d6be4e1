"""The asyncio API: the same methods as :class:`berth.Registry`, each returning an awaitable.

::

    import berth.aio

    async def main() -> None:
        async with berth.aio.serve() as reg:
            await reg.push_image("library/app:1.0", layers=[b"..."])
            assert await reg.list_tags("library/app") == ["1.0"]

Engine work runs on berth's own tokio runtime, never on the event loop's thread.
"""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._native import AsyncRegistry as Registry
from ._native import AsyncServer as Server
from ._native import open_async as _open_async
from ._native import serve_async as _serve_async

__all__ = ["Registry", "Server", "open", "serve"]

_R = TypeVar("_R", bound=Registry)


class _Opening(Generic[_R]):
    """Await it for the registry, or use it as ``async with`` (closing the registry on exit)."""

    def __init__(self, start: Any) -> None:
        self._start = start
        self._opened: _R | None = None

    def __await__(self) -> Generator[Any, None, _R]:
        return self._open().__await__()

    async def _open(self) -> _R:
        opened: _R = await self._start()
        return opened

    async def __aenter__(self) -> _R:
        self._opened = await self._open()
        return self._opened

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._opened is not None:
            await self._opened.close()


def open(uri: str | None = None, *, metadata: str | None = None, storage: str | None = None) -> _Opening[Registry]:
    """Open a registry (see :func:`berth.open`); await it or use ``async with``."""
    return _Opening(lambda: _open_async(uri, metadata=metadata, storage=storage))


def serve(
    uri: str | None = None,
    *,
    metadata: str | None = None,
    storage: str | None = None,
    addr: str = "127.0.0.1:0",
    admin_password: str | None = None,
) -> _Opening[Server]:
    """Serve a registry over HTTP in this process (see :func:`berth.serve`); await it or use ``async with``."""
    return _Opening(lambda: _serve_async(uri, metadata=metadata, storage=storage, addr=addr, admin_password=admin_password))
