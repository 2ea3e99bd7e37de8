"""Shelter: plots in the blocks of a site, who lives on which plot, who waits for one, and plans.

The database holds the rules that must never break whatever path writes: one active
allocation per plot and per household (a generated "active key" column with a unique
index, since MariaDB has no partial unique indexes and NULLs never collide), reserved
land never allocated, covered area within the plot.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from relief.core.documents import Document, DocumentLine
from relief.core.models import Block, Site
from relief.shelter.rules import SPHERE_M2_PER_PERSON


class ShelterType(models.TextChoices):
    EMERGENCY_TENT = "tent", _("Emergency tent")
    TRANSITIONAL = "transitional", _("Transitional shelter")
    MUD_BRICK = "mud_brick", _("Mud-brick house")
    NONE = "none", _("No shelter yet")


class LandUse(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential plot")
    FIREBREAK = "firebreak", _("Firebreak (reserved)")
    ROAD = "road", _("Road (reserved)")
    SERVICES = "services", _("Services: latrines, water, school (reserved)")


class PlotStatus(models.TextChoices):
    VACANT = "vacant", _("Vacant")
    ALLOCATED = "allocated", _("Allocated")
    UNUSABLE = "unusable", _("Unusable")


class Plot(models.Model):
    """A piece of land in a block. Only residential plots are ever allocated."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="plots", verbose_name=_("site"))
    block = models.ForeignKey(Block, on_delete=models.PROTECT, related_name="plots", verbose_name=_("block"))
    code = models.CharField(_("code"), max_length=20, help_text=_("Unique in its site, e.g. B03-017"))
    land_use = models.CharField(_("land use"), max_length=12, choices=LandUse.choices, default=LandUse.RESIDENTIAL)
    area_m2 = models.DecimalField(_("plot area (m²)"), max_digits=7, decimal_places=1)
    covered_m2 = models.DecimalField(_("covered area of its shelter (m²)"), max_digits=6, decimal_places=1,
                                     default=0)
    shelter_type = models.CharField(_("shelter type"), max_length=12, choices=ShelterType.choices,
                                    default=ShelterType.NONE)
    accessible = models.BooleanField(_("accessible"), default=False,
                                     help_text=_("Flat, ramp at most 1:10, door at least 90 cm"))
    near_lighting = models.BooleanField(_("near lighting"), default=False)
    near_latrine = models.BooleanField(_("near latrines and water"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=PlotStatus.choices, default=PlotStatus.VACANT)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    polygon = models.JSONField(_("polygon"), null=True, blank=True, help_text=_("[[lat, lon], ...]"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    history = HistoricalRecords()

    Status = PlotStatus

    class Meta:
        ordering = ["site", "code"]
        verbose_name = _("plot")
        indexes = [models.Index(fields=["site", "status"]), models.Index(fields=["block", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["site", "code"], name="plot_code_unique_per_site"),
            models.CheckConstraint(
                condition=Q(land_use=LandUse.RESIDENTIAL) | ~Q(status=PlotStatus.ALLOCATED),
                name="plot_reserved_never_allocated",
            ),
            models.CheckConstraint(
                condition=Q(covered_m2__gte=0) & Q(covered_m2__lte=F("area_m2")), name="plot_covered_within_area"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def reserved(self) -> bool:
        return self.land_use != LandUse.RESIDENTIAL

    def capacity_people(self) -> int:
        """How many people its shelter houses at the Sphere minimum."""
        return int(float(self.covered_m2) // SPHERE_M2_PER_PERSON)


class EndReason(models.TextChoices):
    RELOCATED = "relocated", _("Relocated to another plot")
    DEPARTED = "departed", _("Household left the site")
    RETURNED = "returned", _("Household returned home")
    DECEASED = "deceased", _("Last member of the household died")
    TRANSFERRED = "transferred", _("Household transferred to another site")
    MERGED = "merged", _("Household merged into another")
    ERROR = "error", _("Recorded in error")
    OTHER = "other", _("Other")


class AllocationSource(models.TextChoices):
    DESK = "desk", _("Allocated at the desk")
    PLAN = "plan", _("Allocation plan")
    RELOCATION = "relocation", _("Relocation")
    MERGE = "merge", _("Household merge")


class Allocation(models.Model):
    """One household living on one plot from ``started_at`` until ``ended_at``; never deleted."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    plot = models.ForeignKey(Plot, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("plot"))
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="allocations",
                                  verbose_name=_("household"))
    source = models.CharField(_("source"), max_length=12, choices=AllocationSource.choices,
                              default=AllocationSource.DESK)
    plan = models.ForeignKey("AllocationPlan", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="allocations", verbose_name=_("plan"))
    previous = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="next", verbose_name=_("relocated from"))
    # Check codes an Administrator overrode ("sphere", "access") and why.
    overrides = models.JSONField(_("overridden checks"), default=list, blank=True)
    override_reason = models.CharField(_("override reason"), max_length=300, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   related_name="+", verbose_name=_("allocated by"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("ended by"))
    end_reason = models.CharField(_("end reason"), max_length=12, choices=EndReason.choices, blank=True)
    end_note = models.CharField(_("end note"), max_length=200, blank=True)
    # Equal to plot_id / household_id while active, NULL once ended: unique indexes on them
    # let the database refuse a second active allocation of a plot or of a household.
    active_plot_key = models.GeneratedField(
        expression=Case(When(ended_at__isnull=True, then=F("plot_id")), default=None),
        output_field=models.BigIntegerField(null=True),
        db_persist=True,
    )
    active_household_key = models.GeneratedField(
        expression=Case(When(ended_at__isnull=True, then=F("household_id")), default=None),
        output_field=models.BigIntegerField(null=True),
        db_persist=True,
    )
    history = HistoricalRecords(excluded_fields=["active_plot_key", "active_household_key"])

    naming_series: ClassVar[str] = "ALC-{year}-"

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("allocation")
        constraints = [
            models.UniqueConstraint(fields=["active_plot_key"], name="allocation_one_active_per_plot"),
            models.UniqueConstraint(fields=["active_household_key"], name="allocation_one_active_per_household"),
            models.CheckConstraint(
                condition=(Q(ended_at__isnull=True) & Q(end_reason=""))
                | (Q(ended_at__isnull=False) & ~Q(end_reason="")),
                name="allocation_end_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class WaitingReason(models.TextChoices):
    NEW_ARRIVAL = "new_arrival", _("New arrival")
    RELOCATION = "relocation", _("Needs relocation")
    OVERCROWDED = "overcrowded", _("Shelter too small for the household")


class WaitingStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    ALLOCATED = "allocated", _("Allocated")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class WaitingEntry(models.Model):
    """A household waiting for a plot in a site. Its rank is computed when read, never stored."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="waiting_entries",
                             verbose_name=_("site"))
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT,
                                  related_name="waiting_entries", verbose_name=_("household"))
    reason = models.CharField(_("reason"), max_length=12, choices=WaitingReason.choices,
                              default=WaitingReason.NEW_ARRIVAL)
    since = models.DateTimeField(_("waiting since"), default=timezone.now)
    status = models.CharField(_("status"), max_length=10, choices=WaitingStatus.choices,
                              default=WaitingStatus.WAITING)
    note = models.CharField(_("note"), max_length=200, blank=True)
    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("allocation"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # A household waits at most once at a time (same device as Allocation's active keys).
    open_household_key = models.GeneratedField(
        expression=Case(When(status=WaitingStatus.WAITING, then=F("household_id")), default=None),
        output_field=models.BigIntegerField(null=True),
        db_persist=True,
    )
    history = HistoricalRecords(excluded_fields=["open_household_key"])

    Status = WaitingStatus

    class Meta:
        ordering = ["since"]
        verbose_name = _("waiting-list entry")
        verbose_name_plural = _("waiting list")
        indexes = [models.Index(fields=["site", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["open_household_key"], name="waiting_one_open_per_household"),
        ]

    def __str__(self) -> str:
        return f"{self.site.code} {self.get_reason_display()} {self.since:%Y-%m-%d}"


class AllocationPlan(Document):
    """The planner's proposal for a site: reviewed and edited as a draft, submitted to allocate."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="allocation_plans",
                             verbose_name=_("site"))
    weights = models.JSONField(_("weights"), default=dict, editable=False)
    waiting_count = models.PositiveIntegerField(_("households waiting"), default=0, editable=False)
    vacant_count = models.PositiveIntegerField(_("plots vacant"), default=0, editable=False)
    solve_seconds = models.FloatField(_("solver time (s)"), default=0, editable=False)
    history = HistoricalRecords()

    naming_series: ClassVar[str] = "SPL-{year}-"

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("allocation plan")
        permissions = [("submit_allocationplan", _("Can submit an allocation plan"))]


class AllocationPlanLine(DocumentLine):
    """One household of a plan and the plot proposed (or chosen by the officer) for it."""

    document_field: ClassVar[str] = "plan"

    plan = models.ForeignKey(AllocationPlan, on_delete=models.CASCADE, related_name="lines",
                             verbose_name=_("plan"))
    line_no = models.PositiveIntegerField(_("line"))
    entry = models.ForeignKey(WaitingEntry, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("waiting-list entry"))
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("household"))
    plot = models.ForeignKey(Plot, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("plot"), help_text=_("Empty: the household keeps waiting"))
    rank = models.PositiveIntegerField(_("rank"))
    score = models.FloatField(_("score"), default=0)
    # Points per soft rule, e.g. {"priority": 5, "village": 3, "safety": 4, "fit": -0.4}.
    components = models.JSONField(_("score components"), default=dict)
    edited = models.BooleanField(_("edited by the officer"), default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "line_no"]
        verbose_name = _("allocation plan line")
        constraints = [
            models.UniqueConstraint(fields=["plan", "line_no"], name="plan_line_no_unique"),
            models.UniqueConstraint(fields=["plan", "household"], name="plan_household_once"),
            models.UniqueConstraint(fields=["plan", "plot"], name="plan_plot_once"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.line_no}"
