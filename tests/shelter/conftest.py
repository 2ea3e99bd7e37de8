import pytest

from relief.core.demo import demo_blocks, demo_sites
from tests.builders import make_household, make_plot  # noqa: F401 - used by the package's tests


@pytest.fixture
def camps(db):
    sites = demo_sites()
    demo_blocks(sites)
    return {s.code: s for s in sites}


@pytest.fixture
def registrar(users):
    return users["registrar"]
