"""Accountability to affected people: feedback cases and post-distribution monitoring (PDM).

A feedback case is what a household (or anyone) tells the office: a complaint, a question, a request or
appreciation, linked to the household, event, item or plot it is about, with a due date by category and a
trail from open to closed. A sensitive case (abuse, fraud, staff conduct) is seen only by the roles the
office names in ``settings.RELIEF_SENSITIVE_FEEDBACK_ROLES`` and by the person it is assigned to.

A PDM sample is a reproducible random draw of an event's redemptions: the seed is stored, so the same
seed over the same redemptions draws the same households.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Category(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    QUESTION = "question", _("Question")
    REQUEST = "request", _("Request")
    APPRECIATION = "appreciation", _("Appreciation")


class Subject(models.TextChoices):
    NON_RECEIPT = "non_receipt", _("Did not receive items")
    DAMAGED = "damaged", _("Damaged or poor-quality items")
    QUANTITY = "quantity", _("Wrong quantity")
    ELIGIBILITY = "eligibility", _("Eligibility or registration")
    SHELTER = "shelter", _("Shelter or plot")
    SAFETY = "safety", _("Safety or access")
    CONDUCT = "conduct", _("Staff or volunteer conduct")
    FRAUD = "fraud", _("Fraud or diversion")
    OTHER = "other", _("Other")


# Subjects that are always sensitive, whatever the person taking the case ticked.
SENSITIVE_SUBJECTS = {Subject.CONDUCT, Subject.FRAUD}


class Channel(models.TextChoices):
    TABLE = "table", _("At the distribution table")
    DESK = "desk", _("Help desk or office")
    KOBO = "kobo", _("KoboToolbox feedback form")
    HOTLINE = "hotline", _("Hotline")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ASSIGNED = "assigned", _("Assigned")
    REFERRED = "referred", _("Referred")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class FeedbackCase(models.Model):
    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    subject = models.CharField(_("subject"), max_length=12, choices=Subject.choices, default=Subject.OTHER)
    channel = models.CharField(_("received through"), max_length=8, choices=Channel.choices, default=Channel.DESK)
    sensitive = models.BooleanField(_("sensitive"), default=False,
                                    help_text=_("Seen only by the named roles and the person assigned"))
    description = models.TextField(_("what was said"), max_length=4000)
    # What the case is about; the site is taken from the first of them, for scoping and reports.
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("household"))
    event = models.ForeignKey("distribution.DistributionEvent", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("distribution event"))
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("item"))
    plot = models.ForeignKey("shelter.Plot", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("plot"))
    site = models.ForeignKey("core.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("site"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    due_on = models.DateField(_("due on"), db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN,
                              db_index=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("assigned to"))
    referred_to = models.CharField(_("referred to"), max_length=120, blank=True,
                                   help_text=_("Agency or service, e.g. protection partner, health post"))
    answer = models.TextField(_("answer given"), blank=True, max_length=4000)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("closed by"))
    # A non-receipt complaint closed by the hand-over that made it good.
    resolved_by = models.OneToOneField("distribution.Redemption", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("resolved by hand-over"))
    kobo_uuid = models.CharField(_("KoboToolbox _uuid"), max_length=64, null=True, blank=True, unique=True,
                                 editable=False)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("recorded by"))
    history = HistoricalRecords()

    Status = CaseStatus

    class Meta:
        ordering = ["due_on", "number"]
        verbose_name = _("feedback case")
        indexes = [models.Index(fields=["status", "due_on"], name="feedback_open_due"),
                   models.Index(fields=["household", "status"], name="feedback_household")]
        constraints = [
            models.CheckConstraint(condition=~Q(status=CaseStatus.CLOSED) | Q(closed_at__isnull=False),
                                   name="feedback_closed_has_time"),
            models.CheckConstraint(condition=~Q(status=CaseStatus.REFERRED) | ~Q(referred_to=""),
                                   name="feedback_referred_names_whom"),
            models.CheckConstraint(condition=Q(resolved_by__isnull=True) | Q(subject=Subject.NON_RECEIPT),
                                   name="feedback_handover_resolves_non_receipt"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_overdue(self) -> bool:
        return self.status != CaseStatus.CLOSED and self.due_on < timezone.localdate()


class PdmSample(models.Model):
    """A random draw of an event's redemptions for a post-distribution monitoring survey."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    event = models.ForeignKey("distribution.DistributionEvent", on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("distribution event"))
    seed = models.BigIntegerField(_("seed"), help_text=_("The same seed over the same hand-overs draws the same "
                                                         "households"))
    size = models.PositiveIntegerField(_("sample size"))
    population = models.PositiveIntegerField(_("households served"), default=0)
    strata = models.JSONField(_("strata"), default=dict, help_text=_("Per stratum: served and drawn"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("PDM sample")
        constraints = [models.CheckConstraint(condition=Q(size__gte=1), name="pdm_sample_not_empty")]

    def __str__(self) -> str:
        return self.number


class Quality(models.TextChoices):
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")
    POOR = "poor", _("Poor")


class PdmInterview(models.Model):
    """One drawn household, and its answers once the enumerators' form is imported."""

    sample = models.ForeignKey(PdmSample, on_delete=models.PROTECT, related_name="interviews")
    redemption = models.ForeignKey("distribution.Redemption", on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="+")
    stratum = models.CharField(_("stratum"), max_length=80)
    position = models.PositiveIntegerField(_("order drawn"))
    received_all = models.BooleanField(_("received all items"), null=True, blank=True)
    quality = models.CharField(_("quality of items"), max_length=5, choices=Quality.choices, blank=True)
    felt_safe = models.BooleanField(_("felt safe"), null=True, blank=True)
    minutes_waited = models.PositiveIntegerField(_("minutes waited"), null=True, blank=True)
    interviewed_on = models.DateField(_("interviewed on"), null=True, blank=True)
    kobo_uuid = models.CharField(_("KoboToolbox _uuid"), max_length=64, null=True, blank=True, unique=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["sample", "position"]
        verbose_name = _("PDM interview")
        constraints = [
            models.UniqueConstraint(fields=["sample", "household"], name="pdm_interview_household_once"),
            models.UniqueConstraint(fields=["sample", "position"], name="pdm_interview_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.sample_id}/{self.position}"
