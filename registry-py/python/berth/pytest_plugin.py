"""pytest plugin (registered through the ``pytest11`` entry point): the ``berth_registry`` fixture.

::

    def test_push(berth_registry):
        berth_registry.push_image("team/app:1.0", layers=[b"x"])
        assert berth_registry.list_tags("team/app") == ["1.0"]
        # berth_registry.url / .host for HTTP clients (oras, requests, skopeo …)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import berth


@pytest.fixture
def berth_registry() -> Iterator[berth.Server]:
    """A registry served on a free loopback port with a throw-away data directory, per test."""
    with berth.serve() as reg:
        yield reg
