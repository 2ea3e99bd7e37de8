"""Turn outside values (API bodies, spreadsheet cells, desk forms) into typed household and member fields.

Each cleaner returns ``(cleaned, errors)`` with errors keyed by field name, so the import can point at
the column and the API at the body field. Messages never repeat a personal value (names, phones,
ids): they say what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.models import Block, Site
from relief.households.models import (
    CONSENT_PURPOSES,
    COUNTRIES,
    LANGUAGES,
    NEED_FIELDS,
    WG_FIELDS,
    Difficulty,
    Relationship,
    Sex,
)

HOUSEHOLD_TEXT = {
    "origin_province": 60, "origin_commune": 60, "origin_village": 80, "unhcr_group_id": 40,
    "government_id": 40, "consent_given_by": 120, "kobo_uuid": 64,
}
MEMBER_TEXT = {"given_name": 80, "family_name": 80, "individual_id": 40}
HOUSEHOLD_FIELDS = [
    "site", "block", "origin_country", "origin_province", "origin_commune", "origin_village", "language", "phone",
    "unhcr_group_id", "government_id", "kobo_uuid", "registered_on", "consent_given_by", "consent_date",
    "consent_purposes",
]
MEMBER_FIELDS = ["given_name", "family_name", "sex", "date_of_birth", "age", "relationship", "individual_id",
                 "is_head", *WG_FIELDS, "specific_needs", *NEED_FIELDS]
PHONE_RE = re.compile(r"^\+?[0-9]{9,15}$")
# Computed once: enum ``.values`` builds a new list on every call, and an import checks ~100,000 members.
SEXES = tuple(Sex.values)
RELATIONSHIPS = tuple(Relationship.values)
DIFFICULTIES = frozenset(Difficulty.values)
COUNTRY_CODES = tuple(c for c, _label in COUNTRIES)
LANGUAGE_CODES = tuple(c for c, _label in LANGUAGES)
OLDEST = 120


@dataclass
class Places:
    """Sites and blocks by code, loaded once for a whole import."""

    sites: dict[str, Site] = field(default_factory=dict)
    blocks: dict[tuple[int, str], Block] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Places:
        places = cls()
        for site in Site.objects.all():
            places.sites[site.code.upper()] = site
        for block in Block.objects.all():
            places.blocks[(block.site_id, block.code.upper())] = block
        return places


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value) -> str:
    if blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_date(value) -> date | None:
    """Dates as Kobo and spreadsheets give them: date cells, ISO dates, ISO timestamps, d/m/Y."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = text(value)
    if not raw:
        return None
    for candidate in (raw[:10], raw):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            pass
    for fmt in ("%d/%m/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(raw, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone involved
        except ValueError:
            pass
    raise ValueError(_("is not a date (use YYYY-MM-DD)"))


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    raw = text(value).lower()
    if raw in ("1", "true", "yes", "y", "oui", "ndiyo"):
        return True
    if raw in ("", "0", "false", "no", "n", "non", "hapana"):
        return False
    raise ValueError(_("must be yes or no"))


def as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return [text(v) for v in value if not blank(v)]
    return text(value).split()


def _coded(value: str, allowed: Iterable[str], errors: dict, name: str) -> str:
    if value not in allowed:
        errors[name] = _("'%(value)s' is not one of: %(allowed)s") % {"value": value[:20],
                                                                     "allowed": ", ".join(allowed)}
    return value


def clean_household(raw: dict, *, places: Places, partial: bool = False, today: date | None = None
                    ) -> tuple[dict, dict[str, str]]:
    """Typed household fields from ``raw``; with ``partial`` only the keys given are checked."""
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    out: dict = {}

    def given(name: str) -> bool:
        return not partial or name in raw

    site = None
    if given("site"):
        code = text(raw.get("site")).upper()
        if isinstance(raw.get("site"), Site):
            site = raw["site"]
        elif not code:
            errors["site"] = _("is required")
        elif code not in places.sites:
            errors["site"] = _("'%(value)s' is not a known site code") % {"value": code[:10]}
        else:
            site = places.sites[code]
        out["site"] = site
    if given("block"):
        code = text(raw.get("block")).upper()
        out["block"] = None
        if isinstance(raw.get("block"), Block):
            out["block"] = raw["block"]
        elif code:
            if site is None and partial:
                errors["block"] = _("give the site with the block")
            elif site is not None:
                block = places.blocks.get((site.pk, code))
                if block is None:
                    errors["block"] = _("'%(value)s' is not a block of %(site)s") % {"value": code[:20],
                                                                                     "site": site.code}
                out["block"] = block
    for name, limit in HOUSEHOLD_TEXT.items():
        if given(name):
            value = text(raw.get(name))
            if len(value) > limit:
                errors[name] = _("is longer than %(limit)s characters") % {"limit": limit}
            out[name] = value
    if given("kobo_uuid"):
        out["kobo_uuid"] = out["kobo_uuid"] or None
    if given("consent_given_by") and not out["consent_given_by"]:
        errors["consent_given_by"] = _("is required: no registration without recorded consent")
    if given("origin_country"):
        value = text(raw.get("origin_country"))
        out["origin_country"] = _coded(value, COUNTRY_CODES, errors, "origin_country") if value \
            else ""
    if given("language"):
        value = text(raw.get("language")).lower()
        out["language"] = _coded(value, LANGUAGE_CODES, errors, "language") if value else ""
    if given("phone"):
        value = re.sub(r"[\s\-().]", "", text(raw.get("phone")))
        if value.startswith("00"):
            value = "+" + value[2:]
        if value and not PHONE_RE.match(value):
            errors["phone"] = _("is not a phone number (9 to 15 digits, optional +)")
        out["phone"] = value
    for name, required in (("registered_on", False), ("consent_date", True)):
        if not given(name):
            continue
        try:
            value = parse_date(raw.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if value is None and required:
            errors[name] = _("is required: no registration without recorded consent")
        elif value is not None and value > today:
            errors[name] = _("is in the future")
        out[name] = value if value is not None else (today if name == "registered_on" else None)
    if given("consent_purposes"):
        purposes = [p.lower() for p in as_list(raw.get("consent_purposes"))]
        unknown = [p for p in purposes if p not in CONSENT_PURPOSES]
        if not purposes:
            errors["consent_purposes"] = _("is required: name at least one purpose the person consented to")
        elif unknown:
            errors["consent_purposes"] = _("'%(value)s' is not one of: %(allowed)s") % {
                "value": unknown[0][:20], "allowed": ", ".join(CONSENT_PURPOSES)}
        out["consent_purposes"] = " ".join(dict.fromkeys(purposes))
    return out, errors


def clean_member(raw: dict, *, on: date, partial: bool = False) -> tuple[dict, dict[str, str]]:
    """Typed member fields. ``age`` (whole years) stands in for a date of birth, marked estimated."""
    errors: dict[str, str] = {}
    out: dict = {}

    def given(name: str) -> bool:
        return not partial or name in raw

    for name, limit in MEMBER_TEXT.items():
        if given(name):
            value = text(raw.get(name))
            if not value and name != "individual_id":
                errors[name] = _("is required")
            elif len(value) > limit:
                errors[name] = _("is longer than %(limit)s characters") % {"limit": limit}
            out[name] = value
    if given("sex"):
        value = text(raw.get("sex")).lower()
        if not value:
            errors["sex"] = _("is required")
        else:
            out["sex"] = _coded(value, SEXES, errors, "sex")
    if given("relationship"):
        value = text(raw.get("relationship")).lower()
        if not value:
            errors["relationship"] = _("is required")
        else:
            out["relationship"] = _coded(value, RELATIONSHIPS, errors, "relationship")
    if given("date_of_birth") or given("age"):
        try:
            born = parse_date(raw.get("date_of_birth"))
        except ValueError as exc:
            errors["date_of_birth"] = str(exc)
            born = None
        age_raw = raw.get("age")
        if born is None and "date_of_birth" not in errors:
            if blank(age_raw):
                errors["date_of_birth"] = _("give a date of birth or an age")
            else:
                try:
                    age = int(float(text(age_raw)))
                    if not 0 <= age <= OLDEST:
                        raise ValueError
                except ValueError:
                    errors["age"] = _("must be a whole number of years from 0 to %(oldest)s") % {"oldest": OLDEST}
                else:
                    # Mid-year of the estimated birth year: never more than six months off.
                    out["date_of_birth"] = on - timedelta(days=round(age * 365.25 + 182))
                    out["age_estimated"] = True
        elif born is not None:
            if born > on:
                errors["date_of_birth"] = _("is after the registration date")
            elif (on - born).days > OLDEST * 366:
                errors["date_of_birth"] = _("is more than %(oldest)s years ago") % {"oldest": OLDEST}
            out["date_of_birth"] = born
            out["age_estimated"] = parse_bool(raw.get("age_estimated", False)) if "age_estimated" in raw else False
    if "is_head" in raw:
        try:
            out["is_head"] = parse_bool(raw.get("is_head"))
        except ValueError as exc:
            errors["is_head"] = str(exc)
    for name in WG_FIELDS:
        if not given(name):
            continue
        value = raw.get(name)
        if blank(value):
            out[name] = None
            continue
        try:
            number = int(float(text(value)))
            if number not in DIFFICULTIES:
                raise ValueError
            out[name] = number
        except ValueError:
            errors[name] = _("must be 1 (no difficulty) to 4 (cannot do at all)")
    if "specific_needs" in raw:
        needs = as_list(raw.get("specific_needs"))
        unknown = [n for n in needs if n not in NEED_FIELDS]
        if unknown:
            errors["specific_needs"] = _("'%(value)s' is not one of: %(allowed)s") % {
                "value": unknown[0][:30], "allowed": ", ".join(NEED_FIELDS)}
        for name in NEED_FIELDS:
            out[name] = name in needs
    for name in NEED_FIELDS:
        if name in raw:
            try:
                out[name] = parse_bool(raw[name])
            except ValueError as exc:
                errors[name] = str(exc)
        elif not partial:
            out.setdefault(name, False)
    if "is_head" not in out and "relationship" in out and not partial:
        out["is_head"] = out["relationship"] == Relationship.HEAD
    if out.get("is_head") and out.get("relationship") not in (None, Relationship.HEAD):
        errors["relationship"] = _("the head's relationship must be 'head'")
    out.pop("age", None)
    return out, errors


def head_problems(members: list[dict]) -> str | None:
    """Exactly one head among the active members of a household."""
    heads = sum(1 for m in members if m.get("is_head"))
    if heads == 0:
        return _("the household has no head: mark exactly one member as head")
    if heads > 1:
        return _("the household has %(count)s heads: mark exactly one member as head") % {"count": heads}
    return None
