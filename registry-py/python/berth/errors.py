"""Exceptions raised by berth.

Every error is a :class:`BerthError` carrying ``.code``, the engine's machine-readable code
(the OCI distribution codes such as ``MANIFEST_UNKNOWN``, or management codes such as
``NOT_FOUND``, ``CONFLICT``, ``PRECONDITION``, ``BAD_REQUEST``, ``CLOSED``). Each class also subclasses the
built-in exception a Python caller would naturally catch: ``LookupError`` for unknown things,
``ValueError`` for invalid input, ``PermissionError`` for denied access, and so on.
"""

from __future__ import annotations

__all__ = [
    "BerthError",
    "NotFoundError",
    "InvalidError",
    "InvalidTypeError",
    "PermissionDeniedError",
    "ConflictError",
    "PreconditionError",
    "UnsupportedError",
    "UnavailableError",
    "ClosedError",
    "InternalError",
]


class BerthError(Exception):
    """Base class of every berth error; ``code`` is the engine's error code."""

    code: str = "UNKNOWN"

    def __str__(self) -> str:
        return f"{self.code}: {super().__str__()}"


class NotFoundError(BerthError, LookupError):
    """A blob, manifest, repository, upload or other named thing does not exist (``*_UNKNOWN``, ``NOT_FOUND``)."""


class InvalidError(BerthError, ValueError):
    """The input is invalid (``*_INVALID``, ``BAD_REQUEST``): a bad name, tag, digest, manifest, range."""


class InvalidTypeError(BerthError, TypeError):
    """An argument has the wrong Python type (``code == "BAD_REQUEST"``)."""


class PermissionDeniedError(BerthError, PermissionError):
    """Access is denied (``DENIED``) or needs authentication (``UNAUTHORIZED``)."""


class ConflictError(BerthError):
    """The request conflicts with the current state, or the thing exists already (``CONFLICT``)."""


class PreconditionError(BerthError):
    """The current state does not allow the operation (``PRECONDITION``): deleting a project that
    still has repositories, removing your own admin flag, changing an external user's password; also
    a project policy refusing a pull (``PROJECTPOLICYVIOLATION``: the image is not signed)."""


class UnsupportedError(BerthError, NotImplementedError):
    """The operation is not supported here (``UNSUPPORTED``)."""


class UnavailableError(BerthError, ConnectionError):
    """A dependency is unavailable or the registry is overloaded (``UNAVAILABLE``, ``TOOMANYREQUESTS``)."""


class ClosedError(BerthError, RuntimeError):
    """The registry was closed, or opened by the parent of a forked process (``CLOSED``)."""


class InternalError(BerthError):
    """A failure the caller cannot fix (``UNKNOWN``); the message says what broke."""


_CLASS_BY_CODE: dict[str, type[BerthError]] = {
    "BLOB_UNKNOWN": NotFoundError,
    "BLOB_UPLOAD_UNKNOWN": NotFoundError,
    "MANIFEST_UNKNOWN": NotFoundError,
    "MANIFEST_BLOB_UNKNOWN": NotFoundError,
    "NAME_UNKNOWN": NotFoundError,
    "NOT_FOUND": NotFoundError,
    "BLOB_UPLOAD_INVALID": InvalidError,
    "DIGEST_INVALID": InvalidError,
    "MANIFEST_INVALID": InvalidError,
    "NAME_INVALID": InvalidError,
    "SIZE_INVALID": InvalidError,
    "RANGE_INVALID": InvalidError,
    "TAG_INVALID": InvalidError,
    "PAGINATION_NUMBER_INVALID": InvalidError,
    "BAD_REQUEST": InvalidError,
    "DENIED": PermissionDeniedError,
    "UNAUTHORIZED": PermissionDeniedError,
    "CONFLICT": ConflictError,
    "PRECONDITION": PreconditionError,
    "PROJECTPOLICYVIOLATION": PreconditionError,
    "UNSUPPORTED": UnsupportedError,
    "UNAVAILABLE": UnavailableError,
    "TOOMANYREQUESTS": UnavailableError,
    "CLOSED": ClosedError,
}


def _make(cls: type[BerthError], code: str, message: str) -> BerthError:
    # One positional argument only: OSError subclasses read two as (errno, strerror).
    err = cls(message)
    err.code = code
    return err


def _from_code(code: str, message: str) -> BerthError:
    """Called by the native module: the exception for an engine error."""
    return _make(_CLASS_BY_CODE.get(code, InternalError), code, message)


def _type_error(code: str, message: str) -> BerthError:
    """Called by the native module: an argument of the wrong type."""
    return _make(InvalidTypeError, code, message)
