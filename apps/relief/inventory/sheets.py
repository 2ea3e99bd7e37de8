"""Count sheets as XLSX: download to fill in, upload to record the counts."""

from __future__ import annotations

import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from relief.core import uploads
from relief.core.escape import sheet_row
from relief.inventory.models import PhysicalCount
from relief.inventory.services import CountRow

HEADER = ["item", "name", "uom", "lot", "expiry", "counted"]


def count_sheet_xlsx(count: PhysicalCount) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = count.number[:31]
    sheet.append(HEADER)
    for ln in count.lines.select_related("item", "lot").order_by("item__code", "lot__code"):
        sheet.append(sheet_row([ln.item.code, ln.item.name, ln.item.uom, ln.lot.code, ln.lot.expiry, ln.counted_qty]))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def count_rows_from_xlsx(upload) -> list[CountRow]:
    """Rows of an uploaded sheet; blank counted cells are skipped (not counted yet)."""
    try:
        # Size, inflation and the declared sheet first: openpyxl walks every declared cell.
        uploads.check_size(getattr(upload, "size", None))
        uploads.check_xlsx(upload)
    except uploads.UploadRefused as exc:
        raise ValidationError(_("sheet: %(problem)s") % {"problem": exc}) from None
    try:
        book = load_workbook(upload, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise ValidationError(_("sheet: not an XLSX workbook (%(error)s)") % {"error": exc.__class__.__name__}) \
            from exc
    rows = book.active.iter_rows(values_only=True)
    header = [str(c or "").strip().lower() for c in next(rows, [])]
    missing = [c for c in ("item", "lot", "counted") if c not in header]
    if missing:
        raise ValidationError(_("sheet: the first row needs the columns %(columns)s") % {
            "columns": ", ".join(missing)})
    at = {name: header.index(name) for name in ("item", "lot", "counted")}
    found = []
    cap = uploads.limits()["upload_rows"] + 1
    for n, row in enumerate(rows, start=2):
        if n > cap:  # a sheet whose dimension understated it
            raise ValidationError(_("sheet: more than %(n)s rows (site config \"limits\": upload_rows)") % {
                "n": f"{cap - 1:,}"})
        if not row or all(c is None for c in row):
            continue
        counted = row[at["counted"]] if len(row) > at["counted"] else None
        if counted is None or counted == "":
            continue
        found.append(CountRow(row=n, item=str(row[at["item"]] or "").strip(), lot=str(row[at["lot"]] or "").strip(),
                              counted=counted))
    return found
