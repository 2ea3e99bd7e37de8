"""Pages: the logistics dashboard, the list of plans with "run a plan", one plan, its XLSX."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from relief.core.documents import DocumentError
from relief.core.jobs import job_start
from relief.core.roles import ADMINISTRATOR, has_role
from relief.replenishment import access, export, selectors
from relief.replenishment.export import plan_workbook
from relief.replenishment.models import PurchaseApproval, ReplenishmentPlan, Truck
from relief.replenishment.services import (
    DEFAULT_HORIZON_DAYS,
    MAX_HORIZON_DAYS,
    plan_submit,
    purchase_request_decide,
    purchase_request_submit,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    access.require_viewer(request.user)
    return render(request, "replenishment/dashboard.html", {"title": _("Logistics dashboard"),
                                                            "data": selectors.dashboard()})


def _horizon(raw: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationError({"horizon_days": _("give a whole number of days")}) from None


@login_required
def plans(request: HttpRequest) -> HttpResponse:
    access.require_viewer(request.user)
    if request.method == "POST":
        access.require_planner(request.user)
        try:
            days = _horizon(request.POST.get("horizon_days", ""))
            if not 1 <= days <= MAX_HORIZON_DAYS:
                raise ValidationError({"horizon_days": _("give 1 to %(max)d days from today") % {
                    "max": MAX_HORIZON_DAYS}})
            truck = Truck.objects.filter(pk=request.POST.get("truck") or None).first()
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            job = job_start(kind="replenishment-plan", function="relief.replenishment.services.plan_job",
                            arguments={"horizon_days": days, "truck_id": truck.pk if truck else None},
                            user=request.user, queue="default")
            return redirect("job", job_id=job.pk)
    return render(request, "replenishment/plans.html", {
        "title": _("Replenishment plans"),
        "plans": ReplenishmentPlan.objects.select_related("truck", "created_by").order_by("-created_at")[:30],
        "trucks": Truck.objects.all(), "default_days": DEFAULT_HORIZON_DAYS,
        "can_plan": has_role(request.user, *access.PLANNERS),
    })


@login_required
def plan(request: HttpRequest, number: str) -> HttpResponse:
    if request.method == "POST":
        found = access.plan_for(request.user, number, for_write=True)
        try:
            found = plan_submit(plan=found, user=request.user)
        except (DocumentError, ValidationError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("%(number)s submitted: draft transfers and purchase requests are ready in "
                                        "the desk.") % {"number": found.number})
        return redirect("replenishment:plan", number=number)
    found = access.plan_for(request.user, number)
    return render(request, "replenishment/plan.html", {
        "title": found.number, "plan": found, "lines": selectors.plan_lines(found),
        "can_submit": found.is_draft and has_role(request.user, *access.PLANNERS),
    })


@login_required
def plan_xlsx(request: HttpRequest, number: str) -> HttpResponse:
    found = access.plan_for(request.user, number)
    response = HttpResponse(plan_workbook(found), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{found.number}.xlsx"'
    return response


@login_required
def purchase_request(request: HttpRequest, number: str) -> HttpResponse:
    """A purchase request: its supplier, prices and total; send it for approval; approve or reject it."""
    if request.method == "POST":
        found = access.purchase_request_for(request.user, number, for_write=True)
        action = request.POST.get("action", "")
        try:
            if action == "submit":
                purchase_request_submit(request=found, user=request.user)
            elif action in ("approve", "reject"):
                purchase_request_decide(request=found, user=request.user, approve=action == "approve",
                                        note=request.POST.get("note", ""))
            else:
                raise ValidationError({"action": _("submit, approve or reject")})
        except (DocumentError, ValidationError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("%(number)s updated.") % {"number": found.number})
        return redirect("replenishment:purchase-request", number=number)
    found = access.purchase_request_for(request.user, number)
    approval = PurchaseApproval.objects.filter(request=found).select_related("decided_by").first()
    planner = has_role(request.user, *access.PLANNERS)
    return render(request, "replenishment/purchase_request.html", {
        "title": found.number, "pr": found, "approval": approval,
        "lines": found.lines.select_related("item").order_by("pk"),
        "can_submit": found.is_draft and planner,
        "can_decide": planner and found.status == "submitted" and approval is None
        and has_role(request.user, found.approver_role, ADMINISTRATOR) and found.submitted_by_id != request.user.pk,
    })


@login_required
def purchase_request_pdf(request: HttpRequest, number: str) -> HttpResponse:
    found = access.purchase_request_for(request.user, number)
    response = HttpResponse(export.purchase_request_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{found.number}.pdf"'
    return response
