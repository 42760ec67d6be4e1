"""Berth, a Harbor-class container registry, embedded in Python.

Blocking API (every call releases the GIL)::

    import berth
    with berth.serve() as reg:              # throw-away registry on a free loopback port
        reg.push_image("team/app:1.0", layers=[b"..."], config={"os": "linux"})
        assert reg.list_tags("team/app") == ["1.0"]
        print(reg.url)                      # http://127.0.0.1:PORT for any OCI client

``berth.open(uri)`` opens a registry without HTTP: ``"memory://"``, a data directory, or
``metadata=`` + ``storage=`` URIs (``sqlite://…``/``postgres://…`` with ``file://…``/``s3://…``).
The asyncio twin is :mod:`berth.aio`. Errors are :mod:`berth.errors` classes with ``.code``.
"""

from __future__ import annotations

from . import aio, errors
from ._native import (
    Layer,
    Manifest,
    PulledImage,
    PushedImage,
    PushedManifest,
    Registry,
    Server,
    check_repository_name,
    open,
    serve,
    version,
)
from .errors import (
    BerthError,
    ClosedError,
    ConflictError,
    InternalError,
    InvalidError,
    InvalidTypeError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
    UnsupportedError,
)

__version__ = version()

__all__ = [
    "aio",
    "errors",
    "open",
    "serve",
    "version",
    "check_repository_name",
    "Registry",
    "Server",
    "Manifest",
    "PushedManifest",
    "PushedImage",
    "PulledImage",
    "Layer",
    "BerthError",
    "ClosedError",
    "ConflictError",
    "InternalError",
    "InvalidError",
    "InvalidTypeError",
    "NotFoundError",
    "PermissionDeniedError",
    "UnavailableError",
    "UnsupportedError",
]
