"""The document lifecycle: draft → submitted → cancelled.

A submitted document is read-only everywhere; cancelling it runs its reversal (new ledger rows), and
nothing submitted is ever deleted. What submitting and cancelling do is registered by the owning package's
services (``relief.core.services.document_lifecycle``); a model never calls up into services.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models, transaction
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
#: Set once when the document is made; a draft save never writes them again.
IMMUTABLE_FIELDS = frozenset({"number", "created_at", "created_by"})


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

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded = {name: value for name, value in zip(field_names, values, strict=True)
                            if value is not models.DEFERRED}
        return instance

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._snapshot()

    def _snapshot(self) -> None:
        loaded = getattr(self, "_loaded", {})
        loaded.update({f.attname: self.__dict__[f.attname] for f in self._meta.concrete_fields
                       if f.attname in self.__dict__})
        self._loaded = loaded

    def _changed_fields(self) -> list[str]:
        """The editable columns this draft save changes: never the lifecycle, never the number.

        Compared with the values the instance was loaded with, so a save from a stale form writes
        only what its user changed, not what someone else wrote meanwhile.
        """
        loaded = getattr(self, "_loaded", None)
        fields = [f for f in self._meta.concrete_fields
                  if not f.primary_key and f.name not in LIFECYCLE_FIELDS | IMMUTABLE_FIELDS
                  and f.attname in self.__dict__]
        if loaded is None:
            return [f.name for f in fields]
        return [f.name for f in fields if f.attname not in loaded or loaded[f.attname] != getattr(self, f.attname)]

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if self._state.adding:
            if not self.number:
                self.number = naming_next(series=self.series_prefix(), digits=self.naming_digits)
            super().save(*args, **kwargs)
            self._snapshot()
            return
        if update_fields is not None and set(update_fields) <= LIFECYCLE_FIELDS:
            # The lifecycle services hold the document's lock and set these themselves.
            super().save(*args, **kwargs)
            return
        with transaction.atomic():
            # A draft save waits for a submit or cancel in flight, then sees what it committed.
            stored = document_lock(type(self), self.pk)
            if stored is not None and stored != DocStatus.DRAFT:
                raise DocumentLocked(_("%(number)s is %(status)s and cannot be changed") % {
                    "number": self.number, "status": stored})
            changed = self._changed_fields()
            if update_fields is not None:
                changed = [name for name in update_fields if name not in LIFECYCLE_FIELDS | IMMUTABLE_FIELDS]
            kwargs["update_fields"] = changed
            super().save(*args, **kwargs)
            self._snapshot()

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            stored = document_lock(type(self), self.pk) if self.pk else self.status
            if stored is not None and stored != DocStatus.DRAFT:
                raise DocumentLocked(_("%(number)s is %(status)s; only a draft can be deleted") % {
                    "number": self.number, "status": stored})
            return super().delete(*args, **kwargs)


class DocumentLine(models.Model):
    """A line of a document: editable only while its document is a draft."""

    document_field: ClassVar[str] = "document"

    class Meta:
        abstract = True

    def _lock_parent(self) -> None:
        """Lock the document row first (the one lock order), then refuse unless it is a draft."""
        parent_id = getattr(self, f"{self.document_field}_id")
        if parent_id is None:
            return
        parent_model = self._meta.get_field(self.document_field).related_model
        status = document_lock(parent_model, parent_id)
        if status is not None and status != DocStatus.DRAFT:
            raise DocumentLocked(_("the document is %(status)s; its lines cannot be changed") % {"status": status})

    def _check_editable(self) -> None:
        """Runs with the document row locked, inside the save's or delete's transaction."""
        self._lock_parent()

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic():
            self._check_editable()
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            self._check_editable()
            return super().delete(*args, **kwargs)


def document_lock(model: type[models.Model], pk) -> str | None:
    """Lock one document row (in the house lock order, see relief.core.locks) and return its stored status."""
    from relief.core.locks import Rank, holds_locks, lock

    # First in its transaction it is the action's subject; after other rows, a document on the way.
    rank = Rank.DOCUMENT if holds_locks() else Rank.SUBJECT
    rows = lock(rank, model._default_manager.filter(pk=pk).only("pk", "status"))
    return rows[0].status if rows else None
