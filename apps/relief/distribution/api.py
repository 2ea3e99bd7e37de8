"""Scanner API: events, verify, redeem, offline manifest and sync (``/api/v1/``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import ValidationError as PydanticValidationError

from relief.distribution import access, selectors, services
from relief.distribution.models import Collector, EventStatus

router = Router(tags=["distribution"])

CODE_MAX = 4096  # far above a real token (≈200): the token parser says "oversized" with a clear verdict


class EventOut(Schema):
    id: int
    name: str
    cycle: str = Field(description="The cycle's number, as `relief print-cards --cycle` takes it")
    date: str
    site: str
    distribution_point: str


@router.get("/events", response=list[EventOut], summary="Distribution events the caller may see")
def events(request, status: EventStatus | None = None):
    qs = access.events_for(request.user)
    if status:
        qs = qs.filter(status=status)
    return [selectors.event_summary(e) for e in qs.order_by("-date", "number")[:200]]


class ScanIn(Schema):
    code: str = Field(max_length=CODE_MAX, description="The text read from the card's QR code")
    event: int


class RedemptionLineIn(Schema):
    item: str = Field(max_length=30)
    qty: int = Field(ge=0, le=100000)
    reason: str = Field("", max_length=20, description="Why less than entitled: out_of_stock, declined, damaged, other")


class RedeemIn(ScanIn):
    client_id: str = Field(min_length=1, max_length=64, description="Made by the scanner; a retry sends the same")
    collector: str | int | None = Field(None, description="'head' (default) or an alternate collector's id")
    lane: int = Field(1, ge=1, le=50)
    lines: list[RedemptionLineIn] | None = Field(None, max_length=50, description="Only for a partial hand-over")


class ScanOut(Schema):
    verdict: str = Field(description=" | ".join(services.VERDICTS) + " | redeemed")
    message: str
    household: dict | None = None
    entitlements: list[dict] = []
    reason: str | None = None
    collectors: list[dict] | None = None
    collected: dict | None = None
    redemption: dict | None = None


class ErrorOut(Schema):
    detail: str


@router.post("/scan/verify", response={200: ScanOut}, summary="What this card may collect at this event")
def scan_verify(request, payload: ScanIn):
    event = access.event_for(request.user, payload.event, for_write=True)
    return Status(200, services.scan_verify(code=payload.code, event=event).as_dict())


def _collector(value) -> tuple[str, int | None]:
    if value in (None, "", Collector.HEAD):
        return Collector.HEAD, None
    try:
        return Collector.ALTERNATE, int(value)
    except (TypeError, ValueError):
        raise ValidationError({"collector": _("'head' or the id of a registered alternate collector")}) from None


def _lines(lines: list[RedemptionLineIn] | None) -> list[services.HandOverLine] | None:
    if lines is None:
        return None
    return [services.HandOverLine(item=ln.item, qty=ln.qty, reason=ln.reason) for ln in lines]


@router.post("/scan/redeem", response={201: ScanOut, 409: ScanOut, 422: ScanOut | ErrorOut},
             summary="Record the hand-over and issue the stock")
def scan_redeem(request, payload: RedeemIn):
    """201 redeemed; 409 already_collected; 422 any other verdict or a bad body. The same ``client_id`` again
    returns the first answer and hands over nothing more."""
    event = access.event_for(request.user, payload.event, for_write=True)
    collector, alternate = _collector(payload.collector)
    result = services.redemption_record(
        code=payload.code, event=event, client_id=payload.client_id, user=request.user, lane=payload.lane,
        collector=collector, alternate_collector_id=alternate, lines=_lines(payload.lines))
    status = {"redeemed": 201, "already_collected": 409}.get(result.verdict, 422)
    return Status(status, result.as_dict())


@router.get("/scan/lookup", summary="Exception lane: find a household by card serial, number or UNHCR id")
def scan_lookup(request, event: int, q: str = ""):
    """Households of the event's site the caller may read, with what their active card would be told (``q``: 3 to
    40 characters, else nothing is found)."""
    the_event = access.event_for(request.user, event, for_write=True)
    return {"households": selectors.household_lookup(event=the_event, query=q,
                                                     site_ids=access.site_ids_for(request.user))}


class ApproverIn(Schema):
    username: str = Field("", max_length=150)
    pin: str = Field("", max_length=12)
    token: str = Field("", max_length=200, description="The supervisor's device token, instead of username and PIN")


class ExceptionIn(Schema):
    event: int
    household: str = Field(max_length=30, description="The household number")
    client_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(max_length=12, description="forgotten, unreadable, lost, damaged or other")
    note: str = Field("", max_length=200)
    approver: ApproverIn
    collector: str | int | None = None
    lane: int = Field(1, ge=1, le=50)
    lines: list[RedemptionLineIn] | None = Field(None, max_length=50)


@router.post("/scan/exception", response={201: ScanOut, 409: ScanOut, 422: ScanOut | ErrorOut},
             summary="Hand over without a card scan, approved by a supervisor")
def scan_exception(request, payload: ExceptionIn):
    """As ``/scan/redeem``, for a household found by lookup; recorded with its reason, lane and approver."""
    event = access.event_for(request.user, payload.event, for_write=True)
    collector, alternate = _collector(payload.collector)
    result = services.redemption_record_exception(
        event=event, household_number=payload.household, client_id=payload.client_id, user=request.user,
        reason=payload.reason, note=payload.note, approver_username=payload.approver.username,
        approver_pin=payload.approver.pin, approver_token=payload.approver.token, lane=payload.lane,
        collector=collector, alternate_collector_id=alternate, lines=_lines(payload.lines))
    status = {"redeemed": 201, "already_collected": 409}.get(result.verdict, 422)
    return Status(status, result.as_dict())


class ReplaceIn(Schema):
    event: int
    household: str = Field(max_length=30)
    reason: str = Field(max_length=10, description="lost or damaged")
    approver: ApproverIn | None = None


@router.post("/scan/replace-card", response={201: dict}, summary="Replace a lost or damaged card at the table")
def scan_replace_card(request, payload: ReplaceIn):
    """The old card is revoked at once; the new one is ready to print as one card (``print``: its PDF)."""
    from django.urls import reverse

    event = access.event_for(request.user, payload.event, for_write=True)
    approver = payload.approver or ApproverIn()
    card = services.card_replace_at_table(
        event=event, household_number=payload.household, reason=payload.reason, user=request.user,
        approver_username=approver.username, approver_pin=approver.pin, approver_token=approver.token)
    return Status(201, {"card": card.serial, "generation": card.generation,
                        "print": reverse("distribution:card-pdf", args=[card.serial])})


@router.get("/events/{event_id}/manifest", summary="Everything a scanner needs to work offline")
def manifest(request, event_id: int):
    event = access.event_for(request.user, event_id, for_write=True)
    return selectors.event_manifest(event)


class OfflineIn(Schema):
    client_id: str = Field(min_length=1, max_length=64)
    code: str = Field(max_length=CODE_MAX)
    scanned_at: datetime
    lane: int = Field(1, ge=1, le=50)
    collector: str | int | None = None
    lines: list[RedemptionLineIn] | None = Field(None, max_length=50)


class SyncIn(Schema):
    redemptions: list[Any] = Field(description=(
        "The device's queue. Each entry is judged on its own: one malformed entry never refuses the others."))


class SyncOut(Schema):
    results: list[dict] = Field(description=(
        "Per redemption, in order, with its client_id (null if it had none): accepted, duplicate, conflict or "
        "rejected (final: drop it); invalid with `reason` and `errors` [{field, message}] (nothing recorded) or "
        "deferred (not judged this time: send again). See docs/distribution.md."))


def _entry_errors(n: int, exc: PydanticValidationError) -> list[dict]:
    return [{"field": ".".join(["redemptions", str(n), *(str(p) for p in err.get("loc", ()))]),
             "message": err.get("msg", "")} for err in exc.errors()]


def _offline_scan(n: int, entry) -> services.OfflineScan | dict:
    """The entry as a scan, or its ``invalid`` answer naming each bad field (``redemptions.N.field``)."""
    client_id = entry.get("client_id") if isinstance(entry, dict) else None
    answer = {"client_id": client_id if isinstance(client_id, str) else None, "status": services.SYNC_INVALID}
    try:
        r = OfflineIn.model_validate(entry)
        at = r.scanned_at if timezone.is_aware(r.scanned_at) else timezone.make_aware(r.scanned_at)
        collector, alternate = _collector(r.collector)
    except PydanticValidationError as exc:
        errors = _entry_errors(n, exc)
        return {**answer, "reason": "; ".join(f"{e['field']}: {e['message']}" for e in errors), "errors": errors}
    except ValidationError:
        message = _("'head' or an alternate collector's id")
        return {**answer, "reason": f"redemptions.{n}.collector: {message}",
                "errors": [{"field": f"redemptions.{n}.collector", "message": message}]}
    except (OverflowError, ValueError):
        message = _("not a real date and time")
        return {**answer, "reason": f"redemptions.{n}.scanned_at: {message}",
                "errors": [{"field": f"redemptions.{n}.scanned_at", "message": message}]}
    return services.OfflineScan(client_id=r.client_id, code=r.code, scanned_at=at, lane=r.lane,
                                collector=collector, alternate_collector_id=alternate,
                                lines=tuple(_lines(r.lines)) if r.lines is not None else None)


@router.post("/events/{event_id}/sync", response=SyncOut, summary="Upload an offline scanner's queue")
def sync(request, event_id: int, payload: SyncIn):
    event = access.event_for(request.user, event_id, for_write=True)
    entries = [_offline_scan(n, entry) for n, entry in enumerate(payload.redemptions)]
    valid = [(n, e) for n, e in enumerate(entries) if isinstance(e, services.OfflineScan)]
    judged = services.event_sync(event=event, scans=[e for _n, e in valid], user=request.user)
    results: list = list(entries)
    for (n, _e), result in zip(valid, judged, strict=True):
        results[n] = result
    for n, result in enumerate(results):
        # Field paths from the service name the entry's own field; say which entry.
        for err in result.get("errors", ()):
            if not err["field"].startswith("redemptions."):
                err["field"] = f"redemptions.{n}.{err['field']}"
    return {"results": results}
