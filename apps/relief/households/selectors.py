"""Reads of the registry for pages, API, reports and other packages."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from relief.core.models import Site
from relief.core.plugins import domain_modules
from relief.households.models import NEED_FIELDS, Household, HouseholdStatus, Member

AGE_GROUPS = [("0_4", 0, 4), ("5_17", 5, 17), ("18_59", 18, 59), ("60", 60, 200)]


def household_identity(household: Household) -> dict:
    """What a distribution team may see to check who stands at the table: no names, phones or ids."""
    head = next((m for m in household.members.all() if m.is_head and m.active), None)
    return {
        "number": household.number,
        "size": household.size,
        "site": household.site.code,
        "block": household.block.code if household.block_id else "",
        "head_initials": head.initials if head else "",
    }


def households_visible(site_ids: set[int] | None) -> QuerySet[Household]:
    qs = Household.objects.select_related("site", "block")
    return qs if site_ids is None else qs.filter(site_id__in=site_ids)


def household_search(*, query: str, site_ids: set[int] | None, limit: int = 50) -> list[Household]:
    """By household number, UNHCR or government id, phone, or names of any member."""
    query = query.strip()
    if not query:
        return []
    base = households_visible(site_ids)
    digits = re.sub(r"[\s\-+()]", "", query)
    condition = Q(number__iexact=query) | Q(unhcr_group_id__iexact=query) | Q(government_id__iexact=query) \
        | Q(members__individual_id__iexact=query)
    if digits.isdigit() and len(digits) >= 6:
        condition |= Q(phone__endswith=digits[-9:])
    if query.upper().startswith("HH-"):
        condition |= Q(number__istartswith=query)
    words = [w for w in query.split() if len(w) >= 2]
    if words and not digits.isdigit():
        # Every word must match the same member: "Jean Ndayishimiye" is one person, not two.
        name_q = Q()
        for word in words:
            name_q &= Q(given_name__icontains=word) | Q(family_name__icontains=word)
        condition |= Q(pk__in=Member.objects.filter(name_q).values("household_id"))
    ids = list(base.filter(condition).values_list("pk", flat=True).distinct()[:limit])
    return list(base.filter(pk__in=ids).prefetch_related("members").order_by("number"))


def household_card(household: Household) -> dict:
    """The household card: members, collectors, and what other packages know (shelter, cards, distributions)."""
    members = list(household.members.all().order_by("-active", "-is_head", "date_of_birth"))
    today = timezone.localdate()
    extra = []
    for module in domain_modules("selectors"):
        section = getattr(module, "household_card_sections", None)
        if section is not None and module.__name__ != __name__:
            extra.extend(section(household))
    return {
        "household": household,
        "members": [(m, m.age_on(today)) for m in members],
        "collectors": list(household.alternate_collectors.all().order_by("-active", "pk")),
        "merged_from": list(household.merged_households.values_list("number", flat=True)),
        "sections": extra,
    }


def _age_bounds(today: date, low: int, high: int) -> tuple[date, date]:
    """Dates of birth of people aged ``low`` to ``high`` on ``today``."""
    oldest = date(today.year - high - 1, today.month, min(today.day, 28))
    youngest = date(today.year - low, today.month, min(today.day, 28))
    return oldest, youngest


def registry_summary(*, site_ids: set[int] | None = None, today: date | None = None) -> list[dict]:
    """Per site: active households, individuals by sex and age group, specific needs. Counts only."""
    today = today or timezone.localdate()
    sites = Site.objects.all() if site_ids is None else Site.objects.filter(pk__in=site_ids)
    rows = {s.pk: {"site": s.code, "site_name": s.name, "households": 0, "individuals": 0, "female": 0, "male": 0,
                   "female_headed": 0, "child_headed": 0, "older_person_headed": 0, "disability": 0,
                   **{f"age_{g}_{sex}": 0 for g, _lo, _hi in AGE_GROUPS for sex in "fm"},
                   **{n: 0 for n in NEED_FIELDS}} for s in sites}
    active = Household.objects.filter(status=HouseholdStatus.ACTIVE, site_id__in=rows)
    for row in active.values("site_id").annotate(
            n=Count("pk"), fh=Count("pk", filter=Q(female_headed=True)),
            ch=Count("pk", filter=Q(child_headed=True)), oh=Count("pk", filter=Q(older_person_headed=True))):
        target = rows[row["site_id"]]
        target.update(households=row["n"], female_headed=row["fh"], child_headed=row["ch"],
                      older_person_headed=row["oh"])
    people = Member.objects.filter(active=True, household__status=HouseholdStatus.ACTIVE,
                                   household__site_id__in=rows)
    aggregates = {"n": Count("pk"), "f": Count("pk", filter=Q(sex="f")), "m": Count("pk", filter=Q(sex="m")),
                  "disability": Count("pk", filter=Q(has_disability=True))}
    for need in NEED_FIELDS:
        aggregates[need] = Count("pk", filter=Q(**{need: True}))
    for group, low, high in AGE_GROUPS:
        oldest, youngest = _age_bounds(today, low, high)
        window = Q(date_of_birth__gt=oldest, date_of_birth__lte=youngest)
        aggregates[f"age_{group}_f"] = Count("pk", filter=window & Q(sex="f"))
        aggregates[f"age_{group}_m"] = Count("pk", filter=window & Q(sex="m"))
    for row in people.values("household__site_id").annotate(**aggregates):
        target = rows[row.pop("household__site_id")]
        target["individuals"], target["female"], target["male"] = row.pop("n"), row.pop("f"), row.pop("m")
        target.update(row)
    return list(rows.values())


# The export's header and HXL hashtag rows, in column order.
SUMMARY_COLUMNS = [
    ("site", _("Site"), "#loc+camp+code"),
    ("site_name", _("Site name"), "#loc+camp+name"),
    ("households", _("Households"), "#population+hh"),
    ("individuals", _("Individuals"), "#population+ind"),
    ("female", _("Female"), "#population+ind+f"),
    ("male", _("Male"), "#population+ind+m"),
    *[(f"age_{g}_{s}", format_lazy("{} {}", _("Female") if s == "f" else _("Male"),
                                   f"{lo}-{hi}" if hi < 200 else f"{lo}+"),
       f"#population+ind+{s}+age{g}") for g, lo, hi in AGE_GROUPS for s in "fm"],
    ("disability", _("Persons with disabilities"), "#population+ind+disabled"),
    ("pregnant_or_lactating", _("Pregnant or lactating"), "#population+ind+f+pregnant_lactating"),
    ("chronic_illness", _("Chronic illness"), "#population+ind+chronic_illness"),
    ("unaccompanied_or_separated", _("Unaccompanied or separated children"), "#population+ind+uasc"),
    ("older_person_at_risk", _("Older persons at risk"), "#population+ind+older_at_risk"),
    ("female_headed", _("Female-headed households"), "#population+hh+female_headed"),
    ("child_headed", _("Child-headed households"), "#population+hh+child_headed"),
    ("older_person_headed", _("Older-person-headed households"), "#population+hh+older_headed"),
]


def pseudonym(number: str) -> str:
    """A stable code for a household that partners cannot turn back into its number without the site key."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"household:{number}".encode(), hashlib.sha256).hexdigest()
    return f"P-{digest[:12].upper()}"


PARTNER_COLUMNS = [
    ("pseudonym", _("Household (pseudonym)"), "#household+code"),
    ("site", _("Site"), "#loc+camp+code"),
    ("block", _("Block"), "#loc+block+code"),
    ("status", _("Status"), "#status"),
    ("size", _("Household size"), "#population+ind"),
    ("female", _("Female members"), "#population+ind+f"),
    ("male", _("Male members"), "#population+ind+m"),
    ("children", _("Children under 18"), "#population+ind+children"),
    ("disability", _("Members with disabilities"), "#population+ind+disabled"),
    ("female_headed", _("Female-headed"), "#indicator+female_headed"),
    ("child_headed", _("Child-headed"), "#indicator+child_headed"),
    ("older_person_headed", _("Older-person-headed"), "#indicator+older_headed"),
    ("origin_country", _("Country of origin"), "#country+code+origin"),
    ("registered_month", _("Registered (month)"), "#date+registered"),
]


def consent_q(purpose: str, *, prefix: str = "") -> Q:
    """Households whose recorded consent covers ``purpose`` (consent_purposes is a space-separated list)."""
    return Q(**{f"{prefix}consent_purposes__regex": rf"(^| ){purpose}( |$)"})


def households_without_consent(*, purpose: str, site_ids: set[int] | None) -> int:
    """Active households left out of what needs ``purpose`` because they did not consent to it."""
    return households_visible(site_ids).filter(status=HouseholdStatus.ACTIVE).exclude(consent_q(purpose)).count()


def partner_rows(*, site_ids: set[int] | None, today: date | None = None) -> list[dict]:
    """One row per active household that consented to sharing with partners, with no names, phones, ids,
    villages or birth dates."""
    today = today or timezone.localdate()
    adult_born_before = date(today.year - 18, today.month, min(today.day, 28))
    qs = households_visible(site_ids).filter(consent_q("sharing"), status=HouseholdStatus.ACTIVE).annotate(
        female=Count("members", filter=Q(members__active=True, members__sex="f")),
        male=Count("members", filter=Q(members__active=True, members__sex="m")),
        children=Count("members", filter=Q(members__active=True, members__date_of_birth__gt=adult_born_before)),
        disability=Count("members", filter=Q(members__active=True, members__has_disability=True)),
    ).order_by("number")
    return [{
        "pseudonym": pseudonym(h.number), "site": h.site.code, "block": h.block.code if h.block_id else "",
        "status": h.status, "size": h.size, "female": h.female, "male": h.male, "children": h.children,
        "disability": h.disability, "female_headed": int(h.female_headed), "child_headed": int(h.child_headed),
        "older_person_headed": int(h.older_person_headed), "origin_country": h.origin_country,
        "registered_month": h.registered_on.strftime("%Y-%m"),
    } for h in qs.iterator(chunk_size=2000)]
