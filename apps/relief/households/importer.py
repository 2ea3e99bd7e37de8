"""Import households from KoboToolbox exports (XLSX, CSV) and plain spreadsheets, through a mapping file.

Three steps, each over the whole file:

1. **read** the sheets and map columns to fields (group paths, select-multiple columns, the repeat
   sheet of members linked by ``_index`` / ``_parent_index``);
2. **validate** every household with its members and report every problem at once (sheet, row,
   column, what is wrong), never quoting a personal value;
3. **write**, in one transaction, either every household or none (``all``), or only the households
   that are wholly valid (``valid``): never half a household. A household already imported
   (same Kobo ``_uuid``, else same UNHCR group id) is updated, never registered twice.
"""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from relief.core import uploads
from relief.core.db import lock_rows
from relief.core.escape import sheet_row
from relief.core.files import private_dir, private_file
from relief.core.locks import Rank
from relief.core.naming import naming_next_many
from relief.households.models import NEED_FIELDS, WG_FIELDS, Household, HouseholdStatus, Member, Relationship
from relief.households.services import derive_household, number_series
from relief.households.validation import (
    MEMBER_FIELDS,
    Places,
    blank,
    clean_household,
    clean_member,
    head_problems,
    text,
)

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
HOUSEHOLD_MAP_FIELDS = {"site", "block", "origin_country", "origin_province", "origin_commune", "origin_village",
                        "language", "phone", "unhcr_group_id", "government_id", "kobo_uuid", "registered_on",
                        "consent_given_by", "consent_date", "consent_purposes"}
MEMBER_MAP_FIELDS = set(MEMBER_FIELDS) | {"age_estimated"}
COLLECTOR_MAP_FIELDS = {"name", "relationship", "id_document"}
MULTI_FIELDS = {"consent_purposes", "specific_needs"}
MODES = ("all", "valid")
BATCH = 1000


class ImportFileError(Exception):
    """The file or mapping cannot be read at all (as opposed to bad rows, which are reported)."""


@dataclass
class Problem:
    sheet: str
    row: int | None
    column: str
    message: str


@dataclass
class Mapping:
    format: str
    household: dict[str, str]
    member: dict[str, str]
    head: dict[str, str] = field(default_factory=dict)
    collector: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    household_sheet: str | None = None
    member_sheet: str | None = None
    household_index: str = "_index"
    member_parent_index: str = "_parent_index"
    group_by: str | None = None

    @classmethod
    def load(cls, source: str | Path | dict | None) -> Mapping:
        """A mapping from a file path, a name of a committed example (``kobo_example``) or a dict."""
        if source is None:
            source = "kobo_example"
        if isinstance(source, dict):
            data = source
        else:
            path = Path(source)
            if not path.exists() and (MAPPINGS_DIR / f"{source}.json").exists():
                path = MAPPINGS_DIR / f"{source}.json"
            try:
                data = uploads.load_json(path.read_text(encoding="utf-8"))
            except FileNotFoundError as exc:
                raise ImportFileError(_("mapping file not found: %(name)s") % {"name": path.name}) from exc
            except (ValueError, UnicodeDecodeError) as exc:
                raise ImportFileError(_("mapping file is not valid JSON: %(error)s") % {"error": exc}) from exc
        if not isinstance(data, dict):
            raise ImportFileError(_("mapping: expected a JSON object"))
        problems = []
        fmt = data.get("format")
        if fmt not in ("kobo", "plain"):
            problems.append(_("format must be 'kobo' or 'plain'"))
        for section, allowed in (("household", HOUSEHOLD_MAP_FIELDS), ("member", MEMBER_MAP_FIELDS),
                                 ("head", MEMBER_MAP_FIELDS), ("collector", COLLECTOR_MAP_FIELDS)):
            value = data.get(section, {})
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                problems.append(_("%(section)s must map field names to column names") % {"section": section})
                continue
            unknown = sorted(set(value) - allowed)
            if unknown:
                problems.append(_("%(section)s: unknown fields %(fields)s") % {"section": section,
                                                                               "fields": ", ".join(unknown)})
        if fmt == "plain" and not data.get("group_by"):
            problems.append(_("a plain mapping needs group_by: the column that holds each household's reference"))
        if problems:
            raise ImportFileError(_("mapping: %(problems)s") % {"problems": "; ".join(problems)})
        known = {f.name for f in cls.__dataclass_fields__.values()}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Sheet:
    name: str
    headers: list[str]
    rows: list[tuple[int, tuple]]


def read_sheets(path: Path) -> dict[str, Sheet]:
    """Every sheet of an XLSX file, or the one table of a CSV file, with spreadsheet row numbers. The upload
    limits (relief.core.uploads) are checked first: the file's size, an XLSX's declared sheets and inflation."""
    try:
        return _read_sheets(path)
    except uploads.UploadRefused as exc:
        raise ImportFileError(str(exc)) from None


def _read_csv(path: Path) -> list[list[str]]:
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("the CSV file is not UTF-8 text")) from exc
    dialect = csv.excel
    with contextlib.suppress(csv.Error):
        dialect = csv.Sniffer().sniff(raw[:4096], delimiters=",;\t")
    table = []
    cap = uploads.limits()["upload_rows"] + 1
    try:
        for row in csv.reader(io.StringIO(raw), dialect):
            table.append(row)
            # Counted as read: a million short rows never all reach memory.
            uploads.check_shape(rows=len(table) - 1, columns=len(row), where=path.name)
            if len(table) > cap:
                break
    except csv.Error as exc:
        raise ImportFileError(_("the CSV file is malformed at row %(row)s (%(error)s)") % {
            "row": len(table) + 1, "error": exc}) from None
    return table


def _read_sheets(path: Path) -> dict[str, Sheet]:
    suffix = path.suffix.lower()
    sheets: dict[str, Sheet] = {}
    uploads.check_size(path.stat().st_size if path.exists() else None)
    if suffix == ".csv":
        table = _read_csv(path)
        if not table:
            raise ImportFileError(_("the file is empty"))
        sheets[path.stem] = Sheet(path.stem, [text(h) for h in table[0]],
                                  [(n, tuple(r)) for n, r in enumerate(table[1:], start=2) if any(r)])
        return sheets
    if suffix not in (".xlsx", ".xlsm"):
        raise ImportFileError(_("use an .xlsx or .csv file"))
    uploads.check_xlsx(str(path))
    # calamine (Rust) reads a 100,000-row export about fifteen times faster than openpyxl.
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        tables = []
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            # calamine's own idea of the sheet (it may ignore a false <dimension>): still within the limits.
            uploads.check_shape(rows=max(sheet.height - 1, 0), columns=sheet.width, where=name)
            tables.append((name, sheet.to_python(skip_empty_area=False)))
    except (CalamineError, OSError, ValueError) as exc:
        if isinstance(exc, uploads.UploadRefused):
            raise
        raise ImportFileError(_("the file is not a readable XLSX workbook")) from exc
    for name, table in tables:
        if not table:
            continue
        header = table[0]
        width = max((i + 1 for i, h in enumerate(header) if not blank(h)), default=0)
        data = [(n, tuple(row[:width])) for n, row in enumerate(table[1:], start=2)
                if any(v is not None and v != "" for v in row[:width])]
        sheets[name] = Sheet(name, [text(h) for h in header[:width]], data)
    if not sheets:
        raise ImportFileError(_("the file is empty"))
    return sheets


@dataclass
class Column:
    """Where a field's value is: one column, or for select-multiple the ``question/option`` columns."""

    header: str
    index: int | None = None
    options: dict[str, int] | None = None

    def value(self, row: tuple):
        if self.index is not None:
            return row[self.index] if self.index < len(row) else None
        chosen = []
        for option, i in (self.options or {}).items():
            cell = row[i] if i < len(row) else None
            if text(cell).lower() in ("1", "true", "yes"):
                chosen.append(option)
        return " ".join(chosen)


def _resolve(headers: list[str], wanted: str, *, multi: bool) -> Column | None:
    """Find a column by its full group path, else by its last path segment (exports without groups)."""
    if wanted in headers:
        return Column(wanted, index=headers.index(wanted))
    last = wanted.rsplit("/", 1)[-1]
    same_tail = [i for i, h in enumerate(headers) if h.rsplit("/", 1)[-1] == last]
    if len(same_tail) == 1:
        return Column(headers[same_tail[0]], index=same_tail[0])
    if multi:
        options = {h[len(wanted) + 1:]: i for i, h in enumerate(headers) if h.startswith(wanted + "/")}
        if not options:
            options = {h.rsplit("/", 1)[-1]: i for i, h in enumerate(headers)
                       if h.rsplit("/", 1)[0].rsplit("/", 1)[-1] == last and "/" in h}
        if options:
            return Column(wanted, options=options)
    return None


@dataclass
class Part:
    """One row's worth of a household or a member, with where each value came from."""

    sheet: str
    row: int
    raw: dict
    where: dict[str, str]


@dataclass
class Submission:
    household: Part
    members: list[Part] = field(default_factory=list)
    collector: Part | None = None
    problems: list[Problem] = field(default_factory=list)
    cleaned: dict = field(default_factory=dict)
    member_values: list[dict] = field(default_factory=list)
    collector_values: dict | None = None
    existing: Household | None = None


def _extract(sheet: Sheet, section: dict[str, str], mapping: Mapping, problems: list[Problem],
             required: set[str]) -> dict[str, Column]:
    columns = {}
    for name, header in section.items():
        column = _resolve(sheet.headers, header, multi=name in MULTI_FIELDS)
        if column is None:
            if name in required:
                problems.append(Problem(sheet.name, 1, header, _("column not found in the sheet")))
            continue
        columns[name] = column
    return columns


def _read_part(sheet: Sheet, n: int, row: tuple, columns: dict[str, Column], mapping: Mapping) -> Part:
    raw, where = {}, {}
    for name, column in columns.items():
        value = column.value(row)
        value = _translate(name, value, mapping)
        raw[name] = value
        where[name] = column.header
    return Part(sheet.name, n, raw, where)


def _translate(name: str, value, mapping: Mapping):
    """Form choice names to Relief's codes, e.g. ``female`` → ``f``, ``a_lot_of_difficulty`` → 3."""
    key = "wg" if name in WG_FIELDS else name
    table = mapping.choices.get(key)
    if not table or blank(value):
        return value
    if name in MULTI_FIELDS:
        return " ".join(str(table.get(token, token)) for token in text(value).split())
    return table.get(text(value), value)


HOUSEHOLD_REQUIRED = {"consent_given_by", "consent_date", "consent_purposes"}
MEMBER_REQUIRED = {"given_name", "family_name", "sex", "relationship"}


def parse(sheets: dict[str, Sheet], mapping: Mapping) -> tuple[list[Submission], list[Problem]]:
    """Group the file's rows into households; problems that belong to no household are returned apart."""
    problems: list[Problem] = []
    names = list(sheets)
    main = sheets.get(mapping.household_sheet) if mapping.household_sheet else sheets[names[0]]
    if main is None:
        raise ImportFileError(_("sheet '%(name)s' not found") % {"name": mapping.household_sheet})
    if mapping.format == "plain":
        return _parse_plain(main, mapping, problems)
    required = HOUSEHOLD_REQUIRED - set(mapping.defaults)
    hh_cols = _extract(main, mapping.household, mapping, problems, required)
    head_cols = _extract(main, mapping.head, mapping, problems, MEMBER_REQUIRED - {"relationship"})
    collector_cols = _extract(main, mapping.collector, mapping, problems, set())
    submissions: list[Submission] = []
    by_index: dict[str, Submission] = {}
    index_col = _resolve(main.headers, mapping.household_index, multi=False)
    for n, row in main.rows:
        sub = Submission(_read_part(main, n, row, hh_cols, mapping))
        if head_cols:
            head = _read_part(main, n, row, head_cols, mapping)
            head.raw.setdefault("relationship", Relationship.HEAD)
            head.raw["is_head"] = True
            sub.members.append(head)
        if collector_cols:
            part = _read_part(main, n, row, collector_cols, mapping)
            if any(not blank(v) for v in part.raw.values()):
                sub.collector = part
        if index_col is not None:
            by_index[text(index_col.value(row))] = sub
        submissions.append(sub)
    if mapping.member_sheet:
        repeat = sheets.get(mapping.member_sheet)
        if repeat is None:
            if not head_cols:
                problems.append(Problem(mapping.member_sheet, None, "",
                                        _("members sheet not found in the file")))
            return submissions, problems
        if index_col is None:
            problems.append(Problem(main.name, 1, mapping.household_index,
                                    _("column not found in the sheet; it links members to households")))
            return submissions, problems
        parent_col = _resolve(repeat.headers, mapping.member_parent_index, multi=False)
        if parent_col is None:
            problems.append(Problem(repeat.name, 1, mapping.member_parent_index, _("column not found in the sheet")))
            return submissions, problems
        member_cols = _extract(repeat, mapping.member, mapping, problems, MEMBER_REQUIRED)
        for n, row in repeat.rows:
            parent = by_index.get(text(parent_col.value(row)))
            if parent is None:
                problems.append(Problem(repeat.name, n, parent_col.header,
                                        _("links to no row of the household sheet")))
                continue
            parent.members.append(_read_part(repeat, n, row, member_cols, mapping))
    return submissions, problems


def _parse_plain(sheet: Sheet, mapping: Mapping, problems: list[Problem]):
    group = _resolve(sheet.headers, mapping.group_by or "", multi=False)
    if group is None:
        problems.append(Problem(sheet.name, 1, mapping.group_by or "", _("column not found in the sheet")))
        return [], problems
    hh_cols = _extract(sheet, mapping.household, mapping, problems, HOUSEHOLD_REQUIRED - set(mapping.defaults))
    member_cols = _extract(sheet, mapping.member, mapping, problems, MEMBER_REQUIRED)
    collector_cols = _extract(sheet, mapping.collector, mapping, problems, set())
    groups: dict[str, Submission] = {}
    for n, row in sheet.rows:
        ref = text(group.value(row))
        if not ref:
            problems.append(Problem(sheet.name, n, group.header, _("is required: it groups members into households")))
            continue
        member = _read_part(sheet, n, row, member_cols, mapping)
        sub = groups.get(ref)
        is_head = text(member.raw.get("relationship")).lower() == Relationship.HEAD
        if sub is None:
            sub = groups[ref] = Submission(_read_part(sheet, n, row, hh_cols, mapping))
        elif is_head:
            # Household details are read from the head's row when rows disagree.
            sub.household = _read_part(sheet, n, row, hh_cols, mapping)
        if collector_cols and sub.collector is None:
            part = _read_part(sheet, n, row, collector_cols, mapping)
            if any(not blank(v) for v in part.raw.values()):
                sub.collector = part
        sub.members.append(member)
    return list(groups.values()), problems


def _problem(part: Part, name: str, message: str) -> Problem:
    return Problem(part.sheet, part.row, part.where.get(name, name), message)


def validate(submissions: list[Submission], *, mapping: Mapping, places: Places, site_ids: set[int] | None,
             progress: Callable[[int, int], None] | None = None) -> None:
    """Clean every household and member; each submission collects its own problems."""
    from relief.households.services import _clean_collector

    seen_uuid: dict[str, int] = {}
    seen_group: dict[str, int] = {}
    seen_person: dict[str, int] = {}
    today = timezone.localdate()
    for count, sub in enumerate(submissions, start=1):
        part = sub.household
        raw = {**mapping.defaults, **{k: v for k, v in part.raw.items() if not blank(v)}}
        raw.setdefault("site", None)
        for name in ("kobo_uuid", "unhcr_group_id"):
            raw.setdefault(name, "")
        cleaned, errors = clean_household(raw, places=places, today=today)
        sub.cleaned = cleaned
        for name, message in errors.items():
            sub.problems.append(_problem(part, name, message))
        site = cleaned.get("site")
        if site is not None and site_ids is not None and site.pk not in site_ids:
            sub.problems.append(_problem(part, "site", _("you do not work in site %(site)s") % {"site": site.code}))
        for name, seen in (("kobo_uuid", seen_uuid), ("unhcr_group_id", seen_group)):
            value = cleaned.get(name)
            if value:
                if value in seen:
                    sub.problems.append(_problem(part, name, _("the same value is on row %(row)s")
                                                 % {"row": seen[value]}))
                else:
                    seen[value] = part.row
        on = cleaned.get("registered_on") or today
        values = []
        for member in sub.members:
            member_values, member_errors = clean_member(member.raw, on=on)
            for name, message in member_errors.items():
                if name == "date_of_birth" and "date_of_birth" not in member.where and "age" in member.where:
                    name = "age"
                sub.problems.append(_problem(member, name, message))
            person = member_values.get("individual_id")
            if person:
                if person in seen_person:
                    sub.problems.append(_problem(member, "individual_id", _("the same id is on row %(row)s")
                                                 % {"row": seen_person[person]}))
                else:
                    seen_person[person] = member.row
            values.append(member_values)
        sub.member_values = values
        if not sub.members:
            sub.problems.append(_problem(part, "members", _("the household has no members")))
        else:
            problem = head_problems(values)
            # A member with no relationship is reported already; a head count would only add noise.
            if problem and all(m.raw.get("relationship") is not None for m in sub.members):
                # Point at the second head, or at the first member when there is none.
                heads = [m for m, v in zip(sub.members, values, strict=True) if v.get("is_head")]
                head_at = heads[-1] if heads else sub.members[0]
                sub.problems.append(_problem(head_at, "relationship", problem))
        if sub.collector is not None:
            try:
                sub.collector_values = _clean_collector(sub.collector.raw)
            except Exception as exc:  # ValidationError keyed by field
                for name, messages in getattr(exc, "message_dict", {"collector": [str(exc)]}).items():
                    sub.problems.append(_problem(sub.collector, name, " ".join(messages)))
        if progress and count % 500 == 0:
            progress(count, len(submissions))


def match_existing(submissions: list[Submission]) -> None:
    """Attach each submission to the household it updates: same Kobo _uuid, else same UNHCR group id."""
    uuids = [s.cleaned["kobo_uuid"] for s in submissions if s.cleaned.get("kobo_uuid")]
    groups = [s.cleaned["unhcr_group_id"] for s in submissions if s.cleaned.get("unhcr_group_id")]
    by_uuid, by_group = {}, {}
    for start in range(0, len(uuids), BATCH):
        for h in Household.objects.filter(kobo_uuid__in=uuids[start:start + BATCH]).select_related("merged_into"):
            by_uuid[h.kobo_uuid] = h
    for start in range(0, len(groups), BATCH):
        for h in Household.objects.filter(unhcr_group_id__in=groups[start:start + BATCH]).exclude(
                status=HouseholdStatus.MERGED).select_related("merged_into"):
            by_group.setdefault(h.unhcr_group_id, h)
    for sub in submissions:
        found = by_uuid.get(sub.cleaned.get("kobo_uuid")) or by_group.get(sub.cleaned.get("unhcr_group_id"))
        if found is None:
            continue
        if found.status == HouseholdStatus.MERGED:
            sub.problems.append(_problem(sub.household, "kobo_uuid", _(
                "%(number)s was merged into %(survivor)s: correct that household in the desk")
                % {"number": found.number, "survivor": found.merged_into.number}))
            continue
        sub.existing = found


def _member_key(values: dict) -> str:
    if values.get("individual_id"):
        return "id:" + values["individual_id"]
    return "nm:{}|{}|{}".format(values["given_name"].casefold(), values["family_name"].casefold(),
                                values["date_of_birth"].isoformat())


MEMBER_WRITE_FIELDS = ["given_name", "family_name", "sex", "date_of_birth", "age_estimated", "relationship",
                       "individual_id", "is_head", *WG_FIELDS, *NEED_FIELDS, "has_disability"]
HOUSEHOLD_WRITE_FIELDS = ["site", "block", "origin_country", "origin_province", "origin_commune", "origin_village",
                          "language", "phone", "unhcr_group_id", "government_id", "registered_on",
                          "consent_given_by", "consent_date", "consent_purposes"]
DERIVED = ["size", "female_headed", "child_headed", "older_person_headed"]


@dataclass
class Counts:
    households_new: int = 0
    households_updated: int = 0
    households_unchanged: int = 0
    members_new: int = 0
    members_updated: int = 0


def write(submissions: list[Submission], *, user, progress: Callable[[int, int], None] | None = None) -> Counts:
    """Create and update the households in one transaction (the caller's, or a new one)."""
    counts = Counts()
    today = timezone.localdate()
    with transaction.atomic():
        existing_ids = sorted(s.existing.pk for s in submissions if s.existing is not None)
        locked: dict[int, Household] = {}
        for start in range(0, len(existing_ids), BATCH):
            for h in lock_rows(Household.objects.filter(pk__in=existing_ids[start:start + BATCH]), rank=Rank.HOUSEHOLD):
                locked[h.pk] = h
        new_households, new_members, new_subs = [], [], []
        fresh = [s for s in submissions if s.existing is None]
        numbers = _take_numbers(fresh)
        for sub in fresh:
            household = Household(number=next(numbers[sub.cleaned["site"].pk]), status=HouseholdStatus.ACTIVE,
                                  **{k: v for k, v in sub.cleaned.items() if k in HOUSEHOLD_WRITE_FIELDS
                                     or k == "kobo_uuid"})
            members = [Member(**values) for values in sub.member_values]
            for m in members:
                m.derive()
            derive_household(household, members, today=today)
            new_households.append(household)
            new_subs.append(members)
        now = timezone.now()
        for household in new_households:
            household.created_at = household.updated_at = now
        insert_rows(new_households)
        for start in range(0, len(new_households), BATCH):
            chunk = new_households[start:start + BATCH]
            ids = dict(Household.objects.filter(number__in=[h.number for h in chunk]).values_list("number", "pk"))
            for household in chunk:
                household.pk = household.id = ids[household.number]
        insert_history(new_households, user=user, now=now)
        for household, members in zip(new_households, new_subs, strict=True):
            for m in members:
                m.household = household
            new_members.extend(members)
        insert_rows(new_members)
        _member_ids(new_households, new_subs)
        insert_history(new_members, user=user, now=now)
        counts.households_new, counts.members_new = len(new_households), len(new_members)
        if progress:
            progress(len(new_households), len(submissions))
        _update_existing([s for s in submissions if s.existing is not None], locked, counts, user=user, today=today)
        _add_collectors(submissions, new_households, user=user)
    return counts


def _db_values(fields, obj) -> tuple:
    values = []
    for f in fields:
        value = getattr(obj, f.attname)
        if isinstance(f, models.DateTimeField) and value is not None:
            value = connection.ops.adapt_datetimefield_value(value)
        values.append(value)
    return tuple(values)


def _insert_sql(model, columns) -> str:
    quote = connection.ops.quote_name
    return (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})")


def insert_rows(objs: list) -> None:
    """Insert new rows with plain multi-row INSERTs; the caller reads their primary keys back.

    The ORM's bulk_create spends most of a 100,000-member import compiling each value into SQL;
    these rows hold only plain values (text, numbers, dates, booleans) that the driver escapes itself.
    """
    if not objs:
        return
    model = type(objs[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and not f.generated]
    sql = _insert_sql(model, fields)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            cursor.executemany(sql, [_db_values(fields, o) for o in objs[start:start + BATCH]])


def insert_history(objs: list, *, user, now) -> None:
    """The "+" history rows of freshly inserted rows (their primary keys set)."""
    if not objs:
        return
    model = type(objs[0])
    history = model.history.model
    tracked = {f.attname for f in model._meta.concrete_fields}
    columns = [f for f in history._meta.concrete_fields if not f.primary_key]
    extra = {"history_date": connection.ops.adapt_datetimefield_value(now), "history_change_reason": None,
             "history_type": "+", "history_user_id": user.pk if user is not None else None}
    sql = _insert_sql(history, columns)
    rows = []
    for obj in objs:
        values = []
        for f in columns:
            if f.attname in tracked:
                value = getattr(obj, f.attname)
                if isinstance(f, models.DateTimeField) and value is not None:
                    value = connection.ops.adapt_datetimefield_value(value)
            else:
                value = extra[f.attname]
            values.append(value)
        rows.append(tuple(values))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start:start + BATCH])


def _member_ids(households: list[Household], members_of: list[list[Member]]) -> None:
    """Read back member ids: within one household they were inserted, and so numbered, in order."""
    for start in range(0, len(households), BATCH):
        chunk = households[start:start + BATCH]
        ids: dict[int, list[int]] = defaultdict(list)
        for household_id, pk in Member.objects.filter(household_id__in=[h.pk for h in chunk]).order_by(
                "household_id", "pk").values_list("household_id", "pk"):
            ids[household_id].append(pk)
        for household, members in zip(chunk, members_of[start:start + BATCH], strict=True):
            for member, pk in zip(members, ids[household.pk], strict=True):
                member.pk = member.id = pk


def _take_numbers(fresh: list[Submission]) -> dict[int, Iterator[str]]:
    """Household numbers for each site, taken in one go per site and handed out in file order."""
    per_site: dict[int, list[Submission]] = defaultdict(list)
    for sub in fresh:
        per_site[sub.cleaned["site"].pk].append(sub)
    return {site_id: iter(naming_next_many(series=number_series(subs[0].cleaned["site"]), count=len(subs),
                                           digits=6))
            for site_id, subs in sorted(per_site.items())}


def _add_collectors(submissions: list[Submission], new_households: list[Household], *, user) -> None:
    from relief.households.models import AlternateCollector

    new_iter = iter(new_households)
    rows = []
    for sub in submissions:
        household = sub.existing if sub.existing is not None else next(new_iter)
        if sub.collector_values is None:
            continue
        known = sub.existing is not None and household.alternate_collectors.filter(
            name=sub.collector_values["name"], active=True).exists()
        if not known:
            rows.append(AlternateCollector(household_id=household.pk, **sub.collector_values))
    bulk_create_with_history(rows, AlternateCollector, batch_size=BATCH, default_user=user)


def _update_existing(subs: list[Submission], locked: dict[int, Household], counts: Counts, *, user,
                     today: date) -> None:
    if not subs:
        return
    ids = [s.existing.pk for s in subs]
    current: dict[int, list[Member]] = defaultdict(list)
    for start in range(0, len(ids), BATCH):
        for m in Member.objects.filter(household_id__in=ids[start:start + BATCH]):
            current[m.household_id].append(m)
    changed_households, demoted, changed_members, added = [], [], [], []
    for sub in subs:
        household = locked[sub.existing.pk]
        household_changed = False
        for name in HOUSEHOLD_WRITE_FIELDS:
            value = sub.cleaned.get(name)
            if name in ("site", "block"):
                # Compare ids: reading the related row would cost a query per household.
                if getattr(household, f"{name}_id") != (value.pk if value is not None else None):
                    setattr(household, name, value)
                    household_changed = True
            elif getattr(household, name) != value:
                setattr(household, name, value)
                household_changed = True
        members = current[household.pk]
        by_key = {_member_key({"individual_id": m.individual_id, "given_name": m.given_name,
                               "family_name": m.family_name, "date_of_birth": m.date_of_birth}): m for m in members}
        file_head_key = next((_member_key(v) for v in sub.member_values if v.get("is_head")), None)
        members_changed = False
        for m in members:
            if m.is_head and m.active and _member_key({"individual_id": m.individual_id, "given_name": m.given_name,
                                                       "family_name": m.family_name,
                                                       "date_of_birth": m.date_of_birth}) != file_head_key:
                # The file names another head: clear this one first (one active head per household).
                m.is_head = False
                m.relationship = Relationship.OTHER_RELATIVE
                demoted.append(m)
                members_changed = True
        for values in sub.member_values:
            member = by_key.get(_member_key(values))
            if member is None:
                member = Member(household=household, **values)
                member.derive()
                added.append(member)
                members.append(member)
                members_changed = True
                continue
            before = [getattr(member, f) for f in MEMBER_WRITE_FIELDS]
            reactivated = not member.active
            for name, value in values.items():
                setattr(member, name, value)
            member.active = True
            member.derive()
            if reactivated or before != [getattr(member, f) for f in MEMBER_WRITE_FIELDS]:
                changed_members.append(member)
                members_changed = True
        before_derived = [getattr(household, f) for f in DERIVED]
        derive_household(household, members, today=today)
        if before_derived != [getattr(household, f) for f in DERIVED]:
            household_changed = True
        if household_changed or members_changed:
            changed_households.append(household)
            counts.households_updated += 1
        else:
            counts.households_unchanged += 1
    if demoted:
        bulk_update_with_history(demoted, Member, ["is_head", "relationship"], batch_size=BATCH, default_user=user)
    if changed_members:
        bulk_update_with_history(changed_members, Member, [*MEMBER_WRITE_FIELDS, "active"], batch_size=BATCH,
                                 default_user=user)
    bulk_create_with_history(added, Member, batch_size=BATCH, default_user=user)
    if changed_households:
        bulk_update_with_history(changed_households, Household, [*HOUSEHOLD_WRITE_FIELDS, *DERIVED],
                                 batch_size=BATCH, default_user=user)
    counts.members_new += len(added)
    counts.members_updated += len(changed_members)


def files_dir() -> Path:
    base = Path(settings.MEDIA_ROOT) if settings.MEDIA_ROOT else Path(settings.BASE_DIR).parent.parent / "files"
    return private_dir(base / "households" / "imports")


def write_report(problems: list[Problem], *, summary: dict) -> Path:
    """The validation report as XLSX: every problem with sheet, row, column and what is wrong."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(_("Problems"))
    sheet.append([_("Sheet"), _("Row"), _("Column"), _("Problem")])
    for p in sorted(problems, key=lambda p: (p.sheet, p.row or 0, p.column)):
        # Sheet and column names come from the uploaded file.
        sheet.append(sheet_row([p.sheet, p.row, p.column, p.message]))
    totals = book.create_sheet(_("Summary"))
    for key, value in summary.items():
        totals.append(sheet_row([key, value]))
    path = files_dir() / f"report-{uuid.uuid4().hex}.xlsx"
    with private_file(path) as out:
        book.save(out)
    return path


@dataclass
class ImportResult:
    households_in_file: int
    households_valid: int
    households_invalid: int
    problems: list[Problem]
    counts: Counts | None
    committed: bool
    report: Path | None = None

    def as_dict(self) -> dict:
        return {
            "households_in_file": self.households_in_file, "households_valid": self.households_valid,
            "households_invalid": self.households_invalid, "problems": len(self.problems),
            "committed": self.committed, "report": self.report.name if self.report else None,
            **(self.counts.__dict__ if self.counts else {}),
        }


def run_import(*, path: Path, mapping: Mapping, user, site_ids: set[int] | None, mode: str = "all",
               dry_run: bool = False, default_site: str | None = None,
               progress: Callable[[str, int, int], None] | None = None) -> ImportResult:
    """Read, validate and (unless ``dry_run``) write; see the module docstring for the modes."""
    if mode not in MODES:
        raise ImportFileError(_("mode must be one of: %(modes)s") % {"modes": ", ".join(MODES)})
    if default_site:
        mapping.defaults = {**mapping.defaults, "site": default_site}

    def report(stage: str, done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    report(_("reading the file"), 0, 0)
    sheets = read_sheets(Path(path))
    submissions, problems = parse(sheets, mapping)
    places = Places.load()
    validate(submissions, mapping=mapping, places=places, site_ids=site_ids,
             progress=lambda d, t: report(_("checking households"), d, t))
    match_existing(submissions)
    for sub in submissions:
        problems.extend(sub.problems)
    valid = [s for s in submissions if not s.problems]
    # A file-level problem (a missing column, an orphan member row) stops an all-or-nothing import too.
    all_valid = not problems
    result = ImportResult(len(submissions), len(valid), len(submissions) - len(valid), problems, None, False)
    summary = {_("households in file"): len(submissions), _("valid households"): len(valid),
               _("households with problems"): result.households_invalid, _("problems"): len(problems)}
    if problems:
        result.report = write_report(problems, summary=summary)
    if dry_run:
        result.counts = Counts(households_new=sum(1 for s in valid if s.existing is None),
                               households_updated=sum(1 for s in valid if s.existing is not None))
        return result
    if mode == "all" and not all_valid:
        return result
    report(_("writing households"), 0, len(valid))
    result.counts = write(valid, user=user, progress=lambda d, t: report(_("writing households"), d, t))
    result.committed = True
    return result
