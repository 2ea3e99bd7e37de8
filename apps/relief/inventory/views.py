"""Desk pages: stock summary, stock card, expiring lots, donor report, waybill receipt, printed documents."""

from __future__ import annotations

import csv
import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core import uploads
from relief.core.documents import DocStatus, DocumentError
from relief.core.escape import sheet_row
from relief.core.params import day_or_none
from relief.core.roles import ADMINISTRATOR, AUDITOR, LOGISTICS_MANAGER, require_role
from relief.inventory import access, pdf, selectors, services, sheets
from relief.inventory.models import EntryType, Grant, Item, PhysicalCount, StockEntry, Warehouse, Waybill


def _date(request: HttpRequest, name: str) -> datetime.date | None:
    value = request.GET.get(name) or ""
    parsed = day_or_none(value)
    if value and parsed is None:
        messages.error(request, _("%(field)s: give a date as YYYY-MM-DD") % {"field": name})
    return parsed


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _context(request: HttpRequest, title: str, **extra) -> dict:
    return {"title": title, "site_header": _("Relief"), "has_permission": True, **extra}


@login_required
def stock_summary(request: HttpRequest) -> HttpResponse:
    access.require_reader(request.user)
    warehouses = access.warehouses_visible(request.user).exclude(kind__in=["region", "transit"])
    code = request.GET.get("warehouse") or ""
    warehouse = warehouses.filter(code=code).first() if code else warehouses.first()
    if code and warehouse is None:
        raise PermissionDenied(_("You do not work at %(code)s.") % {"code": code})
    category = request.GET.get("category") or None
    item = Item.objects.filter(code=request.GET.get("item") or "").first()
    rows = selectors.warehouse_stock_summary(warehouse=warehouse, item=item, category=category) if warehouse else []
    return render(request, "inventory/stock_summary.html", _context(
        request, _("Stock summary"), warehouses=warehouses, warehouse=warehouse, rows=rows,
        categories=Item.Category.choices, category=category or "", item_code=request.GET.get("item", ""),
    ))


@login_required
def stock_card(request: HttpRequest) -> HttpResponse:
    access.require_reader(request.user)
    warehouse = access.warehouse_for(request.user, get_object_or_404(Warehouse, code=request.GET.get("warehouse")))
    item = get_object_or_404(Item, code=request.GET.get("item"))
    card = selectors.stock_card(warehouse=warehouse, item=item, start=_date(request, "start"),
                                end=_date(request, "end"))
    if request.GET.get("format") == "pdf":
        rows = [[r.date.isoformat(), r.voucher_no, r.lot,
                 f"{_('CANCELLED')} · {r.reason or r.kind}" if r.cancelled else r.reason or r.kind,
                 r.qty_in or "", r.qty_out or "", r.balance] for r in card["rows"]]
        content = pdf.render(
            title=_("Stock card"), organisation=settings.RELIEF_ORGANISATION,
            facts=[(_("Warehouse"), str(warehouse)), (_("Item"), f"{item} ({item.uom})"),
                   (_("Period"), f"{card['start']} – {card['end']}"), (_("Opening balance"), card["opening"]),
                   (_("Closing balance"), card["closing"])],
            header=[_("Date"), _("Reference"), _("Lot"), _("Remarks"), _("In"), _("Out"), _("Balance")], rows=rows,
        )
        return _pdf(content, f"stock-card-{warehouse.code}-{item.code}.pdf")
    return render(request, "inventory/stock_card.html", _context(request, _("Stock card"), card=card))


@login_required
def expiring(request: HttpRequest) -> HttpResponse:
    access.require_reader(request.user)
    try:
        days = max(0, min(int(request.GET.get("days", 90)), 3650))
    except ValueError:
        days = 90
        messages.error(request, _("days: give a whole number"))
    bins = selectors.expiring_lots(warehouses=access.warehouses_visible(request.user), days=days)[:500]
    return render(request, "inventory/expiring.html", _context(
        request, _("Lots expiring within %(days)d days") % {"days": days}, bins=bins, days=days,
        today=timezone.localdate()))


@login_required
def donor_report(request: HttpRequest) -> HttpResponse:
    require_role(request.user, ADMINISTRATOR, LOGISTICS_MANAGER, AUDITOR)
    grants = Grant.objects.select_related("donor")
    grant = grants.filter(code=request.GET.get("grant") or "").first() or grants.first()
    report = selectors.donor_report(grant=grant, start=_date(request, "start"), end=_date(request, "end")) \
        if grant else None
    if report and request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="donor-report-{grant.code}.csv"'
        writer = csv.writer(response)
        writer.writerow(["grant", "donor", "item", "unit", *selectors.DONOR_COLUMNS])
        for r in report["rows"]:
            writer.writerow(sheet_row([grant.code, grant.donor.code, r["item__code"], r["item__uom"],
                                       *[r[c] for c in selectors.DONOR_COLUMNS]]))
        return response
    return render(request, "inventory/donor_report.html", _context(
        request, _("Donor report"), grants=grants, grant=grant, report=report, columns=selectors.DONOR_COLUMNS))


@login_required
def entry_pdf(request: HttpRequest, number: str) -> HttpResponse:
    entry = access.entry_for(request.user, get_object_or_404(StockEntry, number=number))
    lines = entry.lines.select_related("item", "source", "target", "lot").order_by("pk")
    titles = {EntryType.RECEIPT: _("Goods received note")}
    facts = [(_("Number"), entry.number), (_("Status"), entry.get_status_display()),
             (_("Date"), entry.posting_date.isoformat()), (_("Type"), entry.get_entry_type_display())]
    if entry.entry_type == EntryType.RECEIPT:
        facts += [(_("Supplier or donor"), entry.supplier), (_("Grant"), str(entry.grant or "")),
                  (_("Waybill / delivery reference"), entry.reference)]
        header = [_("Item"), _("Unit"), _("Lot"), _("Batch"), _("Expiry"), _("Expected"), _("Received"),
                  _("Unit value"), _("Condition")]
        rows = [[ln.item.code, ln.item.uom, ln.lot.code if ln.lot else "", ln.batch,
                 ln.expiry.isoformat() if ln.expiry else "", ln.expected_qty if ln.expected_qty is not None else "",
                 ln.qty, f"{ln.unit_value:,.2f} {ln.currency}" if ln.unit_value is not None else "", ln.condition]
                for ln in lines]
    else:
        if entry.purpose:
            facts.append((_("Purpose"), f"{entry.get_purpose_display()} {entry.get_reason_display()}".strip()))
        header = [_("Item"), _("Unit"), _("Quantity"), _("From"), _("To"), _("Lot")]
        rows = [[ln.item.code, ln.item.uom, ln.qty, ln.source.code if ln.source else "",
                 ln.target.code if ln.target else "", ln.lot.code if ln.lot else _("FEFO")] for ln in lines]
    url = request.build_absolute_uri(reverse("admin:inventory_stockentry_change", args=[entry.pk]))
    content = pdf.render(title=titles.get(entry.entry_type, entry.get_entry_type_display()),
                         organisation=settings.RELIEF_ORGANISATION, facts=facts, header=header, rows=rows, qr=url,
                         footer=pdf.signatures(), cancelled=entry.status == DocStatus.CANCELLED)
    return _pdf(content, f"{entry.number}.pdf")


def waybill_receive_url(request: HttpRequest, waybill: Waybill) -> str:
    return request.build_absolute_uri(reverse("inventory:waybill-receive", args=[waybill.number]))


@login_required
def waybill_pdf(request: HttpRequest, number: str) -> HttpResponse:
    waybill = access.waybill_for(request.user, get_object_or_404(Waybill, number=number))
    lines = waybill.lines.select_related("item", "lot", "lot__grant").order_by("pk")
    weight = sum(ln.item.weight_kg * ln.qty_dispatched for ln in lines)
    volume = sum(ln.item.volume_m3 * ln.qty_dispatched for ln in lines)
    content = pdf.render(
        title=_("Waybill"), organisation=settings.RELIEF_ORGANISATION,
        facts=[(_("Number"), waybill.number), (_("Transfer"), waybill.entry.number),
               (_("From"), str(waybill.source)), (_("To"), str(waybill.target)),
               (_("Dispatched"), timezone.localtime(waybill.dispatched_at).strftime("%Y-%m-%d %H:%M")),
               (_("Truck"), waybill.truck), (_("Driver"), waybill.driver),
               (_("Weight / volume"), f"{weight:.0f} kg / {volume:.2f} m³")],
        header=[_("Item"), _("Unit"), _("Lot"), _("Grant"), _("Dispatched"), _("Received"), _("Short"),
                _("Damaged")],
        rows=[[ln.item.code, ln.item.uom, ln.lot.code, ln.lot.grant.code if ln.lot.grant else "", ln.qty_dispatched,
               "", "", ""] for ln in lines],
        qr=waybill_receive_url(request, waybill), footer=pdf.signatures(),
        cancelled=waybill.status == Waybill.Status.CANCELLED,
    )
    return _pdf(content, f"{waybill.number}.pdf")


@login_required
def waybill_receive(request: HttpRequest, number: str) -> HttpResponse:
    """The page a waybill's QR opens: what was dispatched, and a form for what arrived."""
    waybill = access.waybill_for(request.user, get_object_or_404(Waybill, number=number))
    lines = list(waybill.lines.select_related("item", "lot").order_by("pk"))
    can_receive = waybill.status == Waybill.Status.IN_TRANSIT and access.can_post_at(request.user, waybill.target)
    errors: list[str] = []
    if request.method == "POST":
        access.waybill_for(request.user, waybill, for_write=True)
        received = []
        for ln in lines:
            try:
                received.append(services.ReceivedLine(
                    line_id=ln.pk, received=int(request.POST.get(f"received-{ln.pk}", "")),
                    short=int(request.POST.get(f"short-{ln.pk}") or 0),
                    damaged=int(request.POST.get(f"damaged-{ln.pk}") or 0),
                    remarks=request.POST.get(f"remarks-{ln.pk}", "")))
            except ValueError:
                errors.append(_("%(item)s lot %(lot)s: quantities must be whole numbers") % {
                    "item": ln.item.code, "lot": ln.lot.code})
        if not errors:
            try:
                services.waybill_receive(waybill=waybill, lines=received, user=request.user,
                                         remarks=request.POST.get("remarks", ""))
            except ValidationError as exc:
                errors.extend(exc.messages)
            except DocumentError as exc:
                errors.append(str(exc))
            else:
                messages.success(request, _("%(number)s received.") % {"number": waybill.number})
                return redirect("inventory:waybill-receive", number=waybill.number)
    return render(request, "inventory/waybill_receive.html", _context(
        request, _("Receive %(number)s") % {"number": waybill.number}, waybill=waybill, lines=lines,
        can_receive=can_receive, errors=errors, posted=request.POST if request.method == "POST" else {}))


def _count_for(request: HttpRequest, pk: int, *, post: bool = False) -> PhysicalCount:
    count = get_object_or_404(PhysicalCount, pk=pk)
    if post:
        access.require_poster(request.user)
    else:
        access.require_reader(request.user)
    access.warehouse_for(request.user, count.warehouse, for_write=post)
    return count


@login_required
def count_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    count = _count_for(request, pk)
    if request.GET.get("format") == "pdf":
        lines = count.lines.select_related("item", "lot").order_by("item__code", "lot__code")
        content = pdf.render(
            title=_("Count sheet"), organisation=settings.RELIEF_ORGANISATION,
            facts=[(_("Number"), count.number), (_("Warehouse"), str(count.warehouse)),
                   (_("Date"), count.posting_date.isoformat())],
            header=[_("Item"), _("Name"), _("Unit"), _("Lot"), _("Expiry"), _("Counted")],
            rows=[[ln.item.code, ln.item.name, ln.item.uom, ln.lot.code,
                   ln.lot.expiry.isoformat() if ln.lot.expiry else "", ""] for ln in lines],
            footer=[_("Counted by"), _("Checked by"), _("Date")],
        )
        return _pdf(content, f"{count.number}.pdf")
    response = HttpResponse(sheets.count_sheet_xlsx(count),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{count.number}.xlsx"'
    return response


@login_required
def count_upload(request: HttpRequest, pk: int) -> HttpResponse:
    count = _count_for(request, pk, post=True)
    errors: list[str] = []
    refused = None
    if request.method == "POST":
        try:
            uploads.check_request_size(request)  # before Django reads the body
        except uploads.UploadRefused as exc:
            refused = str(exc)
    if refused:
        errors.append(_("sheet: %(problem)s") % {"problem": refused})
    elif request.method == "POST":
        upload = request.FILES.get("sheet")
        if upload is None:
            errors.append(_("sheet: choose the filled-in XLSX file"))
        else:
            try:
                rows = sheets.count_rows_from_xlsx(upload)
                entered = services.count_lines_enter(count=count, rows=rows, user=request.user)
            except ValidationError as exc:
                errors.extend(exc.messages)
            except DocumentError as exc:
                errors.append(str(exc))
            else:
                messages.success(request, _("%(n)d counted lines recorded.") % {"n": entered})
                return redirect("admin:inventory_physicalcount_change", count.pk)
    return render(request, "inventory/count_upload.html", _context(
        request, _("Upload count %(number)s") % {"number": count.number}, count=count, errors=errors))
