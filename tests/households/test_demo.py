import io
import time

import pytest

from relief.core.demo import demo_blocks, demo_sites
from relief.households import demo
from relief.households.models import DuplicateCandidate, Household, Member


@pytest.mark.smoke
@pytest.mark.django_db
def test_demo_households_look_like_the_camps():
    demo_blocks(demo_sites())
    started = time.perf_counter()
    out = io.StringIO()
    demo.load(households=300, stdout=out)
    elapsed = time.perf_counter() - started
    assert Household.objects.count() == 300
    sizes = list(Household.objects.values_list("size", flat=True))
    assert min(sizes) >= 1 and max(sizes) <= 12 and 3.8 <= sum(sizes) / len(sizes) <= 5.2
    assert set(Household.objects.values_list("site__code", flat=True)) == {"NYA", "NDU", "MTE"}
    assert Member.objects.filter(is_head=True, active=True).count() == 300
    assert DuplicateCandidate.objects.count() >= 3
    assert "possible duplicates" in out.getvalue()
    assert elapsed < 30
    # Loading again updates from the same export: nothing registered twice.
    demo.load(households=300, stdout=io.StringIO())
    assert Household.objects.count() == 300
