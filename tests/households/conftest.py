import pytest

from relief.core.demo import demo_blocks, demo_sites


@pytest.fixture
def camps(db):
    """The three demo camps with blocks B01..B12."""
    sites = demo_sites()
    demo_blocks(sites)
    return {s.code: s for s in sites}
