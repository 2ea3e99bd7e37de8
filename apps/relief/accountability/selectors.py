"""Reads: feedback lists and counts, the household's cases, PDM summaries, and donor reporting from the trace.

People reached are counted from the hand-overs themselves (redemption lines with something handed over)
and the members of each served household: a household is reached once per group (grant, site, item,
month), its members counted in sex and age bands on the day of its first hand-over in that group. A
hand-over is attributed to a grant through the lots it was issued from; one not yet posted to the ledger
has no lot yet and is reported under "not yet posted", never guessed.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from relief.accountability import access
from relief.accountability.models import CaseStatus, FeedbackCase, PdmInterview, PdmSample, Quality
from relief.distribution.models import Redemption, RedemptionLine, RedemptionLot
from relief.households.models import Member

# --- feedback --------------------------------------------------------------------------------------------


def cases_filter(qs: QuerySet[FeedbackCase], *, status: str = "", category: str = "", overdue: bool = False,
                 household: str = "") -> QuerySet[FeedbackCase]:
    if status == "active":
        qs = qs.exclude(status=CaseStatus.CLOSED)
    elif status in CaseStatus.values:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if overdue:
        qs = qs.exclude(status=CaseStatus.CLOSED).filter(due_on__lt=timezone.localdate())
    if household:
        qs = qs.filter(household__number=household)
    return qs.select_related("household", "event", "item", "site", "assigned_to").order_by("due_on", "number")


def overdue_count(user) -> int:
    """Cases past their due date that the user may see (0 for a role that sees none)."""
    if not access.has_role(user, *access.READERS):
        return 0
    return cases_filter(access.cases_visible(user), overdue=True).count()


def home_panels(user) -> list[dict]:
    """For the desk home page: overdue feedback cases, when there are any the user may see."""
    count = overdue_count(user)
    if not count:
        return []
    from django.urls import reverse

    return [{"label": _("Overdue feedback cases"), "count": count,
             "url": reverse("accountability:cases") + "?overdue=1"}]


def household_card_sections(household) -> list[dict]:
    """The household's feedback cases on its page. The page takes no user here, so sensitive cases are left
    out: the people named for them find them in the feedback list."""
    rows = []
    for case in (FeedbackCase.objects.filter(household=household, sensitive=False).order_by("-received_at")[:30]):
        rows.append((case.number, " · ".join([
            str(case.get_category_display()), str(case.get_subject_display()), str(case.get_status_display()),
            _("due %(day)s") % {"day": case.due_on.isoformat()}])))
    return [{"title": _("Feedback cases"), "rows": rows}] if rows else []


# --- post-distribution monitoring ---------------------------------------------------------------------------


def pdm_summary(event) -> dict:
    """The event's samples and, over their answered interviews: received all, quality, safety, time waited."""
    samples = list(PdmSample.objects.filter(event=event).order_by("-created_at"))
    answered = PdmInterview.objects.filter(sample__event=event).exclude(
        received_all__isnull=True, felt_safe__isnull=True, quality="", minutes_waited__isnull=True)
    rows = list(answered.values("received_all", "felt_safe", "quality", "minutes_waited"))
    n = len(rows)

    def share(key: str, value) -> int | None:
        known = [r for r in rows if r[key] not in (None, "")]
        return round(100 * sum(1 for r in known if r[key] == value) / len(known)) if known else None

    waits = sorted(r["minutes_waited"] for r in rows if r["minutes_waited"] is not None)
    return {
        "samples": samples,
        "drawn": sum(s.size for s in samples),
        "answered": n,
        "received_all_pct": share("received_all", True),
        "felt_safe_pct": share("felt_safe", True),
        "quality": {q.label: share("quality", q.value) for q in Quality},
        "median_wait": waits[len(waits) // 2] if waits else None,
    }


def pdm_rows(sample: PdmSample) -> list[dict]:
    """The enumerators' list: no names, only what finds the household and what the form is prefilled with."""
    rows = []
    for i in (sample.interviews.select_related("household__block", "redemption").order_by("position")):
        items = ", ".join(f"{code} × {qty}" for code, qty in
                          i.redemption.lines.filter(qty_handed__gt=0).values_list("item__code", "qty_handed"))
        rows.append({"position": i.position, "household": i.household.number,
                     "block": i.household.block.code if i.household.block_id else "",
                     "size": i.household.size, "stratum": i.stratum,
                     "collected_on": timezone.localtime(i.redemption.scanned_at).date(), "items": items})
    return rows


# --- donor reporting from the trace ---------------------------------------------------------------------

# Humanitarian age bands, with the HXL attribute for each.
AGE_BANDS = [("0-4", 0, 4, "infants"), ("5-17", 5, 17, "children"), ("18-59", 18, 59, "adults"),
             ("60+", 60, 200, "elderly")]
SEXES = [("f", _l("female")), ("m", _l("male"))]
NOT_POSTED = "—"


def age_band(age: int) -> str:
    for name, low, high, _tag in AGE_BANDS:
        if low <= age <= high:
            return name
    return AGE_BANDS[-1][0]


def band_keys() -> list[str]:
    return [f"{sex}_{band}" for sex, _label in SEXES for band, *_rest in AGE_BANDS]


@dataclass
class ReachRow:
    grant: str
    donor: str
    site: str
    item: str
    month: str
    qty: int = 0
    value: dict[str, Decimal] = field(default_factory=dict)
    households: set[int] = field(default_factory=set)
    individuals: int = 0
    bands: dict[str, int] = field(default_factory=lambda: dict.fromkeys(band_keys(), 0))
    first_day: datetime.date | None = None
    last_day: datetime.date | None = None

    def as_dict(self) -> dict:
        return {"grant": self.grant, "donor": self.donor, "site": self.site, "item": self.item, "month": self.month,
                "qty": self.qty, "value": {c: str(v) for c, v in sorted(self.value.items())},
                "households": len(self.households), "individuals": self.individuals, **self.bands,
                "bands_list": [self.bands[k] for k in band_keys()], "first_day": self.first_day,
                "last_day": self.last_day}


def reach(*, grant: str = "", site: str = "", start: datetime.date | None = None,
          end: datetime.date | None = None) -> list[ReachRow]:
    """Households and people reached, quantities and values, per grant, site, item and month."""
    lines = RedemptionLine.objects.filter(qty_handed__gt=0)
    if site:
        lines = lines.filter(redemption__event__site__code=site)
    if start:
        lines = lines.filter(redemption__scanned_at__date__gte=start)
    if end:
        lines = lines.filter(redemption__scanned_at__date__lte=end)
    if grant:
        lines = lines.filter(lots__lot__grant__code=grant).distinct()
    tz = timezone.get_current_timezone()
    base = {pk: (household_id, site_code, item, timezone.localtime(at, tz).date(), qty)
            for pk, household_id, site_code, item, at, qty in lines.values_list(
                "pk", "redemption__household_id", "redemption__event__site__code", "item__code",
                "redemption__scanned_at", "qty_handed").iterator(chunk_size=5000)}
    lots: dict[int, list] = defaultdict(list)
    lot_rows = RedemptionLot.objects.filter(line_id__in=lines.values("pk"))
    for line_id, grant_code, donor, qty, unit_value, currency in lot_rows.values_list(
            "line_id", "lot__grant__code", "lot__grant__donor__code", "qty", "lot__unit_value",
            "lot__currency").iterator(chunk_size=5000):
        lots[line_id].append((grant_code or NOT_POSTED, donor or NOT_POSTED, qty, unit_value, currency))
    people = _members(sorted({v[0] for v in base.values()}))
    groups: dict[tuple, ReachRow] = {}
    counted: dict[tuple, set[int]] = defaultdict(set)
    for line_id, (household_id, site_code, item, day, qty) in sorted(base.items()):
        parts = lots.get(line_id) or [(NOT_POSTED, NOT_POSTED, qty, None, "")]
        for grant_code, donor, lot_qty, unit_value, currency in parts:
            if grant and grant_code != grant:
                continue
            key = (grant_code, site_code, item, day.strftime("%Y-%m"))
            row = groups.get(key)
            if row is None:
                row = groups[key] = ReachRow(grant=grant_code, donor=donor, site=site_code, item=item, month=key[3])
            row.qty += lot_qty
            if unit_value is not None:
                row.value[currency] = row.value.get(currency, Decimal(0)) + unit_value * lot_qty
            row.first_day = min(row.first_day or day, day)
            row.last_day = max(row.last_day or day, day)
            if household_id not in counted[key]:
                counted[key].add(household_id)
                row.households.add(household_id)
                for sex, born in people.get(household_id, ()):
                    row.individuals += 1
                    row.bands[f"{sex}_{age_band(_age(born, day))}"] += 1
    return [groups[k] for k in sorted(groups)]


def _age(born: datetime.date, day: datetime.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _members(household_ids: list[int]) -> dict[int, list[tuple[str, datetime.date]]]:
    """Active members (sex, date of birth) of the served households, fetched in chunks of ids."""
    found: dict[int, list] = defaultdict(list)
    for n in range(0, len(household_ids), 2000):
        for household_id, sex, born in (Member.objects.filter(household_id__in=household_ids[n:n + 2000],
                                                              active=True)
                                        .values_list("household_id", "sex", "date_of_birth")):
            found[household_id].append((sex, born))
    return found


def reach_totals(rows: list[ReachRow]) -> dict:
    """Distinct households over all rows cannot be summed from the rows; they are counted again here."""
    households = set().union(*(r.households for r in rows)) if rows else set()
    return {"households": len(households), "qty": sum(r.qty for r in rows)}


# The 4W (Shelter/NFI cluster): who, what, where, when, how many; HXL hashtags under the header.
FOUR_W = [
    (_l("Organisation"), "#org+impl"), (_l("Donor"), "#org+funder"), (_l("Grant"), "#activity+code"),
    (_l("Region"), "#adm1+name"), (_l("Camp"), "#loc+camp+name"), (_l("Item"), "#item+name"),
    (_l("Item code"), "#item+code"), (_l("Quantity"), "#output+num"), (_l("Households reached"), "#reached+hh"),
    (_l("Individuals reached"), "#reached+ind"),
    *[(f"{label} {band}", f"#reached+ind+{sex}+{tag}") for sex, label in SEXES for band, _lo, _hi, tag in AGE_BANDS],
    (_l("Start"), "#date+start"), (_l("End"), "#date+end"), (_l("Status"), "#status"),
]


def four_w_rows(*, grant: str = "", site: str = "", start: datetime.date | None = None,
                end: datetime.date | None = None) -> list[list]:
    from relief.core.models import Site
    from relief.inventory.models import Item

    rows = reach(grant=grant, site=site, start=start, end=end)
    sites = {s.code: s for s in Site.objects.filter(code__in={r.site for r in rows})}
    names = dict(Item.objects.filter(code__in={r.item for r in rows}).values_list("code", "name"))
    out = []
    for r in rows:
        camp = sites.get(r.site)
        out.append([settings.RELIEF_ORGANISATION, r.donor, r.grant, getattr(camp, "region", ""),
                    camp.name if camp else r.site, names.get(r.item, r.item), r.item, r.qty, len(r.households),
                    r.individuals, *[r.bands[k] for k in band_keys()], r.first_day, r.last_day,
                    _("completed") if r.last_day and r.last_day < timezone.localdate() else _("ongoing")])
    return out


REACH_COLUMNS = ["grant", "donor", "site", "item", "month", "qty", "households", "individuals", *band_keys()]


def reach_table(rows: list[ReachRow]) -> tuple[list[str], list[list]]:
    """Header and rows for CSV/XLSX; value columns per currency present."""
    currencies = sorted({c for r in rows for c in r.value})
    header = [*REACH_COLUMNS, *[f"value_{c}" for c in currencies]]
    body = []
    for r in rows:
        d = r.as_dict()
        body.append([d[c] for c in REACH_COLUMNS] + [r.value.get(c, "") for c in currencies])
    return header, body


def case_counts_by_category(qs: QuerySet[FeedbackCase]) -> list[dict]:
    return list(qs.values("category").annotate(total=Count("pk"), open=Count("pk", filter=~Q(
        status=CaseStatus.CLOSED))).order_by("category"))


def redemptions_for_household(household, *, after: datetime.datetime) -> QuerySet[Redemption]:
    """Hand-overs that can resolve a non-receipt complaint of this household."""
    return (Redemption.objects.filter(household=household, scanned_at__gte=after)
            .select_related("event").order_by("-scanned_at"))
