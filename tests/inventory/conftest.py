import pytest

from tests.builders import draft_stock_entry as draft  # noqa: F401 - used by the package's tests
from tests.builders import receive, stock_world  # noqa: F401


@pytest.fixture
def stock(db):
    """A main warehouse, a camp warehouse, two items, a kit and a grant, with no stock yet."""
    return stock_world()
