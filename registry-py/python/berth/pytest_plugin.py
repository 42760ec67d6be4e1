"""pytest plugin (registered through the ``pytest11`` entry point): the ``berth_registry`` fixture.

::

    def test_push(berth_registry):
        berth_registry.push_image("library/app:1.0", layers=[b"x"])
        assert berth_registry.list_tags("library/app") == ["1.0"]
        # berth_registry.url / .host for HTTP clients, .credentials to authenticate them
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import berth


@pytest.fixture
def berth_registry() -> Iterator[berth.Server]:
    """A registry served on a free loopback port with a throw-away data directory, per test.

    It has been bootstrapped: user ``admin`` (a system administrator) and the public project
    ``library`` exist. Content only enters existing projects, so tests either push into
    ``library/…`` or create their own project first (``berth_registry.create_project("team")``).

    Engine calls (``berth_registry.push_image(...)``, ``create_user``, …) need no credentials.
    HTTP clients do, except to pull from a public project: send ``berth_registry.credentials``
    (``("admin", <generated password>)``), e.g. ``requests.get(url, auth=berth_registry.credentials)``
    or, with oras, ``client.auth.set_basic_auth(*berth_registry.credentials)`` (oras then follows
    Berth's Bearer challenge to ``/service/token``). To test access rules, create a user or robot
    and add it to a project (``add_member``, ``create_robot``), then authenticate as that.
    """
    with berth.serve() as reg:
        yield reg
