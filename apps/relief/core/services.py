"""Core business actions: the document lifecycle, API tokens, audit of personal-record views."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.db import retry_on_deadlock
from relief.core.documents import DocStatus, Document, DocumentError
from relief.core.models import AccessLog, ApiToken

D = TypeVar("D", bound=Document)


@retry_on_deadlock
def document_submit(*, document: D, user) -> D:
    """Post a draft: run its on_submit hook and mark it submitted, all or nothing."""
    with transaction.atomic():
        locked = type(document)._default_manager.select_for_update().get(pk=document.pk)
        if locked.status != DocStatus.DRAFT:
            raise DocumentError(
                _("%(number)s is %(status)s; only a draft can be submitted")
                % {"number": locked.number, "status": locked.status}
            )
        locked.on_submit(user=user)
        locked.status = DocStatus.SUBMITTED
        locked.submitted_at = timezone.now()
        locked.submitted_by = user
        locked.save(update_fields=["status", "submitted_at", "submitted_by"])
        return locked


@retry_on_deadlock
def document_cancel(*, document: D, user, reason: str = "") -> D:
    """Reverse a submitted document with new rows; it stays, marked cancelled."""
    with transaction.atomic():
        locked = type(document)._default_manager.select_for_update().get(pk=document.pk)
        if locked.status != DocStatus.SUBMITTED:
            raise DocumentError(
                _("%(number)s is %(status)s; only a submitted document can be cancelled")
                % {"number": locked.number, "status": locked.status}
            )
        locked.on_cancel(user=user)
        locked.status = DocStatus.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.cancelled_by = user
        locked.cancel_reason = reason[:200]
        locked.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
        return locked


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user, name: str, days: int = 30, event_id: int | None = None) -> tuple[ApiToken, str]:
    """Issue a bearer token; the raw value is returned once and never stored."""
    if days < 1 or days > 366:
        raise ValueError(_("days: a token lasts 1 to 366 days"))
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100] or "token",
        prefix=raw[:8],
        key_hash=_hash_token(raw),
        event_id=event_id,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_user(raw: str):
    """The user a live token belongs to, or None."""
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash_token(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    # Once a minute is exact enough for "last used", and spares every scan a write of its own.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.user.relief_api_token = token
    return token.user


def access_log_record(*, user, object_type: str, object_id: str, action: str = "view") -> None:
    AccessLog.objects.create(
        user=user if user and user.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
    )
