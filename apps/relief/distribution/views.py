"""Pages: the scanning station, events with their progress and exports, card printing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from relief.core import jobs
from relief.core.documents import DocumentError
from relief.core.escape import sheet_row
from relief.core.roles import has_role, require_role
from relief.distribution import access, selectors, services
from relief.distribution.forms import CloseOutForm
from relief.distribution.models import EventStatus, ShortReason
from relief.distribution.printing import PRINT_JOB
from relief.inventory.models import Item


def _strings() -> dict:
    """Everything the scanning page says, translated here so the page speaks the user's language."""
    return {
        "online": _("online"), "offline": _("offline"),
        "titles": {
            "ready": _("Ready: scan a card"), "entitled": _("ENTITLED"), "already_collected": _("ALREADY COLLECTED"),
            "not_entitled": _("NOT ENTITLED"), "revoked": _("REVOKED CARD"), "invalid": _("INVALID CARD"),
            "wrong_event": _("WRONG EVENT"), "redeemed": _("HANDED OVER"), "queued": _("SAVED OFFLINE"),
            "handed_just_now": _("HANDED OVER JUST NOW"),
        },
        "handed_just_now": _("This household was served at this table a moment ago: nothing more to hand over."),
        "served": _("Served: %(lane)s at this lane · %(event)s at this event"),
        "owed": _("owed from an earlier hand-over"),
        "point_holds": _("the point holds %(n)s"),
        "refused_count": _("Not accepted: %(n)s (see below)"),
        "exception": {
            "none_found": _("No household found at this event's site."),
            "hand_over": _("Hand over by exception"), "replace_lost": _("Replace: card lost"),
            "replace_damaged": _("Replace: card damaged"),
            "replaced": _("Card %(serial)s issued; the old card no longer works. Printing…"),
            "print_again": _("Print the card again"), "by_exception": _("by exception, with approval"),
            "no_card": _("no active card"),
        },
        "verdicts": {
            "entitled": _("Entitled: hand over the items listed."),
            "not_entitled": _("Nothing to collect for this household in this cycle."),
            "revoked": _("This card is no longer valid."),
            "wrong_event": _("This card belongs to another site's distribution."),
        },
        "invalid": {reason: str(text) for reason, text in services.INVALID_MESSAGES.items()},
        "household_line": _("Household %(number)s · %(size)s people · block %(block)s · head %(initials)s"),
        "collected_at": _("Already collected on %(when)s, lane %(lane)s."),
        "offline_check": _("checked offline"),
        "queued": _("No network: the hand-over is saved on this device and will sync."),
        "no_manifest": _("No offline list for this event yet: connect once to download it."),
        "manifest_info": _("Offline list: %(cards)s cards, updated %(at)s"),
        "manifest_stale": _("Offline list OUT OF DATE: %(cards)s cards, last updated %(at)s. Connect to refresh it."),
        "no_camera": _("No camera available: use the USB scanner or type the code."),
        "head": _("Head of household"),
        "camera_start": _("Start camera"), "camera_stop": _("Stop camera"),
        "reasons": [(value, str(label)) for value, label in ShortReason.choices],
        "sync_status": {"accepted": _("accepted"), "duplicate": _("already synced"),
                        "conflict": _("conflict: collected by another scan"), "rejected": _("rejected"),
                        "invalid": _("not accepted, kept on this device"), "deferred": _("to send again")},
    }


@login_required
def scan(request: HttpRequest) -> HttpResponse:
    require_role(request.user, *access.SCAN_ROLES)
    events = [selectors.event_summary(e) for e in access.events_for(request.user).filter(status=EventStatus.OPEN)
              .order_by("-date", "number")]
    config = {"repeat_seconds": settings.RELIEF_SCAN_REPEAT_SECONDS,
              "stale_minutes": settings.RELIEF_SCAN_STALE_MINUTES}
    from relief.distribution.models import ExceptionReason

    return render(request, "distribution/scan.html", {"events": events, "strings": _strings(), "config": config,
                                                      "exception_reasons": ExceptionReason.choices})


@login_required
def events(request: HttpRequest) -> HttpResponse:
    rows = access.events_for(request.user).order_by("-date", "number")[:200]
    return render(request, "distribution/events.html", {"events": rows, "title": _("Distribution events")})


@login_required
def event_report(request: HttpRequest, event_id: int) -> HttpResponse:
    event = access.event_for(request.user, event_id)
    progress = selectors.event_progress(event)
    closed = event.status == EventStatus.CLOSED
    return render(request, "distribution/event.html", {
        "p": progress, "event": event, "no_shows": selectors.event_no_shows(event)[:500],
        "title": f"{event.number} · {event.name}",
        "can_close": event.status == EventStatus.OPEN and has_role(request.user, *access.CYCLE_ROLES),
        "close_out": event.items.select_related("item").order_by("item__code") if closed else None})


@login_required
def event_close_out(request: HttpRequest, event_id: int) -> HttpResponse:
    """End of the day: the books per item, staff count what is left, and the event closes if every count is
    explained; else each item shows its problem and nothing changes."""
    from relief.inventory.models import Warehouse

    require_role(request.user, *access.CYCLE_ROLES)
    event = access.event_for(request.user, event_id)
    if event.status != EventStatus.OPEN:
        messages.info(request, _("%(number)s is not open: there is nothing to close.") % {"number": event.number})
        return redirect("distribution:event", event_id=event.pk)
    rows = services.event_close_books(event)
    data = request.POST if request.method == "POST" else None
    for row in rows:
        row["form"] = CloseOutForm(data, prefix=f"item{row['item_id']}", initial={"counted": row["left_books"]})
    # Every row is validated (a list, not all() that stops at the first) so each shows its own errors.
    refused = data is not None and not all([row["form"].is_valid() for row in rows])
    return_error = ""
    if data is not None and not refused:
        counts = [services.CloseOutCount(item=row["code"], **row["form"].cleaned_data) for row in rows]
        try:
            services.event_close(event=event, counts=counts, user=request.user,
                                 return_to=data.get("return_to", ""))
        except ValidationError as exc:
            refused = True
            problems = exc.message_dict
            return_error = "; ".join(problems.get("return_to", []))
            for row in rows:
                row["error"] = "; ".join(problems.get(row["code"], []))
        except DocumentError as exc:
            messages.error(request, str(exc))
            return redirect("distribution:event", event_id=event.pk)
        else:
            messages.success(request, _("%(number)s is closed.") % {"number": event.number})
            return redirect("distribution:event", event_id=event.pk)
    warehouses = Warehouse.objects.filter(kind__in=[Warehouse.Kind.MAIN, Warehouse.Kind.FIELD]).order_by("code")
    return render(request, "distribution/close.html", {
        "title": _("Close %(number)s · %(name)s") % {"number": event.number, "name": event.name},
        "event": event, "rows": rows, "refused": refused, "warehouses": warehouses,
        "return_to": (data or {}).get("return_to", ""), "return_error": return_error})


@login_required
def event_export(request: HttpRequest, event_id: int, fmt: str) -> HttpResponse:
    """Hand-overs per item (4W), with the HXL hashtag row under the header, as CSV or XLSX."""
    event = access.event_for(request.user, event_id)
    header = [str(label) for label, _tag in selectors.HXL_HEADERS]
    tags = [tag for _label, tag in selectors.HXL_HEADERS]
    rows = selectors.event_export_rows(event)
    name = f"{event.number}-distribution"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerows([sheet_row(row) for row in (header, tags, *rows)])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "distribution"
        for row in (header, tags, *rows):
            sheet.append(sheet_row(row))
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@login_required
def print_cards(request: HttpRequest) -> HttpResponse:
    site_ids = access.require_cards(request.user)
    error = ""
    if request.method == "POST":
        households = [h.strip() for h in request.POST.get("households", "").replace("\n", ",").split(",") if h.strip()]
        arguments = {"cycle": request.POST.get("cycle", "").strip() or None, "households": households or None,
                     "site": request.POST.get("site", "").strip().upper() or None,
                     "site_ids": sorted(site_ids) if site_ids is not None else None, "user_id": request.user.pk}
        if not (arguments["cycle"] or arguments["households"] or arguments["site"]):
            error = _("Choose a cycle, a site or household numbers.")
        else:
            job = jobs.job_start(kind="print-cards", function=PRINT_JOB, arguments=arguments, user=request.user,
                                 queue="long")
            return redirect("job", job_id=job.pk)
    from relief.core.models import Site
    from relief.distribution.models import DistributionCycle

    sites = Site.objects.all() if site_ids is None else Site.objects.filter(pk__in=site_ids)
    return render(request, "distribution/print.html", {
        "title": _("Print cards"), "error": error, "sites": sites,
        "cycles": DistributionCycle.objects.filter(status="submitted").order_by("-period_start")[:50]})


@login_required
@require_POST
def sync_issue_resolve(request: HttpRequest, event_id: int, issue_id: int) -> HttpResponse:
    from relief.distribution.models import SyncIssue

    event = access.event_for(request.user, event_id, for_write=True)
    issue = SyncIssue.objects.filter(event=event, pk=issue_id).first()
    if issue is None:
        raise PermissionDenied
    try:
        services.sync_issue_resolve(issue=issue, user=request.user, resolution=request.POST.get("resolution", ""))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect("distribution:event", event_id=event.pk)


@login_required
def cards_pdf(request: HttpRequest, job_id) -> HttpResponse:
    """The sheets a print job made: for who started it, and Administrators."""
    from django.conf import settings
    from django.http import FileResponse, Http404

    from relief.core.models import Job
    from relief.core.roles import ADMINISTRATOR, has_role

    job = Job.objects.filter(pk=job_id, kind="print-cards").first()
    if job is None:
        raise Http404
    if job.created_by_id != request.user.pk and not has_role(request.user, ADMINISTRATOR):
        raise PermissionDenied
    path = Path(settings.MEDIA_ROOT) / "cards" / f"{job.pk}.pdf"
    if not path.exists():
        raise Http404
    return FileResponse(path.open("rb"), content_type="application/pdf", as_attachment=True,
                        filename=f"cards-{str(job.pk)[:8]}.pdf")


@login_required
def cycle_generate(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Show what re-generating the cycle would change; apply exactly that on confirmation."""
    from django.shortcuts import get_object_or_404

    from relief.distribution.models import DistributionCycle
    from relief.distribution.services import cycle_generate as generate
    from relief.distribution.services import cycle_generation_plan

    require_role(request.user, *access.CYCLE_ROLES)
    cycle = get_object_or_404(DistributionCycle, pk=cycle_id)
    if request.method == "POST":
        try:
            done = generate(cycle=cycle, user=request.user, digest=request.POST.get("digest", ""))
        except (ValidationError, DocumentError) as exc:
            messages.error(request, "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, _("%(added)d added, %(changed)d changed, %(reopened)d reopened, "
                                        "%(cancelled)d cancelled.") % {
                "added": done.added, "changed": done.changed, "reopened": done.reopened,
                "cancelled": done.cancelled})
        return redirect("distribution:cycle-generate", cycle_id=cycle.pk)
    plan = cycle_generation_plan(cycle=cycle)
    names = dict(Item.objects.filter(pk__in=plan.by_item).values_list("pk", "name"))
    return render(request, "distribution/generate.html", {
        "title": _("Entitlements of %(cycle)s") % {"cycle": cycle}, "cycle": cycle, "plan": plan,
        "summary": plan.summary(), "items": [(names[i], d) for i, d in sorted(plan.by_item.items())],
        "generations": cycle.generations.all()[:10]})


# A card made at the table may be printed by whoever made it, for this long after.
TABLE_PRINT_MINUTES = 60


@login_required
def card_pdf(request: HttpRequest, serial: str) -> HttpResponse:
    """One active card as a one-card PDF (``?size=id1`` card printer, ``a6`` sheet): for Registration Officers and
    Administrators of its site, and for the team member who replaced it at the table within the hour."""
    from datetime import timedelta

    from django.http import Http404
    from django.utils import timezone

    from relief.distribution.models import Card, CardStatus
    from relief.distribution.printing import ONE_CARD_PAGES, render_one_card

    size = request.GET.get("size", "id1")
    if size not in ONE_CARD_PAGES:
        size = "id1"
    card = Card.objects.select_related("household").filter(serial=serial, status=CardStatus.ACTIVE).first()
    if card is None:
        raise Http404
    sites = access.site_ids_for(request.user)
    if sites is not None and card.household.site_id not in sites:
        raise PermissionDenied
    if not has_role(request.user, *access.CARD_ROLES):
        require_role(request.user, *access.SCAN_ROLES)
        made = card.history.filter(history_type="+").values_list("history_user_id", "history_date").first()
        if made is None or made[0] != request.user.pk or made[1] < timezone.now() - timedelta(
                minutes=TABLE_PRINT_MINUTES):
            raise PermissionDenied
    pdf = render_one_card(card, size=size)
    services.card_prints_record(cards=[card], batch=f"TABLE-{timezone.now():%Y%m%d-%H%M%S}", user=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{card.serial}.pdf"'
    return response


@login_required
def approval_pin(request: HttpRequest) -> HttpResponse:
    """A supervisor sets the PIN they approve exceptions with, confirming with their password."""
    from relief.distribution.models import ApprovalPin

    if not request.user.has_perm("distribution.approve_exception"):
        raise PermissionDenied
    error = ""
    if request.method == "POST":
        if not request.user.check_password(request.POST.get("password", "")):
            error = _("password: not your password")
        else:
            try:
                services.approval_pin_set(user=request.user, pin=request.POST.get("pin", ""))
            except ValidationError as exc:
                error = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            else:
                messages.success(request, _("Your approval PIN is set."))
                return redirect("distribution:pin")
    return render(request, "distribution/pin.html", {
        "title": _("My approval PIN"), "error": error,
        "has_pin": ApprovalPin.objects.filter(user=request.user).first()})


# What the scanning page needs to open with no network, kept by its service worker.
SCAN_FILES = [
    "distribution/scan.css", "distribution/scan.js", "distribution/vendor/jsqr/jsQR.js",
    "distribution/vendor/noble-ed25519/index.js", "distribution/vendor/noble-hashes/sha2.js",
    "distribution/vendor/noble-hashes/_md.js", "distribution/vendor/noble-hashes/_u64.js",
    "distribution/vendor/noble-hashes/utils.js", "relief/favicon.svg",
]


def scan_service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served under /scan/ so that it may control the scanning page."""
    import hashlib
    import json

    from django.templatetags.static import static
    from django.urls import reverse

    files = [static(name) for name in SCAN_FILES]
    version = hashlib.sha256(json.dumps(files).encode()).hexdigest()[:12]
    response = render(request, "distribution/sw.js", {
        "cache_name_json": json.dumps(f"relief-scan-{version}"),
        "page_url_json": json.dumps(reverse("distribution:scan")), "files_json": json.dumps(files)},
        content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker at most daily anyway; never let a proxy keep an old one.
    response["Cache-Control"] = "no-cache"
    return response


def scan_manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest: the scanning station installs as an app on a phone's home screen."""
    from django.http import JsonResponse
    from django.templatetags.static import static
    from django.urls import reverse

    scan_url = reverse("distribution:scan")
    return JsonResponse({
        "name": str(_("Relief scanning station")), "short_name": str(_("Relief scan")),
        "start_url": scan_url, "scope": scan_url, "display": "standalone", "orientation": "portrait",
        "background_color": "#f3f4f6", "theme_color": "#1f3a5f",
        "icons": [{"src": static("relief/favicon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }, content_type="application/manifest+json")
