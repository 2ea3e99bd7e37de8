"""The document lifecycle: draft → submitted → cancelled.

A submitted document is read-only everywhere; cancelling it runs its reversal (new ledger rows), and
nothing submitted is ever deleted. What submitting and cancelling do is registered by the owning package's
services (``relief.core.services.document_lifecycle``); a model never calls up into services.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from relief.core.naming import naming_next


class DocumentError(Exception):
    """A lifecycle rule was broken; the message says which document and why."""


class DocumentLocked(DocumentError):
    pass


class DocStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    CANCELLED = "cancelled", _("Cancelled")


LIFECYCLE_FIELDS = frozenset(
    {"status", "submitted_at", "submitted_by", "cancelled_at", "cancelled_by", "cancel_reason"}
)


class Document(models.Model):
    """Base for every document with a human number and a lifecycle."""

    number = models.CharField(_("number"), max_length=40, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=DocStatus.choices, default=DocStatus.DRAFT, db_index=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    cancel_reason = models.CharField(_("cancel reason"), max_length=200, blank=True, editable=False)

    #: The series prefix; ``{year}`` is replaced by the creation year.
    naming_series: ClassVar[str] = "DOC-{year}-"
    naming_digits: ClassVar[int] = 5

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.number or _("(new)")

    @property
    def is_draft(self) -> bool:
        return self.status == DocStatus.DRAFT

    def series_prefix(self) -> str:
        return self.naming_series.format(year=self.created_at.year)

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if self._state.adding:
            if not self.number:
                self.number = naming_next(series=self.series_prefix(), digits=self.naming_digits)
        elif update_fields is None or not set(update_fields) <= LIFECYCLE_FIELDS:
            stored = type(self)._default_manager.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored is not None and stored != DocStatus.DRAFT:
                raise DocumentLocked(_("%(number)s is %(status)s and cannot be changed") % {
                    "number": self.number, "status": stored})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status != DocStatus.DRAFT:
            raise DocumentLocked(_("%(number)s is %(status)s; only a draft can be deleted") % {
                "number": self.number, "status": self.status})
        return super().delete(*args, **kwargs)


class DocumentLine(models.Model):
    """A line of a document: editable only while its document is a draft."""

    document_field: ClassVar[str] = "document"

    class Meta:
        abstract = True

    def _parent_status(self) -> str | None:
        parent_id = getattr(self, f"{self.document_field}_id")
        if parent_id is None:
            return None
        parent_model = self._meta.get_field(self.document_field).related_model
        return parent_model._default_manager.filter(pk=parent_id).values_list("status", flat=True).first()

    def _check_editable(self) -> None:
        status = self._parent_status()
        if status is not None and status != DocStatus.DRAFT:
            raise DocumentLocked(_("the document is %(status)s; its lines cannot be changed") % {"status": status})

    def save(self, *args, **kwargs) -> None:
        self._check_editable()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._check_editable()
        return super().delete(*args, **kwargs)
