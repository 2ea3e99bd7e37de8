"""Kobo-shaped and plain spreadsheets built by the tests, as KoboToolbox exports them."""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import openpyxl

WG = ["seeing", "hearing", "walking", "remembering", "self_care", "communicating"]
MAIN_HEADERS = [
    "start", "end", "location/camp", "location/block", "household/head_given_name", "household/head_family_name",
    "household/head_sex", "household/head_dob", "household/head_age", "household/head_individual_id",
    *[f"household/head_wg_{w}" for w in WG], "household/head_needs", "household/phone", "household/unhcr_group_id",
    "household/language", "origin/country", "origin/province", "origin/commune", "origin/village",
    "consent/given_by", "consent/date", "consent/purposes", "consent/purposes/registration",
    "consent/purposes/assistance", "consent/purposes/shelter", "consent/purposes/referral",
    "consent/purposes/data_sharing", "collector/name", "collector/relationship", "collector/id_document",
    "_id", "_uuid", "_submission_time", "_index",
]
MEMBER_HEADERS = [
    "members/given_name", "members/family_name", "members/sex", "members/dob", "members/age",
    "members/relationship", "members/individual_id", *[f"members/wg_{w}" for w in WG], "members/needs",
    "members/needs/pregnant", "members/needs/chronic_illness", "_index", "_parent_index", "_parent_table_name",
    "_submission__uuid",
]


@dataclass
class KoboMember:
    given: str
    family: str
    sex: str = "female"
    dob: str | None = "2010-05-01"
    age: int | None = None
    relationship: str = "son_daughter"
    individual_id: str = ""
    wg: dict = field(default_factory=dict)
    needs: str = ""


@dataclass
class KoboHousehold:
    head: KoboMember
    members: list[KoboMember] = field(default_factory=list)
    camp: str = "NYA"
    block: str = "B01"
    phone: str = "+255 754 123 456"
    group_id: str = ""
    consent_by: str = "head"
    consent_date: str = "2024-03-01"
    purposes: str = "registration assistance shelter"
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    collector: tuple | None = None
    country: str = "burundi"
    submitted: str = "2024-03-02T09:14:05.120+03:00"


def head(given="Jean", family="Ndayishimiye", sex="male", dob="1985-02-11", **kw) -> KoboMember:
    return KoboMember(given, family, sex, dob, relationship="head", **kw)


def _main_row(hh: KoboHousehold, index: int) -> list:
    h = hh.head
    purposes = set(hh.purposes.split())
    consent_by = f"{h.given} {h.family}" if hh.consent_by == "head" else hh.consent_by
    collector = hh.collector or ("", "", "")
    return [
        "2024-03-02T08:50:00", "2024-03-02T09:14:00", hh.camp, hh.block, h.given, h.family, h.sex, h.dob, h.age,
        h.individual_id, *[h.wg.get(w, "no_difficulty") for w in WG], h.needs, hh.phone, hh.group_id, "kirundi",
        hh.country, "Makamba", "Nyanza-Lac", "Kabonga", consent_by, hh.consent_date, hh.purposes,
        *[int(p in purposes) for p in ("registration", "assistance", "shelter", "referral", "data_sharing")],
        *collector, 1000 + index, hh.uuid, hh.submitted, index,
    ]


def _member_rows(hh: KoboHousehold, parent: int, start: int) -> list[list]:
    rows = []
    for offset, m in enumerate(hh.members):
        rows.append([
            m.given, m.family, m.sex, m.dob, m.age, m.relationship, m.individual_id,
            *[m.wg.get(w, "no_difficulty") for w in WG], m.needs, int("pregnant" in m.needs),
            int("chronic_illness" in m.needs), start + offset, parent, "kobo_registration", hh.uuid,
        ])
    return rows


def kobo_xlsx(path: Path, households: list[KoboHousehold], *, member_sheet: str = "members",
              main_headers: list[str] | None = None) -> Path:
    book = openpyxl.Workbook()
    main = book.active
    main.title = "kobo_registration"
    headers = main_headers or MAIN_HEADERS
    main.append(headers)
    repeat = book.create_sheet(member_sheet)
    repeat.append(MEMBER_HEADERS)
    next_member = 1
    for index, hh in enumerate(households, start=1):
        row = dict(zip(MAIN_HEADERS, _main_row(hh, index), strict=True))
        main.append([row.get(h) for h in headers])
        for member_row in _member_rows(hh, index, next_member):
            repeat.append(member_row)
        next_member += len(hh.members)
    book.save(path)
    return path


def kobo_csv(path: Path, households: list[KoboHousehold], *, groups: bool = True, delimiter: str = ",") -> Path:
    """The main table only, as Kobo's CSV export gives it; without groups the headers lose their paths."""
    headers = MAIN_HEADERS if groups else [h if h.startswith("consent/purposes/") else h.rsplit("/", 1)[-1]
                                           for h in MAIN_HEADERS]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(headers)
        for index, hh in enumerate(households, start=1):
            writer.writerow(["" if v is None else v for v in _main_row(hh, index)])
    return path


PLAIN_HEADERS = ["Household ref", "Camp", "Block", "Phone", "UNHCR group id", "Government id", "Language",
                 "Country of origin", "Province", "Commune", "Village", "Registration date", "Consent given by",
                 "Consent date", "Consent purposes", "Given name", "Family name", "Sex", "Date of birth", "Age",
                 "Relationship", "Individual id", "Seeing", "Hearing", "Walking", "Remembering", "Self-care",
                 "Communicating", "Specific needs"]


def plain_xlsx(path: Path, rows: list[dict]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Registration"
    sheet.append(PLAIN_HEADERS)
    for row in rows:
        sheet.append([row.get(h) for h in PLAIN_HEADERS])
    book.save(path)
    return path


def plain_row(ref: str, given: str, family: str, *, relationship="head", sex="F", dob: date | str = "1990-01-01",
              **extra) -> dict:
    row = {"Household ref": ref, "Camp": "NDU", "Block": "B03", "Phone": "0754000111", "UNHCR group id": f"G-{ref}",
           "Language": "fr", "Country of origin": "CD", "Province": "Sud-Kivu", "Commune": "Fizi",
           "Village": "Baraka", "Registration date": "2024-01-15", "Consent given by": f"{given} {family}",
           "Consent date": "2024-01-15", "Consent purposes": "registration assistance", "Given name": given,
           "Family name": family, "Sex": sex, "Date of birth": str(dob), "Relationship": relationship}
    row.update(extra)
    return row
