"""Replenishment actions: run a plan, submit it (draft transfers and purchase requests), the pipeline.

Transfers are drafted through ``relief.inventory.services.stock_entry_create``: a draft moves no stock;
warehouse staff check it, load the truck and submit it, which posts it and opens its waybill.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.db import lock_rows, retry_on_deadlock
from relief.core.documents import DocStatus, DocumentError
from relief.core.roles import ADMINISTRATOR, has_role
from relief.core.services import document_cancel, document_lifecycle, document_submit
from relief.inventory import services as inventory
from relief.inventory.models import Warehouse
from relief.replenishment import planner, selectors
from relief.replenishment.models import (
    Decision,
    LineKind,
    Pipeline,
    PipelineArrival,
    PipelineLine,
    PlanLine,
    PurchaseApproval,
    PurchaseRequest,
    PurchaseRequestLine,
    ReplenishmentPlan,
    Truck,
)

DEFAULT_HORIZON_DAYS = 42
MAX_HORIZON_DAYS = 366


def plan_compute(*, horizon_days: int, truck: Truck | None = None,
                 today: datetime.date | None = None) -> tuple[planner.PlanInput, planner.PlanResult]:
    """Read the inputs and solve, without saving: for previews, exports and benchmarks."""
    today = today or timezone.localdate()
    if not isinstance(horizon_days, int) or isinstance(horizon_days, bool):
        raise ValidationError({"horizon_days": _("give a whole number of days")})
    if -36500 < horizon_days < 0:
        raise ValidationError({"horizon_days": _("the horizon ends on %(end)s, in the past: give 1 to %(max)d days "
                                                 "from today") % {"end": today + datetime.timedelta(days=horizon_days),
                                                                  "max": MAX_HORIZON_DAYS}})
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ValidationError({"horizon_days": _("give 1 to %(max)d days from today") % {"max": MAX_HORIZON_DAYS}})
    truck = truck or selectors.default_truck()
    inp = selectors.plan_input(today=today, horizon_end=today + datetime.timedelta(days=horizon_days), truck=truck)
    try:
        return inp, planner.plan(inp)
    except planner.PlanInputError as exc:
        raise ValidationError({"plan": exc.problems}) from exc


@retry_on_deadlock
def plan_create(*, user, horizon_days: int = DEFAULT_HORIZON_DAYS, truck: Truck | None = None,
                today: datetime.date | None = None) -> ReplenishmentPlan:
    """Solve and save the plan as a draft document; any missing input is refused, naming what is missing."""
    started = time.perf_counter()
    inp, result = plan_compute(horizon_days=horizon_days, truck=truck, today=today)
    seconds = round(time.perf_counter() - started, 3)
    counts: dict[str, int] = defaultdict(int)
    for line in result.lines:
        counts[line.kind] += 1
    with transaction.atomic():
        plan = ReplenishmentPlan.objects.create(
            horizon_start=inp.today, horizon_end=inp.horizon_end, truck=truck or selectors.default_truck(),
            digest=result.digest, created_by=user if user and user.pk else None,
            summary={"lines": dict(counts), "loads": result.loads, "seconds": seconds,
                     "demands": len(inp.demands), "supplies": len(inp.supplies)})
        PlanLine.objects.bulk_create([
            PlanLine(plan=plan, kind=ln.kind, item_id=ln.item_id, warehouse_id=ln.warehouse_id,
                     source_id=ln.source_id, qty=ln.qty, need_by=ln.need_by, dispatch_on=ln.dispatch_on,
                     arrive_on=ln.arrive_on, late_days=ln.late_days, weight_kg=ln.weight_kg,
                     volume_m3=ln.volume_m3, cost=ln.cost, truck_load=ln.truck_load,
                     needed_for=", ".join(ln.needed_for)[:400], lots=ln.lots, explanation=ln.explanation)
            for ln in result.lines
        ], batch_size=4000)
    return plan


def plan_job(*, job, horizon_days: int, truck_id: int | None = None) -> dict:
    """RQ job behind the "Run a plan" button: the job page then opens the plan."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    user = get_user_model().objects.filter(pk=job.created_by_id).first()
    truck = Truck.objects.filter(pk=truck_id).first() if truck_id else None
    plan = plan_create(user=user, horizon_days=horizon_days, truck=truck)
    return {"plan": plan.number, "next": reverse("replenishment:plan", args=[plan.number])}


def plan_outputs_create(*, plan: ReplenishmentPlan, user) -> None:
    """The submit hook: draft one transfer per truck load and one purchase request per warehouse."""
    if plan.horizon_start < timezone.localdate():
        raise DocumentError(_("%(number)s was computed on %(day)s; stock has moved since: run a new plan") % {
            "number": plan.number, "day": plan.horizon_start})
    lines = list(plan.lines.filter(kind__in=[LineKind.TRANSFER, LineKind.PURCHASE])
                 .select_related("item", "warehouse", "source").order_by("pk"))
    loads: dict[tuple, list[PlanLine]] = defaultdict(list)
    purchases: dict[int, list[PlanLine]] = defaultdict(list)
    for line in lines:
        if line.kind == LineKind.TRANSFER:
            loads[(line.source.code, line.warehouse.code, line.dispatch_on, line.truck_load)].append(line)
        else:
            purchases[line.warehouse_id].append(line)
    for (source, target, dispatch_on, truck_load), group in sorted(loads.items(), key=lambda kv: str(kv[0])):
        entry_lines = []
        for line in group:
            if line.lots:
                entry_lines += [inventory.LineData(item=line.item.code, qty=qty, source=source, target=target, lot=lot)
                                for lot, qty in line.lots]
            else:
                entry_lines.append(inventory.LineData(item=line.item.code, qty=line.qty, source=source, target=target))
        try:
            entry = inventory.stock_entry_create(
                entry_type="transfer", lines=entry_lines, user=user, reference=plan.number,
                remarks=_("From plan %(plan)s: truck %(load)s, dispatch on %(day)s, arrives %(arrive)s. %(why)s") % {
                    "plan": plan.number, "load": truck_load, "day": dispatch_on, "arrive": group[0].arrive_on,
                    "why": " ".join(ln.explanation for ln in group)})
        except ValidationError as exc:
            raise DocumentError(_("transfer %(src)s → %(dst)s cannot be drafted: %(why)s") % {
                "src": source, "dst": target, "why": "; ".join(exc.messages)}) from exc
        for line in group:
            line.document = entry.number
    for warehouse_id, group in sorted(purchases.items()):
        request = PurchaseRequest.objects.create(
            warehouse_id=warehouse_id, need_by=min(ln.need_by for ln in group), plan=plan.number, created_by=user,
            remarks=_("Drafted from plan %(plan)s") % {"plan": plan.number})
        PurchaseRequestLine.objects.bulk_create([
            PurchaseRequestLine(request=request, item_id=ln.item_id, qty=ln.qty, need_by=ln.need_by,
                                explanation=ln.explanation) for ln in group])
        for line in group:
            line.document = request.number
    PlanLine.objects.bulk_update(lines, ["document"])


# --- the pipeline ----------------------------------------------------------------------------------------


def pipeline_check(*, pipeline: Pipeline) -> None:
    """The submit hook of a pipeline: every line must name a warehouse that holds stock."""
    lines = list(pipeline.lines.select_related("warehouse", "item"))
    if not lines:
        raise DocumentError(_("%(number)s has no lines") % {"number": pipeline.number})
    problems = [
        _("line %(n)d: %(wh)s does not hold stock") % {"n": n, "wh": ln.warehouse.code}
        for n, ln in enumerate(lines, start=1)
        if ln.warehouse.kind in (Warehouse.Kind.REGION, Warehouse.Kind.TRANSIT) or not ln.warehouse.is_active
    ]
    if pipeline.grant_id and pipeline.grant.donor_id != pipeline.donor_id:
        problems.append(_("grant %(grant)s is not a grant of %(donor)s") % {
            "grant": pipeline.grant.code, "donor": pipeline.donor.code})
    if problems:
        raise DocumentError("; ".join(problems))


@retry_on_deadlock
def pipeline_arrival_record(*, line: PipelineLine, qty: int, receipt: str, user) -> PipelineArrival:
    """Record goods of a pipeline line that arrived (on a goods received note); they are no longer expected."""
    if not isinstance(qty, int) or qty < 1:
        raise ValidationError({"qty": _("must be a whole number of at least 1")})
    if not receipt.strip():
        raise ValidationError({"receipt": _("name the goods received note")})
    with transaction.atomic():
        line = lock_rows(PipelineLine.objects.filter(pk=line.pk))[0]
        if line.pipeline.status != DocStatus.SUBMITTED:
            raise DocumentError(_("%(number)s is %(status)s; only a submitted pipeline receives goods") % {
                "number": line.pipeline.number, "status": line.pipeline.status})
        arrived = sum(line.arrivals.values_list("qty", flat=True))
        if arrived + qty > line.qty:
            raise ValidationError({"qty": _("%(item)s: %(qty)d arrived, but only %(left)d of %(total)d are still "
                                             "expected") % {"item": line.item.code, "qty": qty,
                                                            "left": line.qty - arrived, "total": line.qty}})
        return PipelineArrival.objects.create(line=line, qty=qty, receipt=receipt.strip()[:40], recorded_by=user)


# --- purchase requests ------------------------------------------------------------------------------------


def usd(amount: Decimal, currency: str) -> Decimal:
    """An amount in US dollars at the site's rates (settings.RELIEF_USD_RATES)."""
    return (amount * Decimal(str(settings.RELIEF_USD_RATES[currency]))).quantize(Decimal("0.01"))


def approval_role_for(total_usd: Decimal) -> str:
    """The role that approves a purchase of this size: the first threshold the total is within."""
    for step in settings.RELIEF_PURCHASE_APPROVAL:
        if step["up_to_usd"] is None or total_usd <= Decimal(str(step["up_to_usd"])):
            return step["role"]
    return settings.RELIEF_PURCHASE_APPROVAL[-1]["role"]


def purchase_request_check(*, request: PurchaseRequest) -> None:
    """The submit hook (sending it for approval): supplier, currency and every price given, all problems at
    once; then its total and the role that must approve it are written while it is still a draft."""
    lines = list(request.lines.select_related("item").order_by("pk"))
    problems = []
    if not request.supplier.strip():
        problems.append(_("name the supplier"))
    if request.currency not in settings.RELIEF_USD_RATES:
        problems.append(_("choose the currency of the prices"))
    if not lines:
        problems.append(_("%(number)s has no lines") % {"number": request.number})
    problems += [_("line %(n)d (%(item)s): give the unit price") % {"n": n, "item": ln.item.code}
                 for n, ln in enumerate(lines, start=1) if ln.unit_price is None]
    if problems:
        raise DocumentError("; ".join(problems))
    request.total = sum((ln.unit_price * ln.qty for ln in lines), Decimal(0))
    request.total_usd = usd(request.total, request.currency)
    request.approver_role = approval_role_for(request.total_usd)
    request.save(update_fields=["total", "total_usd", "approver_role"])


@retry_on_deadlock
def purchase_request_decide(*, request: PurchaseRequest, user, approve: bool, note: str = "") -> PurchaseApproval:
    """Approve or reject a submitted request: once, by the role its total needs, not by who submitted it."""
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationError({"note": _("say why it is rejected")})
    if len(note) > 300:
        raise ValidationError({"note": _("at most 300 characters")})
    with transaction.atomic():
        request = lock_rows(PurchaseRequest.objects.filter(pk=request.pk))[0]
        if request.status != DocStatus.SUBMITTED:
            raise DocumentError(_("%(number)s is %(status)s; only a submitted request is approved") % {
                "number": request.number, "status": request.status})
        if PurchaseApproval.objects.filter(request=request).exists():
            raise DocumentError(_("%(number)s has been decided already") % {"number": request.number})
        if not has_role(user, request.approver_role, ADMINISTRATOR):
            raise PermissionDenied(_("%(number)s (%(total)s USD) is approved by a %(role)s") % {
                "number": request.number, "total": request.total_usd, "role": request.approver_role})
        if request.submitted_by_id == user.pk:
            raise PermissionDenied(_("Someone other than who sent it for approval decides on it."))
        return PurchaseApproval.objects.create(
            request=request, decision=Decision.APPROVED if approve else Decision.REJECTED,
            role=request.approver_role, note=note, decided_by=user)


# --- the lifecycle of plans, pipelines and purchase requests: the API, pages and desk all come here -----------


def plan_submit(*, plan: ReplenishmentPlan, user: AbstractBaseUser) -> ReplenishmentPlan:
    """Submit a plan: its transfers become draft stock entries and its purchases purchase requests."""
    return document_submit(document=plan, user=user)


def plan_cancel(*, plan: ReplenishmentPlan, user: AbstractBaseUser, reason: str) -> ReplenishmentPlan:
    """Mark a plan cancelled; the drafts it made stay, for the warehouses to submit or delete."""
    return document_cancel(document=plan, user=user, reason=reason)


def pipeline_submit(*, pipeline: Pipeline, user: AbstractBaseUser) -> Pipeline:
    return document_submit(document=pipeline, user=user)


def pipeline_cancel(*, pipeline: Pipeline, user: AbstractBaseUser, reason: str) -> Pipeline:
    """A pledge or order that will not come: it no longer counts as supply."""
    return document_cancel(document=pipeline, user=user, reason=reason)


def purchase_request_submit(*, request: PurchaseRequest, user: AbstractBaseUser) -> PurchaseRequest:
    return document_submit(document=request, user=user)


def purchase_request_cancel(*, request: PurchaseRequest, user: AbstractBaseUser, reason: str) -> PurchaseRequest:
    return document_cancel(document=request, user=user, reason=reason)


def _nothing_posted(document: object, user: AbstractBaseUser) -> None:
    """Plans, pipelines and purchase requests post nothing to a ledger: cancelling only marks them."""
    return None


document_lifecycle(ReplenishmentPlan, post=lambda plan, user: plan_outputs_create(plan=plan, user=user),
                   reverse=_nothing_posted)
document_lifecycle(Pipeline, post=lambda pipeline, user: pipeline_check(pipeline=pipeline), reverse=_nothing_posted)
# Submitting a purchase request sends it for approval (its prices checked and totalled).
document_lifecycle(PurchaseRequest, post=lambda request, user: purchase_request_check(request=request),
                   reverse=_nothing_posted)
