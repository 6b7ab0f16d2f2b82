"""The ``upstream`` fixture: every compatibility test runs once per upstream kind."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.compat.upstreams import UPSTREAM_KINDS, Upstream, start_upstream


@pytest.fixture(scope="module", params=UPSTREAM_KINDS)
def running_upstream(request: pytest.FixtureRequest) -> Iterator[Upstream]:
    """One fake and its Trooper per kind, shared by a suite module's tests."""
    yield from start_upstream(request.param)


@pytest.fixture
def upstream(running_upstream: Upstream) -> Upstream:
    """The shared upstream with nothing recorded and nothing scripted."""
    running_upstream.fake.reset()
    return running_upstream
