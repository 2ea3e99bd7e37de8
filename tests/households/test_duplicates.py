import pytest

from relief.households import demo, duplicates, services
from relief.households.importer import Mapping, files_dir, run_import
from relief.households.models import DuplicateCandidate, Household
from tests.builders import member
from tests.builders import register_with as register


def family(given, family_name, born, *, children, site="NYA", phone="", **kw):
    return register(site=site, phone=phone, head=member(given, family_name, "m", born, "head"),
                    others=[member(name, family_name, "f" if i % 2 else "m", f"{2010 + i}-03-0{i + 1}")
                            for i, name in enumerate(children)], **kw)


@pytest.mark.smoke
def test_planted_duplicates_found_and_namesakes_left_alone(camps):
    original = family("Jean-Claude", "Ndayishimiye", "1981-04-12", children=["Aline", "Eric", "Divine"])
    # Registered again in another camp: a typo in the name, names written family-first, no phone.
    again = family("Ndayishimye", "Jean-Claude", "1981-04-12", children=["Aline", "Erick", "Divine"], site="NDU")
    # Same common name, another man: born years apart, other children.
    namesake = family("Jean-Claude", "Ndayishimiye", "1962-09-30", children=["Pacifique", "Nadège"])
    # Same name and birth year, other family: still not the same household.
    twin_name = family("Jean-Claude", "Ndayishimiye", "1981-11-02", children=["Keza", "Arcade", "Bella", "Joy"])
    result = duplicates.scan()
    pairs = {(c.household_a_id, c.household_b_id): c for c in DuplicateCandidate.objects.all()}
    key = tuple(sorted([original.pk, again.pk]))
    assert key in pairs and pairs[key].reasons["across_sites"] == 1.0
    for other in (namesake, twin_name):
        for first in (original, again):
            assert tuple(sorted([first.pk, other.pk])) not in pairs
    assert result["pairs_compared"] < 6  # blocks, not all pairs... and all four share a name block


def test_shared_phone_or_unhcr_id_brings_pairs_together(camps):
    a = family("Amani", "Bahati", "1990-01-01", children=["Neema"], phone="+255754000111")
    b = family("Amani", "Bahati", "1990-01-01", children=["Neema"], phone="+255754000111", unhcr_group_id="945-X1")
    c = family("Furaha", "Mwamba", "1970-01-01", children=[], unhcr_group_id="945-X1")
    duplicates.scan()
    found = set(DuplicateCandidate.objects.values_list("household_a_id", "household_b_id"))
    assert tuple(sorted([a.pk, b.pk])) in found
    assert tuple(sorted([b.pk, c.pk])) in found  # one UNHCR group registered twice


def test_distinct_is_never_proposed_again_and_merge_closes_the_pair(camps, users):
    a = family("Pierre", "Nkurunziza", "1975-05-05", children=["Ange", "Keza"])
    b = family("Piere", "Nkurunziza", "1975-05-05", children=["Ange", "Keza"])
    c = family("Pierre", "Nkurunziza", "1975-05-05", children=["Ange", "Keza"], site="MTE")
    duplicates.scan()
    ab = DuplicateCandidate.objects.get(household_a=a, household_b=b)
    services.duplicate_mark_distinct(user=users["registrar"], candidate=ab)
    assert duplicates.scan()["candidates_new"] == 0
    assert DuplicateCandidate.objects.get(pk=ab.pk).status == "distinct"
    ac = DuplicateCandidate.objects.get(household_a=a, household_b=c)
    services.duplicate_merge(user=users["registrar"], candidate=ac, survivor_id=a.pk)
    ac.refresh_from_db()
    assert ac.status == "merged" and ac.decided_by == users["registrar"]
    assert Household.objects.get(pk=c.pk).merged_into_id == a.pk
    # A merged household is no longer compared, and pairs with it leave the review list.
    assert duplicates.scan()["households"] == 2
    assert all(c.pk not in (p.household_a_id, p.household_b_id) for p in duplicates.pending_pairs(site_ids=None))


def test_demo_duplicates_are_found_with_few_false_alarms(camps):
    households = demo.generate(400, seed=11)
    path = demo.write_kobo_export(files_dir() / "dup-demo.xlsx", households)
    run_import(path=path, mapping=Mapping.load("kobo_example"), user=None, site_ids=None)
    by_uuid = dict(Household.objects.values_list("kobo_uuid", "pk"))
    planted = {tuple(sorted([by_uuid[h["copy_of"]], by_uuid[h["uuid"]]])) for h in households if "copy_of" in h}
    assert len(planted) == 8
    duplicates.scan()
    found = set(DuplicateCandidate.objects.values_list("household_a_id", "household_b_id"))
    assert len(planted & found) >= 7  # recall
    assert len(found - planted) <= 4  # precision: few false alarms among 400 households
