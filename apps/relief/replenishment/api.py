"""Replenishment API (``/api/v1/replenishment/``): plans and the dashboard's figures."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from relief.replenishment import access, selectors, services
from relief.replenishment.models import PurchaseApproval, ReplenishmentPlan, Truck

router = Router(tags=["replenishment"])


class ReplenishmentPlanIn(Schema):
    horizon_days: int = Field(services.DEFAULT_HORIZON_DAYS, description="Days from today the plan looks ahead")
    truck: str | None = Field(None, max_length=60, description="Truck name; the default truck when empty")


class LineOut(Schema):
    kind: str
    item: str
    warehouse: str
    source: str | None
    qty: int
    need_by: str | None
    dispatch_on: str | None
    arrive_on: str | None
    late_days: int
    truck_load: str
    needed_for: str
    lots: list
    explanation: str
    document: str


class ReplenishmentPlanOut(Schema):
    number: str
    status: str
    horizon_start: str
    horizon_end: str
    truck: str
    digest: str
    summary: dict
    lines: list[LineOut] = []


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _plan(plan: ReplenishmentPlan, *, lines: bool = True) -> dict:
    out = {"number": plan.number, "status": plan.status, "horizon_start": plan.horizon_start.isoformat(),
           "horizon_end": plan.horizon_end.isoformat(), "truck": plan.truck.name, "digest": plan.digest,
           "summary": plan.summary, "lines": []}
    if lines:
        out["lines"] = [{
            "kind": ln.kind, "item": ln.item.code, "warehouse": ln.warehouse.code,
            "source": ln.source.code if ln.source_id else None, "qty": ln.qty, "need_by": _iso(ln.need_by),
            "dispatch_on": _iso(ln.dispatch_on), "arrive_on": _iso(ln.arrive_on), "late_days": ln.late_days,
            "truck_load": ln.truck_load, "needed_for": ln.needed_for, "lots": ln.lots,
            "explanation": ln.explanation, "document": ln.document,
        } for ln in plan.lines.select_related("item", "warehouse", "source").order_by("pk")]
    return out


@router.get("/replenishment/plans",
            response=list[ReplenishmentPlanOut], summary="Latest replenishment plans (no lines)")
def plans(request):
    access.require_viewer(request.user)
    return [_plan(p, lines=False) for p in ReplenishmentPlan.objects.select_related("truck").order_by(
        "-created_at")[:50]]


@router.post("/replenishment/plans",
             response={201: ReplenishmentPlanOut}, summary="Compute a plan and keep it as a draft")
def plan_create(request, payload: ReplenishmentPlanIn):
    access.require_planner(request.user)
    truck = None
    if payload.truck:
        truck = Truck.objects.filter(name=payload.truck).first()
        if truck is None:
            raise ValidationError({"truck": _("unknown truck '%(name)s'") % {"name": payload.truck}})
    plan = services.plan_create(user=request.user, horizon_days=payload.horizon_days, truck=truck)
    return Status(201, _plan(plan))


@router.get("/replenishment/plans/{number}",
            response=ReplenishmentPlanOut, summary="One plan with every line and its reason")
def plan_detail(request, number: str):
    return _plan(access.plan_for(request.user, number))


@router.post("/replenishment/plans/{number}/submit", response=ReplenishmentPlanOut,
             summary="Submit a draft plan: draft transfers and purchase requests are created")
def plan_submit(request, number: str):
    plan = services.plan_submit(plan=access.plan_for(request.user, number, for_write=True), user=request.user)
    return _plan(plan)


@router.get("/replenishment/dashboard", response=dict, summary="The logistics dashboard's figures")
def dashboard(request):
    access.require_viewer(request.user)
    return selectors.dashboard()


def _purchase_request(pr) -> dict:
    approval = PurchaseApproval.objects.filter(request=pr).select_related("decided_by").first()
    return {"number": pr.number, "status": pr.status, "supplier": pr.supplier, "currency": pr.currency,
            "warehouse": pr.warehouse.code, "need_by": pr.need_by.isoformat(),
            "total": str(pr.total) if pr.total is not None else None,
            "total_usd": str(pr.total_usd) if pr.total_usd is not None else None,
            "approver_role": pr.approver_role,
            "decision": None if approval is None else {
                "decision": approval.decision, "by": approval.decided_by.username, "role": approval.role,
                "at": approval.decided_at.isoformat(), "note": approval.note},
            "lines": [{"item": ln.item.code, "qty": ln.qty, "unit_price": None if ln.unit_price is None
                       else str(ln.unit_price), "need_by": ln.need_by.isoformat()}
                      for ln in pr.lines.select_related("item").order_by("pk")]}


class DecisionIn(Schema):
    approve: bool
    note: str = Field("", max_length=300)


@router.get("/replenishment/purchase-requests/{number}", response=dict,
            summary="A purchase request: supplier, prices, total, who must approve, the decision")
def purchase_request_detail(request, number: str):
    return _purchase_request(access.purchase_request_for(request.user, number))


@router.post("/replenishment/purchase-requests/{number}/decision", response=dict,
             summary="Approve or reject a submitted purchase request (the role its total needs)")
def purchase_request_decision(request, number: str, payload: DecisionIn):
    pr = access.purchase_request_for(request.user, number, for_write=True)
    services.purchase_request_decide(request=pr, user=request.user, approve=payload.approve, note=payload.note)
    return _purchase_request(access.purchase_request_for(request.user, number))
