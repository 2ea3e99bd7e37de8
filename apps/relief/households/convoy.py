"""Convoy manifests: households that leave (or move to another site) together, from a spreadsheet.

A manifest (XLSX or CSV, within the upload limits of ``relief.core.uploads``) has one row per household:

* ``household`` — the Relief household number, or ``unhcr_id`` — the UNHCR registration group id;
* ``date`` — the day it left (not in the future);
* ``reason`` — ``departed``, ``returned``, ``deceased`` or ``transferred``;
* ``site`` — for a transfer, the code of the site it moves to; ``note`` — optional.

Every row is checked first, as the registry import does, and every problem reported with its row and column,
never quoting a personal value. Then either every household goes or none (``all``), or the valid ones go
(``valid``). Each household moves through the same lifecycle services as at the desk
(``households_leave``, ``households_transfer``), in chunks of ``CHUNK`` households per transaction; ``all``
runs the chunks inside one outer transaction so a household changed meanwhile undoes the whole convoy.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.escape import sheet_row
from relief.core.files import private_dir, private_file
from relief.core.models import Site
from relief.households import services
from relief.households.importer import ImportFileError, read_sheets
from relief.households.models import ExitReason, Household, Member
from relief.households.validation import parse_date, text

MODES = ("all", "valid")
TRANSFERRED = "transferred"
REASONS = (*ExitReason.values, TRANSFERRED)
CHUNK = 500
# Accepted headers (case and spaces ignored) for each column.
HEADERS = {
    "household": {"household", "household number", "household_number", "number", "hh"},
    "unhcr_id": {"unhcr_id", "unhcr id", "unhcr group id", "unhcr_group_id", "progres id", "proGres id"},
    "date": {"date", "departure date", "date left", "exit date"},
    "reason": {"reason", "exit reason"},
    "site": {"site", "to site", "destination site", "new site"},
    "note": {"note", "remarks"},
}


@dataclass
class ManifestRow:
    row: int
    key: str
    household: Household | None = None
    on: date | None = None
    reason: str = ""
    site: Site | None = None
    note: str = ""
    site_code: str = ""
    by_unhcr: bool = False
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ConvoyResult:
    rows: int = 0
    valid: int = 0
    processed: int = 0
    committed: bool = False
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # row, column, message
    by_reason: dict[str, int] = field(default_factory=dict)
    report: str | None = None

    def as_dict(self) -> dict:
        return {"rows": self.rows, "valid": self.valid, "invalid": self.rows - self.valid,
                "processed": self.processed, "committed": self.committed, "problems": len(self.problems),
                "by_reason": self.by_reason, "report": self.report}


def files_dir() -> Path:
    from relief.households.importer import files_dir as import_dir

    return private_dir(import_dir().parent / "convoys")


def _columns(headers: list[str]) -> dict[str, int]:
    found = {}
    for index, header in enumerate(headers):
        name = header.strip().lower().replace("-", " ")
        for column, names in HEADERS.items():
            if name in {n.lower() for n in names} and column not in found:
                found[column] = index
    return found


def read_manifest(path: Path) -> tuple[list[ManifestRow], list[tuple[int, str, str]]]:
    """The rows of the first sheet, and the file-level problems (a missing column)."""
    sheets = read_sheets(path)
    sheet = next(iter(sheets.values()))
    columns = _columns(sheet.headers)
    problems = []
    if "household" not in columns and "unhcr_id" not in columns:
        problems.append((1, "household", _("the manifest needs a 'household' or a 'unhcr_id' column")))
    for needed in ("date", "reason"):
        if needed not in columns:
            problems.append((1, needed, _("the manifest needs a '%(column)s' column") % {"column": needed}))
    if problems:
        return [], problems

    def cell(values: tuple, column: str):
        index = columns.get(column)
        return values[index] if index is not None and index < len(values) else None

    rows = []
    for number, values in sheet.rows:
        row = ManifestRow(row=number, key=text(cell(values, "household")) or text(cell(values, "unhcr_id")))
        row.reason = text(cell(values, "reason")).lower()
        row.note = text(cell(values, "note"))
        raw_date = cell(values, "date")
        try:
            row.on = parse_date(raw_date)
        except (ValueError, TypeError):
            row.on = None
        if row.on is None:
            row.problems.append(("date", _("give the date it left (YYYY-MM-DD)")))
        row.site_code = text(cell(values, "site")).upper()
        row.by_unhcr = not text(cell(values, "household")) and bool(row.key)
        rows.append(row)
    return rows, []


def validate(rows: list[ManifestRow], *, site_ids: set[int] | None) -> None:
    """Find each household and check the row; problems are kept on the row. Reads only."""
    today = timezone.localdate()
    numbers = {r.key for r in rows if not r.by_unhcr and r.key}
    unhcr = {r.key for r in rows if r.by_unhcr}
    by_number = {h.number: h for h in Household.objects.filter(number__in=numbers).select_related("site")}
    by_unhcr: dict[str, list[Household]] = defaultdict(list)
    for h in Household.objects.filter(unhcr_group_id__in=unhcr).exclude(status="merged").select_related("site"):
        by_unhcr[h.unhcr_group_id].append(h)
    sites = {s.code: s for s in Site.objects.all()}
    active_members = defaultdict(int)
    for household_id in Member.objects.filter(household__in=list(by_number.values()) + [
            h for found in by_unhcr.values() for h in found], active=True).values_list("household_id", flat=True):
        active_members[household_id] += 1
    seen: dict[int, int] = {}
    for row in rows:
        if not row.key:
            row.problems.append(("household", _("give the household number or the UNHCR id")))
            continue
        if row.by_unhcr:
            found = by_unhcr.get(row.key, [])
            if len(found) > 1:
                row.problems.append(("unhcr_id", _("this UNHCR id belongs to %(n)s households: use the household "
                                                   "number") % {"n": len(found)}))
                continue
            row.household = found[0] if found else None
        else:
            row.household = by_number.get(row.key)
        column = "unhcr_id" if row.by_unhcr else "household"
        household = row.household
        # Out of the user's sites reads as unknown: the manifest must not reveal who is registered elsewhere.
        if household is None or (site_ids is not None and household.site_id not in site_ids):
            row.household = None
            row.problems.append((column, _("no such household in your sites")))
            continue
        if household.pk in seen:
            row.problems.append((column, _("the same household is on row %(row)s") % {"row": seen[household.pk]}))
            continue
        seen[household.pk] = row.row
        if row.reason not in REASONS:
            row.problems.append(("reason", _("choose one of: %(choices)s") % {"choices": ", ".join(REASONS)}))
        if row.on is not None and row.on > today:
            row.problems.append(("date", _("cannot be in the future")))
        if len(row.note) > services.NOTE_LIMIT:
            row.problems.append(("note", _("is longer than %(limit)s characters") % {"limit": services.NOTE_LIMIT}))
        if row.reason == TRANSFERRED:
            row.site = sites.get(row.site_code)
            if row.site is None:
                row.problems.append(("site", _("give the code of the site it moves to")))
            elif site_ids is not None and row.site.pk not in site_ids:
                row.problems.append(("site", _("you do not work in site %(site)s") % {"site": row.site.code}))
            elif household.status != "active":
                row.problems.append((column, _("%(number)s is not active (%(status)s)") % {
                    "number": household.number, "status": household.get_status_display()}))
            elif household.site_id == row.site.pk:
                row.problems.append(("site", _("%(number)s already lives in %(site)s") % {
                    "number": household.number, "site": row.site.code}))
        elif row.reason in ExitReason.values:
            for message in services.lifecycle_problems(household, reason=row.reason,
                                                       active_members=active_members[household.pk]):
                row.problems.append((column, message))


def _groups(rows: list[ManifestRow]) -> list[tuple[tuple, list[Household]]]:
    groups: dict[tuple, list[Household]] = defaultdict(list)
    for row in rows:
        groups[(row.reason, row.on, row.site.pk if row.site else None, row.note)].append(row.household)
    return sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0, kv[0][3]))


def _move(households: list[Household], *, reason: str, on, site, note: str, user) -> None:
    if reason == TRANSFERRED:
        services.households_transfer(user=user, households=households, site=site, note=note)
    else:
        services.households_leave(user=user, households=households, reason=reason, on=on, note=note)


def _process(rows: list[ManifestRow], *, user, one_by_one_on_refusal: bool,
             progress: Callable[[int, int], None]) -> tuple[dict[str, int], list[tuple[int, str, str]]]:
    """Move the households chunk by chunk. A chunk refused because a household changed since the check is,
    in ``valid`` mode, moved one household at a time so only that household is left out (and reported)."""
    done, total = 0, len(rows)
    by_reason: dict[str, int] = defaultdict(int)
    refused: list[tuple[int, str, str]] = []
    sites = {row.site.pk: row.site for row in rows if row.site is not None}
    row_of = {row.household.pk: row.row for row in rows}
    for (reason, on, site_id, note), households in _groups(rows):
        for start in range(0, len(households), CHUNK):
            chunk = households[start:start + CHUNK]
            common = {"reason": reason, "on": on, "site": sites.get(site_id), "note": note, "user": user}
            try:
                _move(chunk, **common)
                by_reason[reason] += len(chunk)
            except ValidationError:
                if not one_by_one_on_refusal:
                    raise
                for household in chunk:
                    try:
                        _move([household], **common)
                        by_reason[reason] += 1
                    except ValidationError as exc:
                        refused.append((row_of[household.pk], "household", "; ".join(exc.messages)))
            done += len(chunk)
            progress(done, total)
    return dict(by_reason), refused


def write_report(result: ConvoyResult, rows: list[ManifestRow]) -> str:
    """The report as XLSX: each row's outcome (processed, or its problems) and the totals."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(_("Rows"))
    sheet.append([_("Row"), _("Household"), _("Reason"), _("Outcome")])
    problems_by_row = defaultdict(list)
    for number, column, message in result.problems:
        problems_by_row[number].append(f"{column}: {message}")
    for row in rows:
        outcome = "; ".join(problems_by_row.get(row.row, [])) or (_("done") if result.committed else _("not done"))
        sheet.append(sheet_row([row.row, row.household.number if row.household else row.key, row.reason, outcome]))
    for number in sorted(set(problems_by_row) - {row.row for row in rows}):
        sheet.append(sheet_row([number, "", "", "; ".join(problems_by_row[number])]))
    totals = book.create_sheet(_("Summary"))
    for key, value in ((_("rows"), result.rows), (_("valid"), result.valid), (_("processed"), result.processed),
                       *((reason, n) for reason, n in sorted(result.by_reason.items()))):
        totals.append([key, value])
    name = f"convoy-report-{uuid.uuid4().hex}.xlsx"
    with private_file(files_dir() / name) as out:
        book.save(out)
    return name


def run_convoy(*, path: Path, user, site_ids: set[int] | None, mode: str = "all", dry_run: bool = False,
               progress: Callable[[str, int, int], None] | None = None) -> ConvoyResult:
    """Read, check and (unless ``dry_run``) carry out a convoy manifest; see the module docstring."""
    if mode not in MODES:
        raise ImportFileError(_("mode must be one of: %(modes)s") % {"modes": ", ".join(MODES)})

    def report(stage: str, done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    report(_("reading the manifest"), 0, 0)
    rows, file_problems = read_manifest(Path(path))
    result = ConvoyResult(rows=len(rows), problems=list(file_problems))
    report(_("checking households"), 0, len(rows))
    validate(rows, site_ids=site_ids)
    for row in rows:
        result.problems += [(row.row, column, message) for column, message in row.problems]
    valid = [row for row in rows if not row.problems]
    result.valid = len(valid)
    stop = dry_run or not valid or (mode == "all" and result.problems)
    if not stop:
        def moved(done: int, total: int) -> None:
            report(_("moving households"), done, total)

        if mode == "all":
            try:
                with transaction.atomic():
                    result.by_reason, _refused = _process(valid, user=user, one_by_one_on_refusal=False,
                                                          progress=moved)
            except ValidationError as exc:
                # Changed since the check: the whole convoy is undone, and says why.
                result.problems.append((0, "household", "; ".join(exc.messages)))
                result.by_reason = {}
        else:
            result.by_reason, refused = _process(valid, user=user, one_by_one_on_refusal=True, progress=moved)
            result.problems += refused
        result.processed = sum(result.by_reason.values())
        result.committed = result.processed > 0
    result.report = write_report(result, rows)
    return result
