"""pytest fixtures shared by the Python end-to-end tests (see berthlib.py for the environment)."""

from __future__ import annotations

import pytest

import berthlib


@pytest.fixture(scope="module")
def berth(tmp_path_factory):
    """The server under test: the one at BERTH_URL, else a fresh `berth serve` for this module."""
    external = berthlib.external_berth()
    if external:
        yield external
        return
    server = berthlib.start_berth(tmp_path_factory.mktemp("berth"))
    yield server
    berthlib.finish(server)


@pytest.fixture(scope="module")
def admin(berth) -> berthlib.Api:
    return berth.api()
