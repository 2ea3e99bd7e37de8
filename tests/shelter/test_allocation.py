import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from relief.households import services as household_services
from relief.shelter import services
from relief.shelter.models import Allocation, EndReason, LandUse, Plot, PlotStatus, WaitingEntry, WaitingStatus
from tests.shelter.conftest import make_household, make_plot


@pytest.mark.smoke
@pytest.mark.django_db
def test_allocate_then_end_frees_the_plot(users, camps):
    registrar = users["registrar"]
    household = make_household(registrar, size=4)
    plot = make_plot(camps["NYA"], covered="16.0")
    entry = services.waiting_add(user=registrar, household=household)
    allocation = services.plot_allocate(user=registrar, plot=plot, household=household)
    plot.refresh_from_db()
    entry.refresh_from_db()
    assert allocation.number.startswith("ALC-")
    assert plot.status == PlotStatus.ALLOCATED
    assert entry.status == WaitingStatus.ALLOCATED and entry.allocation == allocation
    services.allocation_end(user=registrar, allocation=allocation, reason=EndReason.DEPARTED)
    plot.refresh_from_db()
    allocation.refresh_from_db()
    assert plot.status == PlotStatus.VACANT
    assert allocation.ended_at is not None and allocation.end_reason == EndReason.DEPARTED
    assert Allocation.objects.count() == 1  # history is kept


@pytest.mark.django_db
@pytest.mark.parametrize(("plot_kwargs", "field", "words"), [
    ({"land_use": LandUse.FIREBREAK}, "plot", "reserved land"),
    ({"status": PlotStatus.UNUSABLE}, "plot", "unusable"),
    ({"covered": "10.0"}, "plot", "Sphere minimum is 14.0"),
])
def test_refusals_name_the_field_and_change_nothing(users, camps, plot_kwargs, field, words):
    registrar = users["registrar"]
    household = make_household(registrar, size=4)
    plot = make_plot(camps["NYA"], **plot_kwargs)
    with pytest.raises(ValidationError) as refused:
        services.plot_allocate(user=registrar, plot=plot, household=household)
    assert words in " ".join(refused.value.message_dict[field])
    assert not Allocation.objects.exists()
    assert Plot.objects.get(pk=plot.pk).status == plot.status


@pytest.mark.django_db
def test_a_plot_is_never_given_twice_and_a_household_never_housed_twice(users, camps):
    registrar = users["registrar"]
    first, second = make_household(registrar), make_household(registrar)
    plot, other = make_plot(camps["NYA"]), make_plot(camps["NYA"])
    services.plot_allocate(user=registrar, plot=plot, household=first)
    with pytest.raises(ValidationError, match="already allocated"):
        services.plot_allocate(user=registrar, plot=plot, household=second)
    with pytest.raises(ValidationError, match="relocate it instead"):
        services.plot_allocate(user=registrar, plot=other, household=first)


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_allocation_whatever_writes_it(users, camps):
    registrar = users["registrar"]
    first, second = make_household(registrar), make_household(registrar)
    plot, other = make_plot(camps["NYA"]), make_plot(camps["NYA"])
    services.plot_allocate(user=registrar, plot=plot, household=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        Allocation.objects.create(number="X-1", plot=plot, household=second)
    with pytest.raises(IntegrityError), transaction.atomic():
        Allocation.objects.create(number="X-2", plot=other, household=first)


@pytest.mark.django_db
def test_inactive_household_and_other_site_are_refused(users, camps):
    registrar = users["registrar"]
    household = make_household(registrar)
    with pytest.raises(ValidationError, match="not in the household's site"):
        services.plot_allocate(user=registrar, plot=make_plot(camps["NDU"]), household=household)
    household_services.household_set_status(user=registrar, household=household, status="departed")
    with pytest.raises(ValidationError, match="not active"):
        services.plot_allocate(user=registrar, plot=make_plot(camps["NYA"]), household=household)


@pytest.mark.django_db
def test_sphere_and_access_overrides_need_an_administrator_and_a_reason(users, camps):
    registrar, admin = users["registrar"], users["admin"]
    household = make_household(registrar, size=6, disability=True)
    plot = make_plot(camps["NYA"], covered="16.0", accessible=False)
    with pytest.raises(ValidationError) as refused:
        services.plot_allocate(user=admin, plot=plot, household=household)
    messages = " ".join(refused.value.message_dict["plot"])
    assert "21.0" in messages and "not accessible" in messages and "may override" in messages
    with pytest.raises(PermissionDenied, match="Only an Administrator"):
        services.plot_allocate(user=registrar, plot=plot, household=household, override_reason="family asked")
    assert not Allocation.objects.exists()
    allocation = services.plot_allocate(user=admin, plot=plot, household=household,
                                        override_reason="only plot near the clinic; extension planned")
    assert sorted(allocation.overrides) == ["access", "sphere"]
    assert allocation.override_reason.startswith("only plot near the clinic")


@pytest.mark.django_db
def test_relocation_ends_one_and_starts_the_other_together(users, camps):
    registrar = users["registrar"]
    household = make_household(registrar, size=3)
    old, new = make_plot(camps["NYA"]), make_plot(camps["NYA"], block="B02")
    first = services.plot_allocate(user=registrar, plot=old, household=household)
    moved = services.household_relocate(user=registrar, household=household, plot=new, note="flooding")
    first.refresh_from_db()
    old.refresh_from_db()
    new.refresh_from_db()
    assert first.end_reason == EndReason.RELOCATED and moved.previous == first
    assert (old.status, new.status) == (PlotStatus.VACANT, PlotStatus.ALLOCATED)
    household.refresh_from_db()
    assert household.block.code == "B02"  # the registry follows the plot


@pytest.mark.django_db
def test_failed_relocation_leaves_the_household_where_it_was(users, camps):
    registrar = users["registrar"]
    household, neighbour = make_household(registrar), make_household(registrar)
    old, taken = make_plot(camps["NYA"]), make_plot(camps["NYA"])
    first = services.plot_allocate(user=registrar, plot=old, household=household)
    services.plot_allocate(user=registrar, plot=taken, household=neighbour)
    with pytest.raises(ValidationError, match="already allocated"):
        services.household_relocate(user=registrar, household=household, plot=taken)
    first.refresh_from_db()
    old.refresh_from_db()
    assert first.ended_at is None and old.status == PlotStatus.ALLOCATED
    assert Allocation.objects.filter(ended_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_waiting_list_refusals(users, camps):
    registrar = users["registrar"]
    household = make_household(registrar)
    services.waiting_add(user=registrar, household=household)
    with pytest.raises(ValidationError, match="already on the waiting list"):
        services.waiting_add(user=registrar, household=household)
    with pytest.raises(ValidationError) as refused:
        services.waiting_add(user=registrar, household=household, reason="relocation")
    assert "no plot yet" in refused.value.message_dict["reason"][0]
    assert WaitingEntry.objects.count() == 1


@pytest.mark.django_db
def test_merge_moves_the_plot_to_a_survivor_without_one(users, camps):
    registrar = users["registrar"]
    survivor, merged = make_household(registrar), make_household(registrar)
    plot = make_plot(camps["NYA"])
    services.waiting_add(user=registrar, household=survivor)
    services.plot_allocate(user=registrar, plot=plot, household=merged)
    household_services.household_merge(user=registrar, survivor=survivor, merged=merged)
    active = Allocation.objects.get(ended_at__isnull=True)
    assert active.household_id == survivor.pk and active.plot_id == plot.pk
    assert Allocation.objects.get(household=merged).end_reason == EndReason.MERGED
    assert Plot.objects.get(pk=plot.pk).status == PlotStatus.ALLOCATED
