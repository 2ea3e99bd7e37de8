"""Pages: the feedback desk, PDM per event, donor reports and the 4W. Thin: access, then a service or selector."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from relief.accountability import access, export, selectors, services
from relief.accountability.models import CaseStatus, Category, Channel, FeedbackCase, Subject
from relief.core.params import day_or_none
from relief.distribution import access as distribution_access
from relief.inventory import selectors as inventory_selectors
from relief.inventory.models import Grant


def _context(title: str, **extra) -> dict:
    return {"title": title, **extra}


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for field, problems in exc.message_dict.items() if hasattr(exc, "error_dict") else [("", exc.messages)]:
        for problem in problems:
            messages.error(request, f"{field}: {problem}" if field else problem)


def _date(request: HttpRequest, name: str) -> datetime.date | None:
    value = (request.GET.get(name) or "").strip()
    parsed = day_or_none(value)
    if value and parsed is None:
        raise ValidationError({name: [_("give a date as YYYY-MM-DD")]})
    return parsed


def _case(user, number: str, *, for_write: bool = False) -> FeedbackCase:
    try:
        return access.case_for(user, number, for_write=for_write)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None


# --- feedback desk ---------------------------------------------------------------------------------------


@login_required
def cases(request: HttpRequest) -> HttpResponse:
    visible = access.cases_visible(request.user)
    status = request.GET.get("status", "active")
    category = request.GET.get("category", "")
    rows = selectors.cases_filter(visible, status=status, category=category if category in Category.values else "",
                                  overdue=request.GET.get("overdue") == "1",
                                  household=(request.GET.get("household") or "")[:20])[:500]
    return render(request, "accountability/cases.html", _context(
        _("Feedback cases"), cases=rows, status=status, category=category, statuses=CaseStatus.choices,
        categories=Category.choices, overdue=request.GET.get("overdue") == "1", today=timezone.localdate(),
        can_take=access.has_role(request.user, *access.TAKERS),
        can_import=access.has_role(request.user, *access.HANDLERS),
        counts=selectors.case_counts_by_category(visible)))


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    """Take a case: from the scanning table (household, event and channel come in the link) or at the desk."""
    access.require_taker(request.user)
    source = request.POST if request.method == "POST" else request.GET
    refs = services.CaseRefs(household=(source.get("household") or "")[:20], event=source.get("event") or None,
                             item=(source.get("item") or "")[:30], plot=(source.get("plot") or "")[:20])
    form = {"category": source.get("category", Category.COMPLAINT), "subject": source.get("subject", Subject.OTHER),
            "channel": source.get("channel", Channel.DESK), "description": source.get("description", ""),
            "sensitive": source.get("sensitive") == "on", "refs": refs}
    if request.method == "POST":
        try:
            found = services.case_refs_resolve(refs)
            site = (found.household.site if found.household else found.event.site if found.event
                    else found.plot.site if found.plot else None)
            access.require_taker_at(request.user, site)
            case = services.case_open(user=request.user, category=form["category"], subject=form["subject"],
                                      channel=form["channel"], description=form["description"],
                                      sensitive=form["sensitive"], refs=refs)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("%(number)s recorded, due %(due)s.") % {
                "number": case.number, "due": case.due_on.isoformat()})
            if case.sensitive and not access.sees_sensitive(request.user):
                messages.info(request, _("It is sensitive: only the named focal points see it from now on."))
                return redirect("accountability:cases")
            return redirect("accountability:case", number=case.number)
    return render(request, "accountability/case_new.html", _context(
        _("New feedback case"), form=form, categories=Category.choices, subjects=Subject.choices,
        channels=Channel.choices))


@login_required
def case(request: HttpRequest, number: str) -> HttpResponse:
    case = _case(request.user, number)
    if request.method == "POST":
        case = _case(request.user, number, for_write=True)
        try:
            services.case_action(case=case, user=request.user, action=request.POST.get("action", ""),
                                 assignee=request.POST.get("assignee", ""),
                                 referred_to=request.POST.get("referred_to", ""),
                                 answer=request.POST.get("answer", ""), redemption=request.POST.get("redemption"))
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("%(number)s updated.") % {"number": case.number})
        return redirect("accountability:case", number=case.number)
    handovers = []
    if case.subject == Subject.NON_RECEIPT and case.household_id and case.status != CaseStatus.CLOSED:
        handovers = list(selectors.redemptions_for_household(case.household, after=case.received_at)[:20])
    return render(request, "accountability/case.html", _context(
        case.number, case=case, handovers=handovers, today=timezone.localdate(),
        can_work=access.has_role(request.user, *access.HANDLERS) and case.status != CaseStatus.CLOSED,
        history=case.history.select_related("history_user").order_by("-history_date")[:50]))


@login_required
def cases_import(request: HttpRequest) -> HttpResponse:
    access.require_role(request.user, *access.HANDLERS)
    result = None
    if request.method == "POST":
        try:
            rows = export.read_rows(request.FILES.get("file"))
            result = services.cases_import_kobo(user=request.user, rows=rows)
        except export.UploadError as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("%(imported)d cases imported, %(skipped)d already there.") % result)
            return redirect("accountability:cases")
    return render(request, "accountability/import.html", _context(
        _("Import feedback from KoboToolbox"), result=result, fields=sorted(set(services.KOBO_FIELDS))))


# --- donor reporting ---------------------------------------------------------------------------------------


def _report_filters(request: HttpRequest) -> dict:
    return {"grant": (request.GET.get("grant") or "")[:40], "site": (request.GET.get("site") or "")[:10],
            "start": _date(request, "start"), "end": _date(request, "end")}


@login_required
def reach(request: HttpRequest) -> HttpResponse:
    """People and households reached per grant, site, item and month, by sex and age; CSV/XLSX."""
    access.require_reporter(request.user)
    try:
        filters = _report_filters(request)
    except ValidationError as exc:
        _errors(request, exc)
        filters = {"grant": "", "site": "", "start": None, "end": None}
    rows = selectors.reach(**filters)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "xlsx"):
        header, body = selectors.reach_table(rows)
        return export.download([header, *body], name="people-reached", fmt=fmt, sheet="reached")
    return render(request, "accountability/reach.html", _context(
        _("People reached"), rows=[r.as_dict() for r in rows], totals=selectors.reach_totals(rows),
        bands=selectors.band_keys(), filters=filters, grants=Grant.objects.select_related("donor")))


@login_required
def four_w(request: HttpRequest, fmt: str) -> HttpResponse:
    """The 4W with quantities and people reached by sex and age, an HXL hashtag row under the header."""
    access.require_reporter(request.user)
    try:
        filters = _report_filters(request)
    except ValidationError as exc:
        return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()), status=400,
                            content_type="text/plain; charset=utf-8")
    header = [str(label) for label, _tag in selectors.FOUR_W]
    tags = [tag for _label, tag in selectors.FOUR_W]
    return export.download([header, tags, *selectors.four_w_rows(**filters)], name="4w-shelter-nfi", fmt=fmt,
                           sheet="4W")


@login_required
def donor_values(request: HttpRequest) -> HttpResponse:
    """The valued donor report of a grant: each movement × the unit value of its lot, per currency."""
    access.require_reporter(request.user)
    grants = Grant.objects.select_related("donor")
    grant = grants.filter(code=request.GET.get("grant") or "").first() or grants.first()
    try:
        start, end = _date(request, "start"), _date(request, "end")
    except ValidationError as exc:
        _errors(request, exc)
        start = end = None
    report = inventory_selectors.donor_report_values(grant=grant, start=start, end=end) if grant else None
    fmt = request.GET.get("format", "")
    if report and fmt in ("csv", "xlsx"):
        columns = inventory_selectors.VALUE_COLUMNS
        rows = [["grant", "donor", "item", "currency", *columns]]
        rows += [[grant.code, grant.donor.code, r["item__code"], r["currency"], *[r[c] for c in columns]]
                 for r in report["rows"]]
        return export.download(rows, name=f"donor-values-{grant.pk}", fmt=fmt, sheet="values")
    return render(request, "accountability/donor_values.html", _context(
        _("Donor report in value"), grants=grants, grant=grant, report=report,
        columns=inventory_selectors.VALUE_COLUMNS))


# --- post-distribution monitoring ----------------------------------------------------------------------------


@login_required
def pdm(request: HttpRequest, event_id: int) -> HttpResponse:
    access.require_pdm_reader(request.user)
    event = distribution_access.event_for(request.user, event_id)
    if request.method == "POST":
        access.require_pdm_writer(request.user)
        try:
            size = int(request.POST.get("size") or 0)
            raw_seed = (request.POST.get("seed") or "").strip()
            seed = int(raw_seed) if raw_seed else None
        except ValueError:
            messages.error(request, _("size and seed: give whole numbers"))
        else:
            try:
                sample = services.pdm_sample_create(event=event, user=request.user, size=size, seed=seed)
            except ValidationError as exc:
                _errors(request, exc)
            else:
                messages.success(request, _("%(number)s drawn: %(size)d households, seed %(seed)d.") % {
                    "number": sample.number, "size": sample.size, "seed": sample.seed})
        return redirect("accountability:pdm", event_id=event.pk)
    return render(request, "accountability/pdm.html", _context(
        _("Post-distribution monitoring · %(number)s") % {"number": event.number}, event=event,
        summary=selectors.pdm_summary(event), can_write=access.has_role(request.user, *access.PDM_WRITERS)))


PDM_COLUMNS = ["position", "household", "block", "size", "stratum", "collected_on", "items", "received_all",
               "quality", "felt_safe", "minutes_waited", "interview_date"]


@login_required
def pdm_sample_xlsx(request: HttpRequest, number: str) -> HttpResponse:
    """The sample prefilled for the enumerators' Kobo form (its question names are the column names)."""
    try:
        sample = access.sample_for(request.user, number)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    distribution_access.event_for(request.user, sample.event_id)
    rows = [PDM_COLUMNS] + [[r[c] for c in PDM_COLUMNS[:7]] + ["", "", "", "", ""]
                            for r in selectors.pdm_rows(sample)]
    about = [["sample", sample.number], ["event", sample.event.number], ["seed", sample.seed],
             ["households served", sample.population], ["drawn", sample.size]]
    response = HttpResponse(export.table_xlsx([("pdm", rows), ("about", about)]), content_type=export.XLSX)
    response["Content-Disposition"] = f'attachment; filename="{sample.number}.xlsx"'
    return response


@login_required
@require_POST
def pdm_import(request: HttpRequest, number: str) -> HttpResponse:
    try:
        sample = access.sample_for(request.user, number, for_write=True)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    distribution_access.event_for(request.user, sample.event_id)
    try:
        result = services.pdm_answers_import(sample=sample, user=request.user,
                                             rows=export.read_rows(request.FILES.get("file")))
    except export.UploadError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("%(answered)d interviews imported.") % result)
    return redirect("accountability:pdm", event_id=sample.event_id)
