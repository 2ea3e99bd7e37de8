from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class NamingSeries(models.Model):
    """The last number taken in one series, e.g. ``GRN-2026-``; locked to take the next."""

    name = models.CharField(max_length=40, unique=True)
    current = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("naming series")
        verbose_name_plural = _("naming series")

    def __str__(self) -> str:
        return f"{self.name}{self.current}"


class Site(models.Model):
    """A camp, settlement or transit site where people live and are served."""

    class Kind(models.TextChoices):
        CAMP = "camp", _("Camp")
        SETTLEMENT = "settlement", _("Settlement")
        TRANSIT = "transit", _("Reception / transit site")

    code = models.CharField(_("code"), max_length=8, unique=True, help_text=_("Short code used in numbers, e.g. NYA"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.CAMP)
    region = models.CharField(_("region"), max_length=60, default="Kigoma")
    district = models.CharField(_("district"), max_length=60, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    planned_capacity = models.PositiveIntegerField(_("planned capacity (people)"), default=0)
    language = models.CharField(_("card language"), max_length=5, choices=settings.LANGUAGES, default="sw")
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Block(models.Model):
    """A block of a site; households live in one, plots belong to one."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="blocks", verbose_name=_("site"))
    code = models.CharField(_("code"), max_length=20)
    community_leader = models.CharField(_("community leader"), max_length=100, blank=True)
    polygon = models.JSONField(_("polygon"), null=True, blank=True, help_text=_("[[lat, lon], ...]"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="block_code_unique_per_site")]
        verbose_name = _("block")

    def __str__(self) -> str:
        return f"{self.site.code}-{self.code}"


class StaffProfile(models.Model):
    """What a staff member is scoped to: Distribution Team and Registration Officers work in their sites."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="relief_profile")
    sites = models.ManyToManyField(Site, blank=True, related_name="staff", verbose_name=_("sites"))
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="en")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("staff profile")

    def __str__(self) -> str:
        return str(self.user)


class AccessLog(models.Model):
    """Who looked at which personal record, and when (data protection)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True)
    action = models.CharField(max_length=20, default="view")
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.object_type} {self.object_id}"


class ApiToken(models.Model):
    """A bearer token for a scanner device or integration; only its hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("device or purpose"), max_length=100)
    prefix = models.CharField(max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    event_id = models.BigIntegerField(
        _("limited to event"), null=True, blank=True, help_text=_("Id of the distribution event it may scan for")
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class Job(models.Model):
    """A background job the user waits for: its progress, outcome and result file."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=60)
    function = models.CharField(max_length=200)
    arguments = models.JSONField(default=dict)
    queue = models.CharField(max_length=20, default="default")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    result_file = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    TERMINAL: ClassVar[set[str]] = {Status.FINISHED, Status.FAILED}

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("background job")

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.FINISHED:
            return 100
        return int(100 * self.done / self.total) if self.total else 0
