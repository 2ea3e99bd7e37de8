"""API: feedback cases (list, take, read), donor reporting (people reached, 4W rows, valued donor report).

The same access helpers and services as the pages: a sensitive case does not exist for anyone not named.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ObjectDoesNotExist
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from relief.accountability import access, selectors, services
from relief.accountability.models import FeedbackCase
from relief.inventory import selectors as inventory_selectors
from relief.inventory.models import Grant

router = Router(tags=["accountability"])


class ApiError(Schema):
    detail: str


class CaseIn(Schema):
    category: str = Field(max_length=12)
    subject: str = Field("other", max_length=12)
    channel: str = Field("desk", max_length=8)
    description: str = Field(min_length=1, max_length=4000)
    sensitive: bool = False
    household: str = Field("", max_length=20)
    event: int | None = Field(None, ge=1, le=2**40)
    item: str = Field("", max_length=30)
    plot: str = Field("", max_length=20)


class CaseOut(Schema):
    number: str
    category: str
    subject: str
    status: str
    sensitive: bool
    household: str | None
    event: str | None
    item: str | None
    site: str | None
    due_on: datetime.date
    overdue: bool


def _out(case: FeedbackCase) -> dict:
    return {"number": case.number, "category": case.category, "subject": case.subject, "status": case.status,
            "sensitive": case.sensitive, "household": case.household.number if case.household_id else None,
            "event": case.event.number if case.event_id else None, "item": case.item.code if case.item_id else None,
            "site": case.site.code if case.site_id else None, "due_on": case.due_on, "overdue": case.is_overdue}


@router.get("/accountability/feedback", response={200: list[CaseOut], 403: ApiError})
def feedback_list(request, status: str = "active", overdue: bool = False, household: str = "",
                  limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000)):
    rows = selectors.cases_filter(access.cases_visible(request.user), status=status[:10], overdue=overdue,
                                  household=household[:20])
    return [_out(c) for c in rows[offset:offset + limit]]


@router.post("/accountability/feedback", response={201: CaseOut, 403: ApiError, 422: ApiError})
def feedback_create(request, payload: CaseIn):
    access.require_taker(request.user)
    refs = services.CaseRefs(household=payload.household, event=payload.event, item=payload.item, plot=payload.plot)
    found = services.case_refs_resolve(refs)
    site = (found.household.site if found.household else found.event.site if found.event
            else found.plot.site if found.plot else None)
    access.require_taker_at(request.user, site)
    case = services.case_open(user=request.user, category=payload.category, subject=payload.subject,
                              channel=payload.channel, description=payload.description, sensitive=payload.sensitive,
                              refs=refs)
    return Status(201, _out(case))


@router.get("/accountability/feedback/{number}", response={200: CaseOut, 403: ApiError, 404: ApiError})
def feedback_get(request, number: str):
    try:
        return _out(access.case_for(request.user, number[:30]))
    except ObjectDoesNotExist as exc:
        return Status(404, {"detail": str(exc)})


class ActionIn(Schema):
    action: str = Field(max_length=10)
    assignee: str = Field("", max_length=150)
    referred_to: str = Field("", max_length=120)
    answer: str = Field("", max_length=4000)
    redemption: int | None = Field(None, ge=1, le=2**62)


@router.post("/accountability/feedback/{number}/actions",
             response={200: CaseOut, 403: ApiError, 404: ApiError, 422: ApiError})
def feedback_action(request, number: str, payload: ActionIn):
    """assign (assignee), refer (referred_to), answer (answer), close (answer if none yet), resolve (redemption)."""
    try:
        case = access.case_for(request.user, number[:30], for_write=True)
    except ObjectDoesNotExist as exc:
        return Status(404, {"detail": str(exc)})
    case = services.case_action(case=case, user=request.user, **payload.dict())
    return _out(access.case_for(request.user, case.number))


class ReachOut(Schema):
    grant: str
    donor: str
    site: str
    item: str
    month: str
    qty: int
    value: dict[str, str]
    households: int
    individuals: int
    by_sex_and_age: dict[str, int]


@router.get("/accountability/reports/reached", response={200: list[ReachOut], 403: ApiError})
def reached(request, grant: str = Query("", max_length=40), site: str = Query("", max_length=10),
            start: datetime.date | None = None, end: datetime.date | None = None):
    access.require_reporter(request.user)
    return [{**{k: v for k, v in r.as_dict().items() if k in ReachOut.model_fields}, "by_sex_and_age": r.bands}
            for r in selectors.reach(grant=grant, site=site, start=start, end=end)]


@router.get("/accountability/reports/4w", response={200: dict, 403: ApiError})
def four_w(request, grant: str = Query("", max_length=40), site: str = Query("", max_length=10),
           start: datetime.date | None = None, end: datetime.date | None = None):
    """The 4W as JSON: ``header``, ``hxl`` (the hashtag row) and ``rows``."""
    access.require_reporter(request.user)
    rows = selectors.four_w_rows(grant=grant, site=site, start=start, end=end)
    return {"header": [str(label) for label, _tag in selectors.FOUR_W], "hxl": [t for _l, t in selectors.FOUR_W],
            "rows": [[v.isoformat() if isinstance(v, datetime.date) else v for v in row] for row in rows]}


@router.get("/accountability/reports/donor-values", response={200: dict, 403: ApiError, 404: ApiError})
def donor_values(request, grant: str = Query(max_length=40), start: datetime.date | None = None,
                 end: datetime.date | None = None):
    access.require_reporter(request.user)
    found = Grant.objects.select_related("donor").filter(code=grant).first()
    if found is None:
        return Status(404, {"detail": f"unknown grant '{grant}'"})
    report = inventory_selectors.donor_report_values(grant=found, start=start, end=end)
    return {"grant": found.code, "donor": found.donor.code, "start": report["start"].isoformat(),
            "end": report["end"].isoformat(),
            "rows": [{"item": r["item__code"], "currency": r["currency"],
                      **{c: str(r[c]) for c in inventory_selectors.VALUE_COLUMNS}} for r in report["rows"]],
            "totals": [{k: str(v) for k, v in t.items()} for t in report["totals"]],
            "unvalued": report["unvalued"]}
