"""Core business actions: the document lifecycle, API tokens, audit of personal-record views."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.db import retry_on_deadlock
from relief.core.documents import DocStatus, Document, DocumentError
from relief.core.locks import Rank, lock, subject_begins
from relief.core.models import AccessLog, ApiToken
from relief.core.roles import CANCEL_ROLES, require_role

if TYPE_CHECKING:
    from relief.core.roles import AnyUser

D = TypeVar("D", bound=Document)
Handler = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Lifecycle:
    """What submitting and cancelling one kind of document does, registered by the package that owns it."""

    post: Handler
    reverse: Handler | None


_LIFECYCLES: dict[type[Document], Lifecycle] = {}


def document_lifecycle(model: type[Document], *, post: Handler, reverse: Handler | None = None) -> None:
    """Register, from the package's services module, ``post(document, user)`` (run on submit: validate and post;
    raise to refuse) and ``reverse(document, user)`` (run on cancel: reverse with new rows). A document with
    no ``reverse`` cannot be cancelled. Core calls them; it never imports a package."""
    _LIFECYCLES[model] = Lifecycle(post=post, reverse=reverse)


def _lifecycle(model: type[Document]) -> Lifecycle:
    if model not in _LIFECYCLES:
        # The owning package registers when its services module is first imported.
        app = apps.get_containing_app_config(model.__module__)
        if app is not None:
            try:
                import_module(f"{app.name}.services")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app.name}.services":
                    raise
    if model not in _LIFECYCLES:
        raise DocumentError(_("%(kind)s documents have no submit step") % {"kind": model._meta.verbose_name})
    return _LIFECYCLES[model]


CANCEL_REASON_MIN = 10


def cancel_reason_clean(reason: str) -> str:
    """A cancellation reverses postings: the reason is required, in a few words, for whoever reads it later."""
    reason = " ".join((reason or "").split())
    if len(reason) < CANCEL_REASON_MIN or len(reason.split()) < 2:
        raise ValidationError({"reason": _("say why it is cancelled, in a few words (at least %(n)d letters)")
                               % {"n": CANCEL_REASON_MIN}})
    return reason[:200]


@retry_on_deadlock
def document_submit(*, document: D, user: User) -> D:
    """Post a draft: run its package's post step and mark it submitted, all or nothing."""
    lifecycle = _lifecycle(type(document))
    with transaction.atomic():
        subject_begins()
        rows: list[D] = lock(Rank.SUBJECT, type(document)._default_manager.filter(pk=document.pk))
        (locked,) = rows
        if locked.status != DocStatus.DRAFT:
            raise DocumentError(
                _("%(number)s is %(status)s; only a draft can be submitted")
                % {"number": locked.number, "status": locked.status}
            )
        lifecycle.post(locked, user)
        locked.status = DocStatus.SUBMITTED
        locked.submitted_at = timezone.now()
        locked.submitted_by = user
        locked.save(update_fields=["status", "submitted_at", "submitted_by"])
        return locked


@retry_on_deadlock
def document_cancel(*, document: D, user: User, reason: str = "") -> D:
    """Reverse a submitted document with new rows; it stays, marked cancelled, with the reason.

    Only the roles README names may cancel (``CANCEL_ROLES``), through whichever door; the reason is required.
    """
    require_role(user, *CANCEL_ROLES)
    lifecycle = _lifecycle(type(document))
    with transaction.atomic():
        subject_begins()
        rows: list[D] = lock(Rank.SUBJECT, type(document)._default_manager.filter(pk=document.pk))
        (locked,) = rows
        if locked.status != DocStatus.SUBMITTED:
            raise DocumentError(
                _("%(number)s is %(status)s; only a submitted document can be cancelled")
                % {"number": locked.number, "status": locked.status}
            )
        if lifecycle.reverse is None:
            raise DocumentError(_("%(number)s cannot be cancelled") % {"number": locked.number})
        reason = cancel_reason_clean(reason)
        lifecycle.reverse(locked, user)
        locked.status = DocStatus.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.cancelled_by = user
        locked.cancel_reason = reason
        locked.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
        return locked


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user: User, name: str, days: int = 30, event_id: int | None = None) -> tuple[ApiToken, str]:
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


def api_token_user(raw: str) -> User | None:
    """The user a live token belongs to, or None."""
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash_token(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    # Once a minute is exact enough for "last used", and spares every scan a write of its own.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.user.relief_api_token = token  # type: ignore[attr-defined]  # read by the access helpers
    return token.user


def access_log_record(*, user: AnyUser | None, object_type: str, object_id: str, action: str = "view") -> None:
    AccessLog.objects.create(
        user=user if isinstance(user, User) and user.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
    )
