"""A small distribution world: two camps, their distribution points with stock, households with cards,
a submitted cycle and an open event at Nyarugusu (built by tests.builders)."""

from __future__ import annotations

import pytest

from tests.builders import HEAD  # noqa: F401 - used by the package's tests
from tests.builders import DistributionWorld as World
from tests.builders import build_distribution_world as build_world
from tests.builders import receive_for_grant as receive  # noqa: F401
from tests.builders import register_household as register  # noqa: F401


@pytest.fixture
def world(users) -> World:
    return build_world(users)
