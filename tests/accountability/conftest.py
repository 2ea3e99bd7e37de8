import pytest

from tests.distribution.conftest import World, build_world


@pytest.fixture
def world(users) -> World:
    return build_world(users)
