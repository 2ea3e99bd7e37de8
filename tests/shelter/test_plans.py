import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from relief.core.documents import DocStatus, DocumentError
from relief.shelter import services
from relief.shelter.models import Allocation, AllocationPlan, Plot, PlotStatus, WaitingEntry, WaitingStatus
from tests.shelter.conftest import make_household, make_plot


def _waiting(user, n, **kw):
    households = [make_household(user, **kw) for _ in range(n)]
    for household in households:
        services.waiting_add(user=user, household=household)
    return households


@pytest.mark.smoke
@pytest.mark.django_db
def test_plan_is_a_draft_until_submitted_then_allocates_every_line(users, camps):
    registrar = users["registrar"]
    households = _waiting(registrar, 3, size=4)
    for _ in range(4):
        make_plot(camps["NYA"], covered="16.0")
    plan = services.plan_create(user=registrar, site=camps["NYA"])
    assert plan.status == DocStatus.DRAFT and plan.lines.filter(plot__isnull=False).count() == 3
    assert not Allocation.objects.exists()
    services.plan_submit(user=registrar, plan=plan)
    assert Allocation.objects.filter(ended_at__isnull=True, plan=plan).count() == 3
    assert set(Allocation.objects.values_list("household_id", flat=True)) == {h.pk for h in households}
    assert not WaitingEntry.objects.filter(status=WaitingStatus.WAITING).exists()
    assert Plot.objects.filter(status=PlotStatus.ALLOCATED).count() == 3


@pytest.mark.django_db
def test_submitted_plan_whose_plot_was_taken_meanwhile_allocates_nothing(users, camps):
    registrar = users["registrar"]
    _waiting(registrar, 3, size=2)
    for _ in range(3):
        make_plot(camps["NYA"], covered="16.0")
    plan = services.plan_create(user=registrar, site=camps["NYA"])
    line = plan.lines.order_by("line_no")[1]
    intruder = make_household(registrar, size=2)
    services.plot_allocate(user=registrar, plot=line.plot, household=intruder)
    with pytest.raises(DocumentError) as refused:
        services.plan_submit(user=registrar, plan=plan)
    assert f"line {line.line_no}" in str(refused.value) and line.plot.code in str(refused.value)
    assert "nothing was allocated" in str(refused.value)
    assert Allocation.objects.count() == 1  # only the intruder's
    assert WaitingEntry.objects.filter(status=WaitingStatus.WAITING).count() == 3
    assert AllocationPlan.objects.get(pk=plan.pk).status == DocStatus.DRAFT


@pytest.mark.django_db
def test_officer_edits_a_line_within_the_hard_rules(users, camps):
    registrar = users["registrar"]
    _waiting(registrar, 1, size=5)
    make_plot(camps["NYA"], covered="21.0")
    small = make_plot(camps["NYA"], covered="10.0")
    spare = make_plot(camps["NYA"], covered="24.0", block="B02")
    plan = services.plan_create(user=registrar, site=camps["NYA"])
    line = plan.lines.get()
    with pytest.raises(ValidationError) as refused:
        services.plan_line_set_plot(user=registrar, line=line, plot=small)
    assert "Sphere minimum" in refused.value.message_dict["plot"][0]
    services.plan_line_set_plot(user=registrar, line=line, plot=spare)
    services.plan_submit(user=registrar, plan=plan)
    assert Allocation.objects.get().plot == spare


@pytest.mark.django_db
def test_relocation_request_is_planned_and_moves_the_household(users, camps):
    registrar = users["registrar"]
    household = make_household(registrar, size=6)
    cramped = make_plot(camps["NYA"], covered="16.0")
    services.plot_allocate(user=users["admin"], plot=cramped, household=household, override_reason="temporary")
    services.waiting_add(user=registrar, household=household, reason="overcrowded")
    roomy = make_plot(camps["NYA"], covered="24.0")
    plan = services.plan_create(user=registrar, site=camps["NYA"])
    assert plan.lines.get().plot == roomy
    services.plan_submit(user=registrar, plan=plan)
    current = Allocation.objects.get(ended_at__isnull=True)
    assert current.plot == roomy and current.previous.plot == cramped
    assert Plot.objects.get(pk=cramped.pk).status == PlotStatus.VACANT


@pytest.mark.django_db
def test_bad_weights_are_named(users, camps):
    with pytest.raises(ValidationError) as refused:
        services.weights_from({"safety": "lots", "height": 3, "fit": 500})
    assert set(refused.value.message_dict) == {"weights.safety", "weights.height", "weights.fit"}


@pytest.mark.django_db(transaction=True)
def test_two_officers_allocating_the_same_plot_at_once_exactly_one_succeeds(users, camps):
    registrar, admin = users["registrar"], users["admin"]
    households = [make_household(registrar) for _ in range(6)]
    plot = make_plot(camps["NYA"])
    barrier = threading.Barrier(len(households))
    won, refused, errors = [], [], []

    def officer(household, user):
        try:
            barrier.wait()
            won.append(services.plot_allocate(user=user, plot=plot, household=household).number)
        except ValidationError as exc:
            refused.append(" ".join(exc.messages))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=officer, args=(h, registrar if i % 2 else admin))
               for i, h in enumerate(households)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(won) == 1 and len(refused) == len(households) - 1
    assert all("already allocated" in r or "same moment" in r for r in refused)
    assert Allocation.objects.filter(plot=plot, ended_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_plan_submit_racing_a_desk_allocation_never_double_allocates(users, camps):
    registrar = users["registrar"]
    _waiting(registrar, 4, size=2)
    plots = [make_plot(camps["NYA"], covered="16.0") for _ in range(4)]
    plan = services.plan_create(user=registrar, site=camps["NYA"])
    intruder = make_household(registrar, size=2)
    barrier = threading.Barrier(2)
    outcome = {}

    def submit():
        try:
            barrier.wait()
            services.plan_submit(user=registrar, plan=plan)
            outcome["plan"] = "ok"
        except DocumentError as exc:
            outcome["plan"] = str(exc)
        finally:
            connection.close()

    def desk():
        try:
            barrier.wait()
            services.plot_allocate(user=registrar, plot=plots[2], household=intruder)
            outcome["desk"] = "ok"
        except ValidationError as exc:
            outcome["desk"] = " ".join(exc.messages)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit), threading.Thread(target=desk)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (outcome["plan"] == "ok") != (outcome["desk"] == "ok"), outcome
    active = Allocation.objects.filter(ended_at__isnull=True)
    assert active.count() == (4 if outcome["plan"] == "ok" else 1)
    assert active.values("plot").distinct().count() == active.count()
