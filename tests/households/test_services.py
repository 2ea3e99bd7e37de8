import threading
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relief.households import services
from relief.households.models import AlternateCollector, Household, Member
from relief.households.selectors import household_identity
from relief.households.signals import household_merged
from tests.builders import member
from tests.builders import register_with as register


@pytest.mark.smoke
def test_register_numbers_per_site_and_derives_size_and_vulnerabilities(camps):
    first = register(head=member("Espérance", "Mukamana", "f", "1975-03-01", "head"),
                     others=[member("Aline", "Irakoze", "f", "2010-02-02")])
    second = register(site="NDU", block="B02")
    third = register()
    assert (first.number, second.number, third.number) == ("HH-NYA-000001", "HH-NDU-000001", "HH-NYA-000002")
    assert first.size == 2 and first.female_headed and not first.child_headed and not first.older_person_headed
    assert household_identity(first) == {"number": "HH-NYA-000001", "size": 2, "site": "NYA", "block": "B01",
                                         "head_initials": "E.M."}


@pytest.mark.smoke
def test_no_registration_without_consent(camps):
    for missing in ({"consent_given_by": ""}, {"consent_purposes": []}, {"consent_date": None}):
        with pytest.raises(ValidationError) as err:
            register(**missing)
        assert set(err.value.message_dict) == {next(iter(missing))}
    assert Household.objects.count() == 0


def test_the_database_refuses_a_household_without_consent(camps):
    household = register()
    with pytest.raises(IntegrityError), transaction.atomic():
        Household.objects.filter(pk=household.pk).update(consent_given_by="")


def test_bad_members_are_named_by_position_and_nothing_is_saved(camps):
    with pytest.raises(ValidationError) as err:
        register(others=[member(sex="x"), member(born="2999-01-01")])
    assert {"members.1.sex", "members.2.date_of_birth"} <= set(err.value.message_dict)
    with pytest.raises(ValidationError) as err:
        register(others=[member(relationship="head")])
    assert "members" in err.value.message_dict
    assert Household.objects.count() == 0 and Member.objects.count() == 0


def test_one_active_head_is_enforced_by_the_database(camps):
    household = register(others=[member()])
    other = household.members.get(is_head=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=other.pk).update(is_head=True, relationship="head")
    # An inactive former head does not count.
    head = household.members.get(is_head=True)
    Member.objects.filter(pk=head.pk).update(active=False)
    Member.objects.filter(pk=other.pk).update(is_head=True, relationship="head")


def test_member_changes_keep_size_and_head_flags(camps):
    household = register(head=member("Jean", "Bizimana", "m", "1950-01-01", "head"),
                         others=[member("Marie", "Bizimana", "f", "1985-01-01", "spouse")])
    assert household.older_person_headed
    child = services.member_add(user=None, household=household, fields=member("Eric", "Bizimana", "m", "2015-01-01",
                                                                             wg_walking=4))
    assert child.has_disability
    household.refresh_from_db()
    assert household.size == 3
    spouse = household.members.get(relationship="spouse")
    services.member_set_head(user=None, member=spouse, former_head_relationship="spouse")
    household.refresh_from_db()
    assert household.female_headed and not household.older_person_headed
    with pytest.raises(ValidationError):
        services.member_remove(user=None, member=household.members.get(is_head=True))
    services.member_remove(user=None, member=child)
    household.refresh_from_db()
    assert household.size == 2
    with pytest.raises(ValidationError, match="already has a head"):
        services.member_add(user=None, household=household, fields=member(relationship="head"))


def test_update_keeps_consent_and_refuses_bad_values(camps):
    household = register()
    with pytest.raises(ValidationError) as err:
        services.household_update(user=None, household=household, fields={"consent_given_by": "", "phone": "abc"})
    assert set(err.value.message_dict) == {"consent_given_by", "phone"}
    services.household_update(user=None, household=household, fields={"site": "MTE", "block": "B12"})
    household.refresh_from_db()
    assert (household.site.code, household.block.code) == ("MTE", "B12")
    assert household.number == "HH-NYA-000001"  # a number never changes


def test_merge_moves_members_collectors_and_sends_the_signal(camps):
    survivor = register(others=[member("Aline", "Niyonzima", "f", "2012-03-03")])
    merged = register(site="NDU", block="B05", others=[member("Aline", "Niyonzima", "f", "2012-03-03"),
                                                       member("Gloire", "Ndayishimiye", "m", "2020-06-06")])
    services.collector_add(user=None, household=merged, fields={"name": "Claude", "relationship": "neighbour"})
    seen = []

    def receiver(sender, survivor, merged, **kw):
        seen.append((survivor.number, merged.number, connection.in_atomic_block))

    household_merged.connect(receiver)
    try:
        services.household_merge(user=None, survivor=survivor, merged=merged)
    finally:
        household_merged.disconnect(receiver)
    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert seen == [(survivor.number, merged.number, True)]
    assert merged.status == "merged" and merged.merged_into == survivor and merged.size == 0
    assert Member.objects.filter(household=merged).count() == 0
    # Head and Aline were already there: moved, but inactive; Gloire is new. Nobody counted twice.
    assert survivor.size == 3 and survivor.members.count() == 5
    assert survivor.members.filter(is_head=True, active=True).count() == 1
    assert AlternateCollector.objects.get().household == survivor
    with pytest.raises(ValidationError):
        services.household_merge(user=None, survivor=survivor, merged=merged)
    with pytest.raises(ValidationError):
        services.household_update(user=None, household=merged, fields={"phone": "0754000000"})


def test_a_failing_receiver_rolls_the_merge_back(camps):
    survivor, merged = register(), register()

    def refuse(**kw):
        raise RuntimeError("shelter could not move the allocation")

    household_merged.connect(refuse)
    try:
        with pytest.raises(RuntimeError):
            services.household_merge(user=None, survivor=survivor, merged=merged)
    finally:
        household_merged.disconnect(refuse)
    merged.refresh_from_db()
    assert merged.status == "active" and merged.members.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_member_adds_and_head_changes_keep_the_counts(camps):
    household = register(others=[member(f"Child{i}", "Ndayishimiye", born="2010-01-01") for i in range(4)])
    candidates = list(household.members.filter(is_head=False))
    errors = []
    barrier = threading.Barrier(8)

    def add(n):
        try:
            barrier.wait()
            services.member_add(user=None, household=household, fields=member(f"New{n}", "Ndayishimiye"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def make_head(m):
        try:
            barrier.wait()
            services.member_set_head(user=None, member=m, former_head_relationship="relative")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=make_head, args=(m,)) for m in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    household.refresh_from_db()
    assert household.size == 9 == household.members.filter(active=True).count()
    assert household.members.filter(is_head=True, active=True).count() == 1


members_strategy = st.lists(
    st.tuples(st.sampled_from(["f", "m"]), st.integers(0, 90), st.booleans()), min_size=0, max_size=8)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(others=members_strategy, head_age=st.integers(10, 95), head_sex=st.sampled_from(["f", "m"]),
       actions=st.lists(st.tuples(st.sampled_from(["remove", "head", "add"]), st.integers(0, 20)), max_size=6))
def test_size_and_flags_always_follow_the_active_members(camps, others, head_age, head_sex, actions):
    today = date.today()  # noqa: DTZ011
    born = lambda age: date(today.year - age - 1, 6, 15).isoformat()  # noqa: E731
    household = register(head=member("H", "Head", head_sex, born(head_age), "head"), registered_on=today,
                         others=[member(f"M{i}", "X", sex, born(age)) for i, (sex, age, _x) in enumerate(others)])
    for action, pick in actions:
        active = list(household.members.filter(active=True).order_by("pk"))
        target = active[pick % len(active)]
        try:
            if action == "remove":
                services.member_remove(user=None, member=target)
            elif action == "head":
                services.member_set_head(user=None, member=target, former_head_relationship="relative")
            else:
                services.member_add(user=None, household=household, fields=member(f"A{pick}", "X", born=born(pick)))
        except ValidationError:
            pass
    household.refresh_from_db()
    active = list(household.members.filter(active=True))
    heads = [m for m in active if m.is_head]
    assert household.size == len(active) and len(heads) == 1
    head_age_now = heads[0].age_on(today)
    assert household.child_headed == (head_age_now < 18)
    assert household.older_person_headed == (head_age_now >= 60)
    assert household.female_headed == (heads[0].sex == "f")
