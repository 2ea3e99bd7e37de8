"""The planner on plain arrays: hard rules always, soft rules where they should decide."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relief.shelter.planner import Households, Plots, Weights, plan


def households(size, needs_access=None, female_headed=None, village=None, priority=None) -> Households:
    n = len(size)
    return Households(
        size=np.array(size, dtype=np.int64),
        needs_access=np.array(needs_access or [False] * n, dtype=bool),
        female_headed=np.array(female_headed or [False] * n, dtype=bool),
        village=np.array(village or [-1] * n, dtype=np.int64),
        priority=np.array(priority or [0] * n, dtype=np.float64),
    )


def plots(covered, block=None, accessible=None, lighting=None, latrine=None, allocatable=None) -> Plots:
    m = len(covered)
    return Plots(
        block=np.array(block or [0] * m, dtype=np.int64),
        covered=np.array(covered, dtype=np.float64),
        accessible=np.array(accessible or [False] * m, dtype=bool),
        near_lighting=np.array(lighting or [False] * m, dtype=bool),
        near_latrine=np.array(latrine or [False] * m, dtype=bool),
        allocatable=np.array(allocatable or [True] * m, dtype=bool),
    )


@st.composite
def sites(draw):
    n = draw(st.integers(0, 40))
    m = draw(st.integers(0, 40))
    blocks = draw(st.integers(1, 5))
    villages = draw(st.integers(1, 6))
    h = Households(
        size=np.array(draw(st.lists(st.integers(1, 12), min_size=n, max_size=n)), dtype=np.int64),
        needs_access=np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool),
        female_headed=np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool),
        village=np.array(draw(st.lists(st.integers(-1, villages - 1), min_size=n, max_size=n)), dtype=np.int64),
        priority=np.array(draw(st.lists(st.integers(0, 15), min_size=n, max_size=n)), dtype=np.float64),
    )
    p = Plots(
        block=np.array(draw(st.lists(st.integers(0, blocks - 1), min_size=m, max_size=m)), dtype=np.int64),
        covered=np.array(draw(st.lists(st.sampled_from([0.0, 7.0, 14.0, 16.0, 21.0, 24.5, 42.0]), min_size=m,
                                       max_size=m)), dtype=np.float64),
        accessible=np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool),
        near_lighting=np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool),
        near_latrine=np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool),
        allocatable=np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool),
    )
    present = np.array(draw(st.lists(st.integers(0, 3), min_size=villages * blocks, max_size=villages * blocks)),
                       dtype=np.int64).reshape(villages, blocks)
    return h, p, present, draw(st.integers(1, 8))


@pytest.mark.smoke
@settings(max_examples=50, deadline=None)
@given(sites())
def test_every_hard_rule_holds_on_random_sites(site):
    h, p, present, chunk = site
    result = plan(h, p, present=present, chunk=chunk)
    placed = np.flatnonzero(result.plot >= 0)
    chosen = result.plot[placed]
    assert len(set(chosen.tolist())) == len(chosen), "a plot given twice"
    assert p.allocatable[chosen].all(), "reserved, unusable or taken land given"
    assert (p.covered[chosen] >= 3.5 * h.size[placed]).all(), "below 3.5 m² per person"
    assert (p.accessible[chosen] | ~h.needs_access[placed]).all(), "disability without an accessible plot"
    # Nobody is left out while a plot that fits them stays free.
    free = np.setdiff1d(np.flatnonzero(p.allocatable), chosen)
    for i in np.flatnonzero(result.plot < 0):
        fits = (p.covered[free] >= 3.5 * h.size[i]) & (p.accessible[free] | ~h.needs_access[i])
        assert not fits.any(), f"household {i} left waiting beside a free plot that fits it"


@pytest.mark.smoke
def test_female_headed_household_gets_the_plot_near_lighting_and_latrines():
    result = plan(households([4, 4], female_headed=[False, True]),
                  plots([21.0, 21.0], lighting=[False, True], latrine=[False, True]))
    assert result.plot.tolist() == [0, 1]
    assert result.components["safety"][1] == Weights().safety


@pytest.mark.smoke
def test_household_joins_its_village_block():
    present = np.array([[0, 5], [4, 0]])
    result = plan(households([4, 4], village=[0, 1]), plots([21.0, 21.0], block=[0, 1]), present=present)
    assert result.plot.tolist() == [1, 0]
    assert (result.components["village"] > 0).all()


@pytest.mark.smoke
def test_new_village_arrives_together():
    result = plan(households([3, 3, 3, 3], village=[7, 7, 7, 7]), plots([14.0] * 8, block=[0, 1] * 4))
    assert len({int(b) for b in np.array([0, 1] * 4)[result.plot]}) == 1


@pytest.mark.smoke
def test_most_vulnerable_first_when_plots_are_scarce():
    result = plan(households([4, 4, 4], priority=[1, 9, 3]), plots([21.0]))
    assert result.plot.tolist() == [-1, 0, -1]


@pytest.mark.smoke
def test_first_come_first_served_within_equal_priority():
    result = plan(households([4, 4], priority=[2, 2]), plots([21.0]))
    assert result.plot.tolist() == [0, -1]


@pytest.mark.smoke
def test_large_shelter_kept_for_the_large_family():
    result = plan(households([2, 8]), plots([42.0, 10.0]))
    assert result.plot.tolist() == [1, 0]


@pytest.mark.smoke
def test_disability_goes_to_the_accessible_plot_near_latrines():
    result = plan(households([3, 3], needs_access=[True, False]),
                  plots([14.0, 14.0, 14.0], accessible=[False, True, True], latrine=[False, False, True]))
    assert result.plot[0] == 2


@pytest.mark.smoke
def test_weights_change_the_choice():
    # Two people: a large lit shelter near latrines, or a small dark one that fits them exactly.
    h = households([2], female_headed=[True])
    p = plots([28.0, 7.0], lighting=[True, False], latrine=[True, False])
    assert plan(h, p, weights=Weights(safety=4, fit=2)).plot.tolist() == [0]
    assert plan(h, p, weights=Weights(safety=1, fit=2)).plot.tolist() == [1]
