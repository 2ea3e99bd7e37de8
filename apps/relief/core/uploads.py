"""Limits on uploaded spreadsheets, checked before a reader allocates anything for them.

A few kilobytes of XLSX can declare a sheet of 17 billion cells (its ``<dimension>``) or inflate a thousandfold:
readers that trust it ask for hundreds of gigabytes or spin for minutes. Every upload (registration imports in
the web process and in jobs, count sheets) passes here first. The limits are ``settings.RELIEF_LIMITS``
(``limits`` in site_config.json; README, *Limits*), and each refusal names the limit it hit.
"""

from __future__ import annotations

import json
import re
import zipfile
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

# The first bytes of a worksheet part hold <dimension ref="A1:K200"/> (written before <sheetData>).
DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?\"")
HEAD_BYTES = 64 * 1024
# Below this an inflated member is harmless whatever its ratio (a sheet of blanks compresses very well).
RATIO_FLOOR = 1024 * 1024


class UploadRefused(ValueError):
    """An upload beyond a limit; the message names the limit and how to change it."""


def limits() -> dict[str, int]:
    return settings.RELIEF_LIMITS


def _refuse(what: str, limit: str) -> UploadRefused:
    return UploadRefused(_("%(what)s: beyond the limit %(limit)s = %(value)s (site config \"limits\")") % {
        "what": what, "limit": limit, "value": f"{limits()[limit]:,}"})


def check_size(size: int | None) -> None:
    if size is not None and size > limits()["upload_bytes"]:
        raise _refuse(_("the file is %(size)s bytes") % {"size": f"{size:,}"}, "upload_bytes")


def _column_number(letters: bytes | None) -> int:
    n = 0
    for c in letters or b"A":
        n = n * 26 + (c - 64)
    return n


def check_shape(*, rows: int, columns: int, where: str) -> None:
    if rows > limits()["upload_rows"]:
        raise _refuse(_("%(where)s has %(n)s rows") % {"where": where, "n": f"{rows:,}"}, "upload_rows")
    if columns > limits()["upload_columns"]:
        raise _refuse(_("%(where)s has %(n)s columns") % {"where": where, "n": f"{columns:,}"}, "upload_columns")
    if rows * columns > limits()["upload_cells"]:
        raise _refuse(_("%(where)s has %(n)s cells") % {"where": where, "n": f"{rows * columns:,}"}, "upload_cells")


def check_xlsx(source: str | IO[bytes]) -> None:
    """Refuse a workbook that is too big, a zip bomb, or declares a sheet beyond the limits, before any
    reader sees it. ``source`` is a path or a seekable binary file (left at its start)."""
    position = source.tell() if hasattr(source, "tell") else None
    try:
        with zipfile.ZipFile(source) as book:
            inflated = 0
            for member in book.infolist():
                inflated += member.file_size
                if member.file_size > RATIO_FLOOR and member.file_size > limits()["xlsx_zip_ratio"] * max(
                        member.compress_size, 1):
                    raise _refuse(_("%(member)s inflates %(ratio)s times") % {
                        "member": member.filename, "ratio": f"{member.file_size // max(member.compress_size, 1):,}"},
                        "xlsx_zip_ratio")
            if inflated > limits()["xlsx_unzipped_bytes"]:
                raise _refuse(_("the workbook inflates to %(n)s bytes") % {"n": f"{inflated:,}"},
                              "xlsx_unzipped_bytes")
            for member in book.infolist():
                if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                    with book.open(member) as part:
                        head = part.read(HEAD_BYTES)
                    found = DIMENSION.search(head)
                    if found and found.group(4):
                        rows = int(found.group(4)) - 1  # the header row
                        columns = _column_number(found.group(3))
                        check_shape(rows=rows, columns=columns,
                                    where=_("sheet %(sheet)s (as declared)") % {"sheet": member.filename[14:-4]})
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        if isinstance(exc, UploadRefused):
            raise
        raise UploadRefused(_("not a readable XLSX workbook")) from exc
    finally:
        if position is not None:
            source.seek(position)


def check_upload(upload) -> None:
    """A Django ``UploadedFile``: its size, then for an XLSX its inside."""
    check_size(upload.size)
    if upload.name.lower().endswith((".xlsx", ".xlsm")):
        upload.seek(0)
        check_xlsx(upload)


def check_request_size(request) -> None:
    """Before Django reads the body: a declared length beyond the upload limit (plus room for the form)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limits()["upload_bytes"] + 64 * 1024:
        raise _refuse(_("the upload is %(size)s bytes") % {"size": f"{declared:,}"}, "upload_bytes")


def _depth(value, limit: int, level: int = 1) -> int:
    if level > limit:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(v, limit, level + 1) for v in children), default=level)


def load_json(raw: str | bytes) -> object:
    """JSON from an upload or a body: ValueError (naming the limit) when it nests beyond ``json_depth``, never
    a RecursionError."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise _refuse(_("the JSON nests too deep"), "json_depth") from None
    if _depth(data, limits()["json_depth"]) > limits()["json_depth"]:
        raise _refuse(_("the JSON nests too deep"), "json_depth")
    return data
