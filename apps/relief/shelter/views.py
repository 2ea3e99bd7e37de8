"""Shelter pages: camps, occupancy and map, a plot's history and actions, the waiting list, plan review.

Views parse the form, call a service and report; refusals come back as messages naming the field.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from relief.core import jobs
from relief.core.documents import DocumentError
from relief.core.params import whole_number
from relief.shelter import access, selectors, services
from relief.shelter.models import AllocationPlan, EndReason, WaitingReason
from relief.shelter.planner import Weights


def _report(request: HttpRequest, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, problems in exc.message_dict.items():
            messages.error(request, f"{field}: {' '.join(problems)}")
    elif isinstance(exc, ValidationError):
        messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, str(exc))


@login_required
def sites(request: HttpRequest) -> HttpResponse:
    rows = [selectors.occupancy(site=site) for site in access.sites_for(request.user)]
    return render(request, "shelter/sites.html", {"title": _("Shelter"), "rows": rows,
                                                  "can_write": access.can_write(request.user)})


@login_required
def site(request: HttpRequest, code: str) -> HttpResponse:
    found = access.site_for(request.user, code)
    data = selectors.occupancy(site=found)
    plans = AllocationPlan.objects.filter(site=found).order_by("-created_at")[:10]
    return render(request, "shelter/site.html", {"title": _("Occupancy: %(site)s") % {"site": found.name},
                                                 "data": data, "site": found, "plans": plans,
                                                 "can_write": access.can_write(request.user)})


@login_required
def site_map(request: HttpRequest, code: str) -> HttpResponse:
    found = access.site_for(request.user, code)
    response = HttpResponse(selectors.site_map_svg(site=found), content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def plot(request: HttpRequest, code: str, plot_code: str) -> HttpResponse:
    found = access.site_for(request.user, code)
    the_plot = access.plot_for(request.user, plot_code, site=found)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            the_plot = access.plot_for(request.user, plot_code, site=found, for_write=True)
            if action == "allocate":
                household = access.household_for(request.user, request.POST.get("household", ""))
                done = services.plot_allocate(user=request.user, plot=the_plot, household=household,
                                              override_reason=request.POST.get("override_reason", ""))
                messages.success(request, _("%(number)s: plot allocated.") % {"number": done.number})
            elif action == "relocate":
                household = access.household_for(request.user, request.POST.get("household", ""))
                done = services.household_relocate(user=request.user, household=household, plot=the_plot,
                                                   override_reason=request.POST.get("override_reason", ""),
                                                   note=request.POST.get("note", ""))
                messages.success(request, _("%(number)s: household relocated here.") % {"number": done.number})
            elif action == "end":
                allocation = access.allocation_for(request.user, request.POST.get("allocation", ""), for_write=True)
                services.allocation_end(user=request.user, allocation=allocation,
                                        reason=request.POST.get("reason", ""), note=request.POST.get("note", ""))
                messages.success(request, _("%(number)s ended; the plot is vacant.") % {"number": allocation.number})
            elif action in ("unusable", "vacant"):
                services.plot_set_status(user=request.user, plot=the_plot, status=action,
                                         note=request.POST.get("note", ""))
                messages.success(request, _("Plot status changed."))
            else:
                messages.error(request, _("Unknown action."))
        except (ValidationError, DocumentError) as exc:
            _report(request, exc)
        return redirect("shelter:plot", code=found.code, plot_code=the_plot.code)
    history = selectors.plot_history(plot=the_plot)
    return render(request, "shelter/plot.html", {
        "title": _("Plot %(plot)s") % {"plot": the_plot.code}, "site": found, "plot": the_plot,
        "history": history, "active": next((a for a in history if a.ended_at is None), None),
        "can_write": access.can_write(request.user), "can_override": access.can_override(request.user),
        "end_reasons": [(r.value, r.label) for r in EndReason if r in services.MANUAL_END_REASONS],
    })


@login_required
def waiting(request: HttpRequest, code: str) -> HttpResponse:
    found = access.site_for(request.user, code)
    if request.method == "POST":
        try:
            access.site_for(request.user, code, for_write=True)
            household = access.household_for(request.user, request.POST.get("household", ""))
            services.waiting_add(user=request.user, household=household,
                                 reason=request.POST.get("reason", WaitingReason.NEW_ARRIVAL),
                                 note=request.POST.get("note", ""))
            messages.success(request, _("Added to the waiting list."))
        except ValidationError as exc:
            _report(request, exc)
        return redirect("shelter:waiting", code=found.code)
    rows = selectors.waiting_rows(site=found)
    shown = whole_number(request.GET.get("show"), 300)
    return render(request, "shelter/waiting.html", {
        "title": _("Waiting list: %(site)s") % {"site": found.name}, "site": found, "rows": rows[:shown],
        "count": len(rows), "can_write": access.can_write(request.user), "reasons": WaitingReason.choices,
        "no_consent": sum(1 for r in rows if not r.shelter_consent),
        "weights": Weights().as_dict(),
    })


@login_required
@require_POST
def plan_start(request: HttpRequest, code: str) -> HttpResponse:
    found = access.site_for(request.user, code, for_write=True)
    raw = {name: request.POST[name] for name in Weights().as_dict() if request.POST.get(name, "").strip()}
    try:
        services.weights_from(raw)
    except ValidationError as exc:
        _report(request, exc)
        return redirect("shelter:waiting", code=found.code)
    job = jobs.job_start(kind="shelter plan", function="relief.shelter.services.plan_job",
                         arguments={"site_id": found.pk, "user_id": request.user.pk, "weights": raw},
                         user=request.user, queue="default")
    return redirect("job", job_id=job.pk)


@login_required
def plan(request: HttpRequest, number: str) -> HttpResponse:
    the_plan = access.plan_for(request.user, number)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            the_plan = access.plan_for(request.user, number, for_write=True)
            if action == "line":
                line = the_plan.lines.filter(line_no=request.POST.get("line", "0") or 0).first()
                if line is None:
                    raise ValidationError({"line": [_("no such line")]})
                code = request.POST.get("plot", "").strip()
                target = None
                if code:
                    target = the_plan.site.plots.filter(code__iexact=code).first()
                    if target is None:
                        raise ValidationError({"plot": [_("no such plot in %(site)s") % {"site": the_plan.site.code}]})
                services.plan_line_set_plot(user=request.user, line=line, plot=target)
                messages.success(request, _("Line %(line)s changed.") % {"line": line.line_no})
            elif action == "submit":
                services.plan_submit(user=request.user, plan=the_plan)
                messages.success(request, _("%(number)s submitted: the plots are allocated.")
                                 % {"number": the_plan.number})
                return redirect("shelter:site", code=the_plan.site.code)
            elif action == "delete" and the_plan.is_draft:
                the_plan.lines.all().delete()
                the_plan.delete()
                messages.success(request, _("Draft deleted."))
                return redirect("shelter:waiting", code=the_plan.site.code)
        except (ValidationError, DocumentError) as exc:
            _report(request, exc)
        return redirect(reverse("shelter:plan", args=[the_plan.number]) + "?" + request.GET.urlencode())
    unplaced = request.GET.get("unplaced") == "1"
    offset = whole_number(request.GET.get("offset"), 0)
    page = selectors.plan_lines(plan=the_plan, unplaced_only=unplaced, offset=offset, limit=200)
    return render(request, "shelter/plan.html", {
        "title": _("Allocation plan %(number)s") % {"number": the_plan.number}, "plan": the_plan, "page": page,
        "unplaced": unplaced, "can_write": access.can_write(request.user) and the_plan.is_draft,
        "next_offset": offset + 200 if offset + 200 < page["count"] else None,
        "previous_offset": max(offset - 200, 0) if offset else None,
    })
