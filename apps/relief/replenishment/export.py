"""The plan as a workbook: every line with its explanation, the truck loads, and the inputs' digest."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from relief.core.escape import sheet_row
from relief.replenishment.models import ReplenishmentPlan

COLUMNS = [
    ("kind", _l("Kind"), 12), ("item", _l("Item"), 12), ("warehouse", _l("Warehouse"), 14), ("source", _l("From"), 14),
    ("qty", _l("Quantity"), 10), ("need_by", _l("Needed by"), 12), ("dispatch_on", _l("Dispatch on"), 12),
    ("arrive_on", _l("Arrives on"), 12), ("late_days", _l("Days late"), 9), ("truck_load", _l("Truck"), 8),
    ("weight_kg", _l("Weight kg"), 11), ("volume_m3", _l("Volume m³"), 11), ("cost", _l("Transport cost"), 12),
    ("needed_for", _l("Needed for"), 30), ("lots", _l("Lots"), 24), ("document", _l("Drafted as"), 16),
    ("explanation", _l("Why"), 100),
]


def _row(line) -> list:
    return [
        line.get_kind_display(), line.item.code, line.warehouse.code, line.source.code if line.source_id else "",
        line.qty, line.need_by, line.dispatch_on, line.arrive_on, line.late_days, line.truck_load,
        float(line.weight_kg), float(line.volume_m3), float(line.cost), line.needed_for,
        ", ".join(f"{code} × {qty}" for code, qty in line.lots), line.document, line.explanation,
    ]


def plan_workbook(plan: ReplenishmentPlan) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Plan")
    sheet.append([str(label) for _key, label, _width in COLUMNS])
    for n, (_key, _label, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
        sheet.cell(row=1, column=n).font = Font(bold=True)
    for line in plan.lines.select_related("item", "warehouse", "source").order_by("pk"):
        sheet.append(sheet_row(_row(line)))
    for row in sheet.iter_rows(min_row=2, min_col=6, max_col=8):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    trucks = book.create_sheet(_("Trucks"))
    trucks.append([_("From"), _("To"), _("Dispatch on"), _("Trucks"), _("km"), _("Weight kg"), _("Volume m³"),
                   _("Cost")])
    for load in plan.summary.get("loads", []):
        trucks.append(sheet_row([load["source"], load["target"], load["dispatch_on"], load["trucks"], load["km"],
                                 load["weight_kg"], load["volume_m3"], float(load["cost"])]))
    about = book.create_sheet(_("About"))
    for label, value in [(_("Plan"), plan.number), (_("Status"), plan.get_status_display()),
                         (_("From"), plan.horizon_start), (_("To"), plan.horizon_end), (_("Truck"), str(plan.truck)),
                         (_("Computed at"), plan.created_at.strftime("%Y-%m-%d %H:%M")),
                         (_("Input digest"), plan.digest)]:
        about.append(sheet_row([str(label), value]))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def purchase_request_pdf(request) -> bytes:
    """The request as the supplier and the approver see it: supplier, lines priced, total, the approval."""
    from django.conf import settings

    from relief.inventory.pdf import render

    approval = getattr(request, "approval", None)
    facts = [(_("Number"), request.number), (_("Status"), request.get_status_display()),
             (_("Supplier"), request.supplier), (_("Supplier contact"), request.supplier_contact),
             (_("Deliver to"), str(request.warehouse)), (_("Needed by"), request.need_by.isoformat()),
             (_("Charged to grant"), str(request.grant or "")), (_("Currency"), request.currency),
             (_("Total"), f"{request.total or 0:,.2f} {request.currency}"),
             (_("Approved by role"), request.approver_role)]
    if approval is not None:
        facts.append((_("Decision"), f"{approval.get_decision_display()} · {approval.decided_by} · "
                                     f"{approval.decided_at:%Y-%m-%d %H:%M} {approval.note}"))
    else:
        facts.append((_("Decision"), _("awaiting approval") if request.status == "submitted" else _("draft")))
    rows = [[ln.item.code, ln.item.name[:40], ln.item.uom, ln.qty, f"{ln.unit_price or 0:,.2f}",
             f"{ln.amount or 0:,.2f}", ln.need_by.isoformat()]
            for ln in request.lines.select_related("item").order_by("pk")]
    # render() passes every text through relief.core.escape.pdf_text: the supplier's name is never markup.
    return render(title=_("Purchase request"), organisation=settings.RELIEF_ORGANISATION, facts=facts,
                  header=[_("Item"), _("Description"), _("Unit"), _("Quantity"), _("Unit price"), _("Amount"),
                          _("Needed by")],
                  rows=rows, footer=[_("Requested by"), _("Approved by"), _("Supplier")])
