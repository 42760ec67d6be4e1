"""Type stubs of berth's native module (hand-written; checked by mypy and mypy.stubtest in CI)."""

import os
from collections.abc import Awaitable, Mapping, Sequence
from types import TracebackType
from typing import Any, final

from typing_extensions import Self, disjoint_base

__all__ = [
    "AsyncRegistry",
    "AsyncServer",
    "Layer",
    "Manifest",
    "PulledImage",
    "PushedImage",
    "PushedManifest",
    "Registry",
    "Server",
    "check_repository_name",
    "open",
    "open_async",
    "serve",
    "serve_async",
    "version",
]

_Bytes = bytes | bytearray
_Path = str | os.PathLike[str]
_Config = bytes | bytearray | dict[str, Any] | list[Any]

def version() -> str:
    """The version of the Berth engine this module was built from."""

def check_repository_name(name: str) -> None:
    """Raise InvalidError (code NAME_INVALID) unless `name` is a valid repository name."""

def open(uri: str | None = None, *, metadata: str | None = None, storage: str | None = None) -> Registry:
    """Open a registry: "memory://" (default), a data directory, or metadata= + storage= URIs."""

def serve(
    uri: str | None = None,
    *,
    metadata: str | None = None,
    storage: str | None = None,
    addr: str = "127.0.0.1:0",
) -> Server:
    """Serve a registry over HTTP in this process; a throw-away data dir unless a uri or URIs are given."""

def open_async(uri: str | None = None, *, metadata: str | None = None, storage: str | None = None) -> Awaitable[AsyncRegistry]: ...
def serve_async(
    uri: str | None = None,
    *,
    metadata: str | None = None,
    storage: str | None = None,
    addr: str = "127.0.0.1:0",
) -> Awaitable[AsyncServer]: ...
@final
class Manifest:
    """A stored manifest."""

    @property
    def digest(self) -> str: ...
    @property
    def media_type(self) -> str: ...
    @property
    def content(self) -> bytes:
        """The manifest exactly as stored."""

    def json(self) -> Any:
        """The manifest parsed with json.loads."""

@final
class PushedManifest:
    """What a manifest push stored."""

    @property
    def digest(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def tags(self) -> list[str]: ...

@final
class PushedImage:
    """What an image push stored; str() of it is "repo@digest"."""

    @property
    def repository(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def config(self) -> str:
        """Digest of the config blob."""

    @property
    def layers(self) -> list[str]:
        """Digests of the layers, in order."""

    @property
    def tags(self) -> list[str]: ...
    @property
    def reference(self) -> str:
        """"repo@digest"."""

@final
class Layer:
    """One layer of a pulled image."""

    @property
    def digest(self) -> str: ...
    @property
    def media_type(self) -> str: ...
    @property
    def data(self) -> bytes: ...

@final
class PulledImage:
    """An image read back: manifest, config and layers."""

    @property
    def digest(self) -> str: ...
    @property
    def media_type(self) -> str: ...
    @property
    def config_media_type(self) -> str: ...
    @property
    def manifest(self) -> bytes: ...
    @property
    def config(self) -> bytes: ...
    @property
    def layers(self) -> list[Layer]: ...

@disjoint_base
class Registry:
    """A Berth registry. Every method blocks with the GIL released; use `with` to close it."""

    @property
    def closed(self) -> bool: ...
    def close(self) -> None:
        """Close (and stop serving, if served). Closing twice is harmless; later calls raise ClosedError."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def catalog(self, n: int | None = None, last: str | None = None) -> list[str]:
        """Repository names in lexical order after `last`, at most `n`."""

    def list_tags(self, repository: str, n: int | None = None, last: str | None = None) -> list[str]:
        """Tags of a repository in lexical order after `last`, at most `n`."""

    def push_blob(self, repository: str, data: _Bytes) -> str:
        """Store bytes as a blob; returns its digest."""

    def push_blob_file(self, repository: str, path: _Path) -> str:
        """Stream a file into a blob; returns its digest."""

    def pull_blob(self, repository: str, digest: str) -> bytes: ...
    def save_blob(self, repository: str, digest: str, path: _Path) -> int:
        """Stream a blob into a file; returns its size."""

    def stat_blob(self, repository: str, digest: str) -> int:
        """The size of a blob the repository links."""

    def delete_blob(self, repository: str, digest: str) -> None: ...
    def mount_blob(self, repository: str, digest: str, from_repository: str | None = None) -> int | None:
        """Link an existing blob into `repository`; its size, or None when there is nothing to mount."""

    def start_upload(self, repository: str) -> str:
        """Open a resumable upload session; returns its id."""

    def append_upload(self, repository: str, upload_id: str, data: _Bytes, offset: int | None = None) -> int:
        """Append a chunk (at `offset`, when given); returns the size so far."""

    def upload_status(self, repository: str, upload_id: str) -> int:
        """Bytes received so far."""

    def finish_upload(
        self, repository: str, upload_id: str, digest: str, data: _Bytes | None = None, offset: int | None = None
    ) -> int:
        """Append a last chunk (optional), verify `digest`, publish; returns the blob size."""

    def cancel_upload(self, repository: str, upload_id: str) -> None: ...
    def purge_uploads(self, older_than_seconds: float) -> int:
        """Drop upload sessions idle longer than this; returns how many."""

    def put_manifest(
        self,
        repository: str,
        reference: str,
        manifest: _Bytes,
        media_type: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> PushedManifest:
        """Validate and store a manifest under a tag or its digest (plus extra `tags`)."""

    def get_manifest(self, repository: str, reference: str) -> Manifest: ...
    def delete_manifest(self, repository: str, reference: str) -> None:
        """Delete a manifest by digest (with its tags), or just a tag."""

    def referrers(self, repository: str, digest: str, artifact_type: str | None = None) -> dict[str, Any]:
        """The referrers of a manifest, as an OCI image index."""

    def push_image(
        self,
        image: str,
        layers: Sequence[_Bytes | _Path] | None = None,
        config: _Config | None = None,
        *,
        config_media_type: str | None = None,
        layer_media_type: str | None = None,
        artifact_type: str | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> PushedImage:
        """Push config, layers (bytes or file paths) and a manifest as "repo:tag" (or "repo@digest")."""

    def pull_image(self, image: str) -> PulledImage: ...
    def import_layout(self, path: _Path, repository: str, tag: str | None = None) -> list[PushedManifest]:
        """Import an OCI image layout directory (all entries, or the one named `tag`)."""

    def export_layout(self, image: str, path: _Path) -> str:
        """Write an image (or index) into an OCI image layout directory; returns the manifest digest."""

@final
class Server(Registry):
    """A registry served over HTTP on loopback."""

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""

    @property
    def host(self) -> str:
        """127.0.0.1:PORT (what OCI clients call the registry host)."""

    def stop(self) -> None:
        """Stop serving and close (same as close())."""

@disjoint_base
class AsyncRegistry:
    """berth.aio.Registry: a Berth registry whose methods return awaitables."""

    @property
    def closed(self) -> bool: ...
    async def close(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def catalog(self, n: int | None = None, last: str | None = None) -> list[str]: ...
    async def list_tags(self, repository: str, n: int | None = None, last: str | None = None) -> list[str]: ...
    async def push_blob(self, repository: str, data: _Bytes) -> str: ...
    async def push_blob_file(self, repository: str, path: _Path) -> str: ...
    async def pull_blob(self, repository: str, digest: str) -> bytes: ...
    async def save_blob(self, repository: str, digest: str, path: _Path) -> int: ...
    async def stat_blob(self, repository: str, digest: str) -> int: ...
    async def delete_blob(self, repository: str, digest: str) -> None: ...
    async def mount_blob(self, repository: str, digest: str, from_repository: str | None = None) -> int | None: ...
    async def start_upload(self, repository: str) -> str: ...
    async def append_upload(self, repository: str, upload_id: str, data: _Bytes, offset: int | None = None) -> int: ...
    async def upload_status(self, repository: str, upload_id: str) -> int: ...
    async def finish_upload(
        self, repository: str, upload_id: str, digest: str, data: _Bytes | None = None, offset: int | None = None
    ) -> int: ...
    async def cancel_upload(self, repository: str, upload_id: str) -> None: ...
    async def purge_uploads(self, older_than_seconds: float) -> int: ...
    async def put_manifest(
        self,
        repository: str,
        reference: str,
        manifest: _Bytes,
        media_type: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> PushedManifest: ...
    async def get_manifest(self, repository: str, reference: str) -> Manifest: ...
    async def delete_manifest(self, repository: str, reference: str) -> None: ...
    async def referrers(self, repository: str, digest: str, artifact_type: str | None = None) -> dict[str, Any]: ...
    async def push_image(
        self,
        image: str,
        layers: Sequence[_Bytes | _Path] | None = None,
        config: _Config | None = None,
        *,
        config_media_type: str | None = None,
        layer_media_type: str | None = None,
        artifact_type: str | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> PushedImage: ...
    async def pull_image(self, image: str) -> PulledImage: ...
    async def import_layout(self, path: _Path, repository: str, tag: str | None = None) -> list[PushedManifest]: ...
    async def export_layout(self, image: str, path: _Path) -> str: ...

@final
class AsyncServer(AsyncRegistry):
    """berth.aio.Server: an asyncio registry served over HTTP on loopback."""

    @property
    def url(self) -> str: ...
    @property
    def host(self) -> str: ...
    async def stop(self) -> None: ...
