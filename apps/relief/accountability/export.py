"""CSV and XLSX files of this package: donor reports, reach, the 4W, PDM lists.

Every cell goes through ``cell`` so hostile text (a household's words, a supplier name) can never become a
spreadsheet formula: it is ``relief.core.escape.sheet_cell``, the project-wide cell helper.
"""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from django.utils.translation import gettext as _

from relief.core.escape import sheet_cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

cell = sheet_cell


def table_csv(rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buffer.getvalue()


def table_xlsx(sheets: list[tuple[str, list[list]]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title[:31])
        for row in rows:
            sheet.append([cell(v) for v in row])
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def download(rows: list[list], *, name: str, fmt: str, sheet: str = "report") -> HttpResponse:
    """``rows`` (header first) as a CSV or XLSX attachment."""
    if fmt == "xlsx":
        response = HttpResponse(table_xlsx([(sheet, rows)]), content_type=XLSX)
    else:
        fmt = "csv"
        response = HttpResponse(table_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


class UploadError(ValueError):
    pass


def read_rows(uploaded) -> list[dict]:
    """The first sheet of an uploaded XLSX or CSV (a Kobo export) as dicts by header, within the site's upload
    limits (core.uploads) checked before anything is read."""
    from relief.core import uploads

    if uploaded is None:
        raise UploadError("file: " + _("choose a file"))
    name = (uploaded.name or "").lower()
    if not name.endswith((".csv", ".xlsx")):
        raise UploadError("file: " + _("upload an .xlsx or .csv export"))
    try:
        uploads.check_upload(uploaded)
    except uploads.UploadRefused as exc:
        raise UploadError(f"file: {exc}") from None
    uploaded.seek(0)
    data = uploaded.read()
    if name.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UploadError("file: " + _("the CSV is not UTF-8")) from None
        table = list(csv.reader(io.StringIO(text)))
    else:
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer to the user
            raise UploadError("file: " + _("not a readable XLSX workbook")) from None
        table = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    try:
        uploads.check_shape(rows=max(len(table) - 1, 0), columns=max((len(r) for r in table), default=0),
                            where=uploaded.name or "file")
    except uploads.UploadRefused as exc:
        raise UploadError(f"file: {exc}") from None
    if not table:
        return []
    header = [str(h or "").strip() for h in table[0]]
    rows = []
    for row in table[1:]:
        if all(v in (None, "") for v in row):
            continue
        rows.append({h: row[i] if i < len(row) else "" for i, h in enumerate(header) if h})
    return rows
