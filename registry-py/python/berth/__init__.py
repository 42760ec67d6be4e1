"""Berth, a Harbor-class container registry, embedded in Python.

Blocking API (every call releases the GIL)::

    import berth
    with berth.serve() as reg:              # throw-away registry on a free loopback port
        reg.create_project("team")          # content only enters existing projects
        reg.push_image("team/app:1.0", layers=[b"..."], config={"os": "linux"})
        assert reg.list_tags("team/app") == ["1.0"]
        print(reg.url, reg.credentials)     # http://127.0.0.1:PORT and ("admin", password)

``berth.serve()`` creates user ``admin`` and the public project ``library`` first
(``admin_password=`` or a generated one, see ``.admin_password``); HTTP clients authenticate
(anonymous callers may only pull from public projects). Engine calls act as the embedding
program itself, with every permission. Users, members, robots, projects, repositories,
artifacts, tags and labels are managed with the same methods as Harbor's ``/api/v2.0``; they
return the dicts of :mod:`berth.types`.

``berth.open(uri)`` opens a registry without HTTP: ``"memory://"``, a data directory, or
``metadata=`` + ``storage=`` URIs (``sqlite://…``/``postgres://…`` with ``file://…``/``s3://…``).
The asyncio twin is :mod:`berth.aio`. Errors are :mod:`berth.errors` classes with ``.code``.
"""

from __future__ import annotations

from . import aio, errors, types
from ._native import (
    Layer,
    Manifest,
    PulledImage,
    PushedImage,
    PushedManifest,
    Registry,
    Server,
    check_repository_name,
    generate_signing_key,
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
    PreconditionError,
    UnavailableError,
    UnsupportedError,
)

__version__ = version()

__all__ = [
    "aio",
    "errors",
    "types",
    "open",
    "serve",
    "version",
    "check_repository_name",
    "generate_signing_key",
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
    "PreconditionError",
    "UnavailableError",
    "UnsupportedError",
]
