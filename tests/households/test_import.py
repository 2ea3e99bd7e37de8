import openpyxl
import pytest

from relief.households.importer import ImportFileError, Mapping, run_import
from relief.households.models import AlternateCollector, Household, Member
from tests.households.builders import (
    MAIN_HEADERS,
    KoboHousehold,
    KoboMember,
    head,
    kobo_csv,
    kobo_xlsx,
    plain_row,
    plain_xlsx,
)


def family(n: int, **kw) -> KoboHousehold:
    return KoboHousehold(
        head=head(given=f"Jean{n}", family="Ndayishimiye", individual_id=f"IND-{n}-1"),
        members=[
            KoboMember("Aline", "Niyonzima", "female", "1988-07-20", relationship="spouse", individual_id=f"IND-{n}-2",
                       needs="pregnant"),
            KoboMember("Eric", "Ndayishimiye", "male", None, age=9, relationship="son_daughter",
                       wg={"walking": "a_lot_of_difficulty"}),
            KoboMember("Divine", "Iradukunda", "female", "2019-01-05", relationship="son_daughter"),
        ],
        group_id=f"UNHCR-945-{n:05d}",
        collector=("Claude Bizimana", "neighbour", "ration card 778") if n == 1 else None,
        **kw,
    )


def do_import(path, user=None, **kw):
    return run_import(path=path, mapping=Mapping.load(kw.pop("mapping", "kobo_example")), user=user,
                      site_ids=kw.pop("site_ids", None), **kw)


@pytest.mark.smoke
def test_kobo_xlsx_with_groups_repeat_sheet_and_select_multiple(camps, tmp_path):
    path = kobo_xlsx(tmp_path / "export.xlsx", [family(1), family(2, camp="NDU", block="B07")])
    result = do_import(path)
    assert result.problems == [] and result.committed
    assert result.counts.households_new == 2 and result.counts.members_new == 8
    first = Household.objects.get(unhcr_group_id="UNHCR-945-00001")
    assert first.number == "HH-NYA-000001" and first.site.code == "NYA" and first.block.code == "B01"
    assert first.size == 4 and not first.female_headed and not first.child_headed
    assert first.phone == "+255754123456" and first.origin_country == "BI" and first.language == "rn"
    assert first.consent_purpose_list == ["registration", "assistance", "shelter"]
    assert str(first.registered_on) == "2024-03-02"
    members = {m.given_name: m for m in first.members.all()}
    assert members["Jean1"].is_head and members["Jean1"].relationship == "head"
    assert members["Aline"].pregnant_or_lactating and members["Aline"].relationship == "spouse"
    assert members["Eric"].age_estimated and members["Eric"].has_disability and members["Eric"].age_on(
        first.registered_on) == 9
    assert not members["Divine"].has_disability
    assert AlternateCollector.objects.get(household=first).relationship == "neighbour"
    assert Household.objects.get(unhcr_group_id="UNHCR-945-00002").number == "HH-NDU-000001"


def test_select_multiple_as_zero_one_columns(camps, tmp_path):
    headers = [h for h in MAIN_HEADERS if h != "consent/purposes"]
    path = kobo_xlsx(tmp_path / "export.xlsx", [family(1, purposes="registration data_sharing")],
                     main_headers=headers)
    result = do_import(path)
    assert result.problems == []
    assert Household.objects.get().consent_purpose_list == ["registration", "sharing"]


@pytest.mark.parametrize("groups", [True, False])
def test_kobo_csv_main_table_with_and_without_group_paths(camps, tmp_path, groups):
    path = kobo_csv(tmp_path / "export.csv", [family(1), family(2)], groups=groups, delimiter=";")
    result = do_import(path)
    assert result.problems == [] and result.counts.households_new == 2
    # A CSV export has no repeat sheet: only the head, from the main table.
    assert sorted(Household.objects.values_list("size", flat=True)) == [1, 1]


def test_plain_spreadsheet_one_row_per_member(camps, tmp_path):
    rows = [plain_row("A1", "Espérance", "Mukamana"), plain_row("A1", "Patrick", "Mugisha", relationship="child",
                                                                sex="M", dob="2015-03-02"),
            plain_row("A2", "Bahati", "Amani", sex="M", dob="", Age=70)]
    result = do_import(plain_xlsx(tmp_path / "plain.xlsx", rows), mapping="plain_example")
    assert result.problems == []
    a1 = Household.objects.get(unhcr_group_id="G-A1")
    assert a1.size == 2 and a1.female_headed and a1.site.code == "NDU" and a1.block.code == "B03"
    a2 = Household.objects.get(unhcr_group_id="G-A2")
    assert a2.older_person_headed and a2.members.get().age_estimated


def test_reimport_updates_and_never_duplicates(camps, tmp_path):
    path = kobo_xlsx(tmp_path / "export.xlsx", [family(1), family(2)])
    do_import(path)
    history = Household.history.count(), Member.history.count()
    again = do_import(path)
    assert again.counts.households_new == 0 and again.counts.households_unchanged == 2
    assert Household.objects.count() == 2 and Member.objects.count() == 8
    assert (Household.history.count(), Member.history.count()) == history
    # The officer corrected the export in Kobo: a new child, a new phone. Same _uuid → update.
    changed = family(1, phone="0765 111 222")
    changed.uuid = Household.objects.get(unhcr_group_id="UNHCR-945-00001").kobo_uuid
    changed.members.append(KoboMember("Gloire", "Ndayishimiye", "male", "2024-01-01"))
    third = do_import(kobo_xlsx(tmp_path / "v2.xlsx", [changed]))
    assert third.counts.households_updated == 1 and third.counts.members_new == 1
    household = Household.objects.get(unhcr_group_id="UNHCR-945-00001")
    assert household.size == 5 and household.phone == "0765111222"
    assert Household.objects.count() == 2


def test_every_bad_row_reported_at_once_and_nothing_written(camps, tmp_path):
    bad_consent = family(1, consent_by="", purposes="")
    bad_camp = family(2, camp="XYZ")
    bad_block = family(3, block="B99")
    bad_member = family(4)
    bad_member.members[0].sex = "other"
    bad_member.members[1].dob, bad_member.members[1].age = "2090-01-01", None
    bad_member.members[2].given = ""
    two_heads = family(5)
    two_heads.members[0].relationship = "head"
    bad_phone = family(6, phone="call me")
    bad_wg = family(7)
    bad_wg.head.wg = {"seeing": "blind"}
    good = family(8)
    path = kobo_xlsx(tmp_path / "export.xlsx", [bad_consent, bad_camp, bad_block, bad_member, two_heads, bad_phone,
                                                bad_wg, good])
    result = do_import(path, mode="all")
    assert not result.committed and Household.objects.count() == 0 and Member.objects.count() == 0
    found = {(p.sheet, p.row, p.column) for p in result.problems}
    assert ("kobo_registration", 2, "consent/given_by") in found
    assert ("kobo_registration", 2, "consent/purposes") in found
    assert ("kobo_registration", 3, "location/camp") in found
    assert ("kobo_registration", 4, "location/block") in found
    assert ("members", 11, "members/sex") in found
    assert ("members", 12, "members/dob") in found
    assert ("members", 13, "members/given_name") in found
    assert ("members", 14, "members/relationship") in found
    assert ("kobo_registration", 7, "household/phone") in found
    assert ("kobo_registration", 8, "household/head_wg_seeing") in found
    assert result.households_invalid == 7 and result.households_valid == 1
    report = openpyxl.load_workbook(result.report)
    rows = list(report["Problems"].iter_rows(values_only=True))
    assert rows[0] == ("Sheet", "Row", "Column", "Problem") and len(rows) - 1 == len(result.problems)
    # No personal value is quoted back: names, phones and ids stay out of the report's messages.
    text = " ".join(str(r[3]) for r in rows[1:])
    for secret in ("Jean", "Ndayishimiye", "call me", "UNHCR-945", "Niyonzima", "blind"):
        assert secret not in text


def test_valid_only_mode_writes_whole_valid_households(camps, tmp_path):
    bad = family(1)
    bad.members[2].sex = ""
    path = kobo_xlsx(tmp_path / "export.xlsx", [bad, family(2)])
    result = do_import(path, mode="valid")
    assert result.committed and result.households_invalid == 1
    assert list(Household.objects.values_list("unhcr_group_id", flat=True)) == ["UNHCR-945-00002"]
    assert Member.objects.count() == 4  # not one member of the bad household


def test_dry_run_writes_nothing(camps, tmp_path):
    result = do_import(kobo_xlsx(tmp_path / "e.xlsx", [family(1)]), dry_run=True)
    assert result.counts.households_new == 1 and not result.committed and Household.objects.count() == 0


def test_orphan_member_row_and_missing_column(camps, tmp_path):
    path = kobo_xlsx(tmp_path / "e.xlsx", [family(1)],
                     main_headers=[h for h in MAIN_HEADERS if h != "consent/date"])
    book = openpyxl.load_workbook(path)
    book["members"].append(["X", "Y", "male", "2000-01-01", None, "son_daughter", "", *[None] * 6, "", 0, 0, 99,
                            99, "t", "u"])
    book.save(path)
    result = do_import(path)
    found = {(p.sheet, p.row, p.column) for p in result.problems}
    assert ("kobo_registration", 1, "consent/date") in found
    assert ("members", 5, "_parent_index") in found
    assert Household.objects.count() == 0


def test_sites_outside_the_officers_are_refused(camps, tmp_path):
    result = do_import(kobo_xlsx(tmp_path / "e.xlsx", [family(1, camp="MTE")]), site_ids={camps["NYA"].pk})
    assert [p.column for p in result.problems] == ["location/camp"] and Household.objects.count() == 0


def test_unreadable_file_and_bad_mapping(camps, tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ImportFileError):
        do_import(junk)
    with pytest.raises(ImportFileError, match="unknown fields"):
        Mapping.load({"format": "kobo", "household": {"name_of_cat": "x"}, "member": {}})


def test_imported_rows_have_their_history_with_the_officer(camps, users, tmp_path):
    do_import(kobo_xlsx(tmp_path / "e.xlsx", [family(1), family(2)]), user=users["registrar"])
    for model in (Household, Member):
        created = model.history.filter(history_type="+")
        assert created.count() == model.objects.count()
        assert set(created.values_list("history_user__username", flat=True)) == {"registrar"}
        assert set(created.values_list("id", flat=True)) == set(model.objects.values_list("pk", flat=True))
    head = Member.objects.get(given_name="Jean1")
    assert head.household.members.filter(is_head=True).get() == head and head.history.get().given_name == "Jean1"
