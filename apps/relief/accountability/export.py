"""CSV and XLSX files of this package: donor reports, reach, the 4W, PDM lists.

Every cell goes through ``cell`` so hostile text (a household's words, a supplier name) can never become a
spreadsheet formula. It is the one line to switch to the project-wide cell helper when that lands.
"""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

from django.http import HttpResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value):
    """Numbers and dates as themselves; text that a spreadsheet would run as a formula, quoted."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal | datetime.date):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


cell = _safe_cell


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


MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_ROWS = 20000


class UploadError(ValueError):
    pass


def read_rows(uploaded) -> list[dict]:
    """The first sheet of an uploaded XLSX or CSV (a Kobo export) as dicts by header; bounded in size."""
    if uploaded is None:
        raise UploadError("file: choose a file")
    if uploaded.size > MAX_UPLOAD_BYTES:
        raise UploadError("file: at most 5 MB")
    data = uploaded.read()
    name = (uploaded.name or "").lower()
    if name.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UploadError("file: the CSV is not UTF-8") from None
        reader = csv.reader(io.StringIO(text))
        table = [row for _n, row in zip(range(MAX_UPLOAD_ROWS + 2), reader, strict=False)]
    elif name.endswith(".xlsx"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer to the user
            raise UploadError("file: not a readable XLSX workbook") from None
        sheet = book.worksheets[0]
        table = [list(row) for _n, row in zip(range(MAX_UPLOAD_ROWS + 2), sheet.iter_rows(values_only=True),
                                              strict=False)]
    else:
        raise UploadError("file: upload an .xlsx or .csv export")
    if len(table) > MAX_UPLOAD_ROWS + 1:
        raise UploadError(f"file: at most {MAX_UPLOAD_ROWS} rows")
    if not table:
        return []
    header = [str(h or "").strip() for h in table[0]]
    rows = []
    for row in table[1:]:
        if all(v in (None, "") for v in row):
            continue
        rows.append({h: row[i] if i < len(row) else "" for i, h in enumerate(header) if h})
    return rows
