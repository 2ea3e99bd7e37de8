"""Replenishment: the road table and trucks, donor earmarks, the pipeline of expected goods, plans and
purchase requests.

A plan is a draft document computed from demand (pending entitlements, forecasts, reorder levels) and
supply (stock, goods in transit, the pipeline); submitting it drafts the transfers and purchase requests
its lines propose. Stock itself is never touched here: transfers are inventory's stock entries.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from relief.core.documents import Document, DocumentLine
from relief.inventory.models import CURRENCIES


class Route(models.Model):
    """A road between two warehouses: distance and the days a truck takes. Roads go both ways.

    Warehouses with no direct road are reached through others (shortest path by distance).
    """

    origin = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("from"))
    destination = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("to"))
    distance_km = models.DecimalField(_("distance km"), max_digits=8, decimal_places=1)
    lead_days = models.PositiveSmallIntegerField(_("lead time days"), help_text=_("Loading, road and unloading"))
    notes = models.CharField(_("notes"), max_length=200, blank=True, help_text=_("e.g. impassable in heavy rain"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["origin__code", "destination__code"]
        verbose_name = _("route")
        constraints = [
            models.UniqueConstraint(fields=["origin", "destination"], name="route_unique_pair"),
            models.CheckConstraint(condition=~Q(origin=F("destination")), name="route_two_places"),
            models.CheckConstraint(condition=Q(distance_km__gt=0), name="route_distance_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.origin_id}–{self.destination_id}: {self.distance_km} km"


class Truck(models.Model):
    """A truck type the plan loads: what it carries by weight and volume, and what a kilometre costs."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    capacity_kg = models.DecimalField(_("capacity kg"), max_digits=9, decimal_places=1)
    capacity_m3 = models.DecimalField(_("capacity m³"), max_digits=7, decimal_places=2)
    cost_per_km = models.DecimalField(_("cost per km"), max_digits=8, decimal_places=2,
                                      help_text=_("In the office's currency, for a loaded trip"))
    is_default = models.BooleanField(_("used by default"), default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("truck")
        constraints = [
            models.CheckConstraint(condition=Q(capacity_kg__gte=0) & Q(capacity_m3__gte=0) & Q(cost_per_km__gte=0),
                                   name="truck_figures_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.capacity_kg} kg, {self.capacity_m3} m³)"


class GrantEarmark(models.Model):
    """A donor's restriction: goods bought from this grant go only to distributions at these sites."""

    grant = models.OneToOneField("inventory.Grant", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("grant"))
    sites = models.ManyToManyField("core.Site", related_name="+", verbose_name=_("only for sites"))
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    history = HistoricalRecords(m2m_fields=[sites])

    class Meta:
        verbose_name = _("grant earmark")

    def __str__(self) -> str:
        return str(self.grant_id)


class PipelineStage(models.TextChoices):
    PLEDGED = "pledged", _("Pledged")
    ORDERED = "ordered", _("Ordered")


class Pipeline(Document):
    """Goods a donor pledged or a supplier was ordered to deliver: expected, not yet received."""

    naming_series = "PIP-{year}-"

    donor = models.ForeignKey("inventory.Donor", on_delete=models.PROTECT, related_name="+", verbose_name=_("donor"))
    grant = models.ForeignKey("inventory.Grant", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("grant"))
    stage = models.CharField(_("stage"), max_length=10, choices=PipelineStage.choices, default=PipelineStage.PLEDGED)
    reference = models.CharField(_("pledge or order reference"), max_length=60, blank=True)
    supplier = models.CharField(_("supplier"), max_length=120, blank=True)
    remarks = models.TextField(_("remarks"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipeline")


class PipelineLine(DocumentLine):
    document_field = "pipeline"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+", verbose_name=_("item"))
    qty = models.PositiveIntegerField(_("quantity"))
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("delivered to"))
    expected_on = models.DateField(_("expected on"))
    expiry = models.DateField(_("expiry"), null=True, blank=True)

    class Meta:
        ordering = ["pipeline", "expected_on", "pk"]
        verbose_name = _("pipeline line")
        constraints = [models.CheckConstraint(condition=Q(qty__gte=1), name="pipeline_line_qty_positive")]

    def __str__(self) -> str:
        return f"{self.qty} × {self.item_id}"


class PipelineArrival(models.Model):
    """What has arrived of a pipeline line (the goods received note that took it in); the rest is expected."""

    line = models.ForeignKey(PipelineLine, on_delete=models.PROTECT, related_name="arrivals")
    qty = models.PositiveIntegerField(_("quantity"))
    receipt = models.CharField(_("goods received note"), max_length=40)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        verbose_name = _("pipeline arrival")
        constraints = [models.CheckConstraint(condition=Q(qty__gte=1), name="pipeline_arrival_qty_positive")]

    def __str__(self) -> str:
        return f"{self.receipt}: {self.qty}"


class ReplenishmentPlan(Document):
    """One run of the planner over a horizon: every shortfall, and where its cover comes from."""

    naming_series = "RP-{year}-"

    horizon_start = models.DateField(_("from"))
    horizon_end = models.DateField(_("to"))
    truck = models.ForeignKey(Truck, on_delete=models.PROTECT, related_name="+", verbose_name=_("truck"))
    digest = models.CharField(_("input digest"), max_length=64, editable=False,
                              help_text=_("Same inputs, same digest, same plan"))
    summary = models.JSONField(_("summary"), default=dict, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("replenishment plan")
        constraints = [models.CheckConstraint(condition=Q(horizon_end__gte=F("horizon_start")),
                                              name="plan_horizon_ordered")]


class LineKind(models.TextChoices):
    SHORTFALL = "shortfall", _("Shortfall")
    TRANSFER = "transfer", _("Transfer")
    PURCHASE = "purchase", _("Purchase")
    SURPLUS = "surplus", _("Surplus")
    EXPIRING = "expiring", _("Expires before use")


class PlanLine(DocumentLine):
    document_field = "plan"

    plan = models.ForeignKey(ReplenishmentPlan, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("kind"), max_length=10, choices=LineKind.choices)
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+", verbose_name=_("item"))
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("warehouse"))
    source = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("from"))
    qty = models.PositiveIntegerField(_("quantity"))
    need_by = models.DateField(_("needed by"), null=True, blank=True)
    dispatch_on = models.DateField(_("dispatch on"), null=True, blank=True)
    arrive_on = models.DateField(_("arrives on"), null=True, blank=True)
    late_days = models.PositiveIntegerField(_("days late"), default=0)
    weight_kg = models.DecimalField(_("weight kg"), max_digits=12, decimal_places=1, default=0)
    volume_m3 = models.DecimalField(_("volume m³"), max_digits=10, decimal_places=2, default=0)
    cost = models.DecimalField(_("transport cost"), max_digits=12, decimal_places=2, default=0)
    truck_load = models.CharField(_("truck"), max_length=20, blank=True, help_text=_("e.g. 2 of 3"))
    needed_for = models.CharField(_("needed for"), max_length=400, blank=True)
    lots = models.JSONField(_("lots"), default=list, blank=True)
    explanation = models.TextField(_("why"))
    document = models.CharField(_("drafted as"), max_length=40, blank=True)

    class Meta:
        ordering = ["plan", "pk"]
        verbose_name = _("plan line")
        constraints = [models.CheckConstraint(condition=Q(qty__gte=1), name="plan_line_qty_positive")]

    def __str__(self) -> str:
        return f"{self.kind} {self.qty} × {self.item_id}"


class PurchaseRequest(Document):
    """Goods to buy because no warehouse can cover them, from which supplier, at what price, and when.

    Submitting it sends it for approval: it must name a supplier, a currency and a unit price on every line,
    and its total (converted to US dollars at the site's rates) decides which role approves it
    (``settings.RELIEF_PURCHASE_APPROVAL``). The decision is its own row (``PurchaseApproval``): the request
    itself is never changed once submitted.
    """

    naming_series = "PR-{year}-"

    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("deliver to"))
    need_by = models.DateField(_("needed by"))
    plan = models.CharField(_("from plan"), max_length=40, blank=True)
    supplier = models.CharField(_("supplier"), max_length=120, blank=True)
    supplier_contact = models.CharField(_("supplier contact"), max_length=200, blank=True,
                                        help_text=_("Address, phone or e-mail the order goes to"))
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, blank=True)
    grant = models.ForeignKey("inventory.Grant", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("charged to grant"))
    remarks = models.TextField(_("remarks"), blank=True)
    # Set when it is submitted (sent for approval), from its lines and the approval thresholds.
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2, null=True, blank=True, editable=False)
    total_usd = models.DecimalField(_("total in USD"), max_digits=16, decimal_places=2, null=True, blank=True,
                                    editable=False)
    approver_role = models.CharField(_("approved by role"), max_length=40, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("purchase request")


class PurchaseRequestLine(DocumentLine):
    document_field = "request"

    request = models.ForeignKey(PurchaseRequest, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+", verbose_name=_("item"))
    qty = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2, null=True, blank=True,
                                     help_text=_("In the request's currency"))
    need_by = models.DateField(_("needed by"))
    explanation = models.TextField(_("why"), blank=True)

    class Meta:
        verbose_name = _("purchase request line")
        constraints = [models.CheckConstraint(condition=Q(qty__gte=1), name="purchase_line_qty_positive"),
                       models.CheckConstraint(condition=Q(unit_price__isnull=True) | Q(unit_price__gte=0),
                                              name="purchase_line_price_not_negative")]

    def __str__(self) -> str:
        return f"{self.qty} × {self.item_id}"

    @property
    def amount(self):
        return None if self.unit_price is None else self.unit_price * self.qty


class Decision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class PurchaseApproval(models.Model):
    """The approval step of a submitted purchase request: one decision, by someone holding the role its total
    needs, never the person who submitted it."""

    request = models.OneToOneField(PurchaseRequest, on_delete=models.PROTECT, related_name="approval")
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    role = models.CharField(_("as role"), max_length=40)
    note = models.CharField(_("note"), max_length=300, blank=True)
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("decided by"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("purchase approval")
        constraints = [models.CheckConstraint(condition=Q(decision__in=["approved", "rejected"]),
                                              name="purchase_approval_decision_known")]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.decision}"
