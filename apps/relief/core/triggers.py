"""Append-only by the database: triggers that refuse rewriting history, whatever code or SQL tries.

Created by each package's migrations (``RunPython(triggers.create(...), triggers.drop(...))``), in
MariaDB's and in SQLite's dialect:

- a ledger table refuses every UPDATE and DELETE;
- a document table refuses any status change other than draft → submitted → cancelled, and the
  DELETE of anything but a draft;
- a document's line table refuses UPDATE and DELETE while its document is not a draft;
- ``frozen`` columns of a table (a waybill line's dispatched goods) never change.

The application changes a submitted document only through its lifecycle (``document_submit`` /
``document_cancel``, which set the lifecycle fields and post reversals as new rows).

One switch lets DELETEs through: the test suite's flush between tests sets it (MariaDB: the session
variable ``@relief_flush``; SQLite: a row in ``relief_flush``). Nothing in the application sets it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

REFUSED = "45000"  # MariaDB SQLSTATE of an error raised by a trigger


@dataclass(frozen=True)
class Ledger:
    table: str


@dataclass(frozen=True)
class DocumentTable:
    table: str
    #: (line table, its column pointing at the document)
    lines: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Frozen:
    table: str
    columns: Sequence[str] = field(default_factory=tuple)
    no_delete: bool = True


def _mysql(spec) -> list[tuple[str, str]]:
    """(trigger name, CREATE statement) pairs for MariaDB."""
    out = []

    def refuse(message: str) -> str:
        return f"SIGNAL SQLSTATE '{REFUSED}' SET MESSAGE_TEXT = '{message}'"

    flushing = "@relief_flush IS NOT NULL"
    if isinstance(spec, Ledger):
        t = spec.table
        out.append((f"{t}_no_update", f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} FOR EACH ROW "
                                      f"{refuse(f'{t}: ledger rows are never changed; post a reversal')}"))
        out.append((f"{t}_no_delete", f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} FOR EACH ROW "
                                      f"IF NOT {flushing} THEN "
                                      f"{refuse(f'{t}: ledger rows are never deleted; post a reversal')}; END IF"))
    elif isinstance(spec, DocumentTable):
        t = spec.table
        out.append((f"{t}_lifecycle", f"CREATE TRIGGER {t}_lifecycle BEFORE UPDATE ON {t} FOR EACH ROW "
                                      f"IF NOT (NEW.status = OLD.status "
                                      f"OR (OLD.status = 'draft' AND NEW.status = 'submitted') "
                                      f"OR (OLD.status = 'submitted' AND NEW.status = 'cancelled')) THEN "
                                      f"{refuse(f'{t}: a document goes draft, submitted, cancelled only')}; END IF"))
        out.append((f"{t}_no_delete", f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} FOR EACH ROW "
                                      f"IF OLD.status <> 'draft' AND NOT {flushing} THEN "
                                      f"{refuse(f'{t}: only a draft can be deleted')}; END IF"))
        for line, column in spec.lines:
            parent = f"(SELECT status FROM {t} WHERE id = OLD.{column})"
            new_parent = f"(SELECT status FROM {t} WHERE id = NEW.{column})"
            out.append((f"{line}_locked_update",
                        f"CREATE TRIGGER {line}_locked_update BEFORE UPDATE ON {line} FOR EACH ROW "
                        f"IF {parent} <> 'draft' OR {new_parent} <> 'draft' THEN "
                        f"{refuse(f'{line}: the lines of a submitted document never change')}; END IF"))
            out.append((f"{line}_locked_delete",
                        f"CREATE TRIGGER {line}_locked_delete BEFORE DELETE ON {line} FOR EACH ROW "
                        f"IF {parent} <> 'draft' AND NOT {flushing} THEN "
                        f"{refuse(f'{line}: the lines of a submitted document are never deleted')}; END IF"))
    elif isinstance(spec, Frozen):
        t = spec.table
        changed = " OR ".join(f"NOT (NEW.{c} <=> OLD.{c})" for c in spec.columns)
        message = f"{t}: {', '.join(spec.columns)} never change"
        out.append((f"{t}_frozen", f"CREATE TRIGGER {t}_frozen BEFORE UPDATE ON {t} FOR EACH ROW "
                                   f"IF {changed} THEN {refuse(message)}; END IF"))
        if spec.no_delete:
            out.append((f"{t}_no_delete", f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} FOR EACH ROW "
                                          f"IF NOT {flushing} THEN {refuse(f'{t}: rows are never deleted')}; END IF"))
    return out


def _sqlite(spec) -> list[tuple[str, str]]:
    out = []

    def trigger(name: str, when: str, table: str, condition: str, message: str) -> tuple[str, str]:
        return name, (f"CREATE TRIGGER {name} BEFORE {when} ON {table} FOR EACH ROW WHEN {condition} "
                      f"BEGIN SELECT RAISE(ABORT, '{message}'); END")

    not_flushing = "NOT EXISTS (SELECT 1 FROM relief_flush)"
    if isinstance(spec, Ledger):
        t = spec.table
        out.append(trigger(f"{t}_no_update", "UPDATE", t, "1", f"{t}: ledger rows are never changed; post a reversal"))
        out.append(trigger(f"{t}_no_delete", "DELETE", t, not_flushing,
                           f"{t}: ledger rows are never deleted; post a reversal"))
    elif isinstance(spec, DocumentTable):
        t = spec.table
        out.append(trigger(f"{t}_lifecycle", "UPDATE", t,
                           "NOT (NEW.status = OLD.status OR (OLD.status = 'draft' AND NEW.status = 'submitted') "
                           "OR (OLD.status = 'submitted' AND NEW.status = 'cancelled'))",
                           f"{t}: a document goes draft, submitted, cancelled only"))
        out.append(trigger(f"{t}_no_delete", "DELETE", t, f"OLD.status <> 'draft' AND {not_flushing}",
                           f"{t}: only a draft can be deleted"))
        for line, column in spec.lines:
            parent = f"(SELECT status FROM {t} WHERE id = OLD.{column})"
            new_parent = f"(SELECT status FROM {t} WHERE id = NEW.{column})"
            out.append(trigger(f"{line}_locked_update", "UPDATE", line,
                               f"{parent} <> 'draft' OR {new_parent} <> 'draft'",
                               f"{line}: the lines of a submitted document never change"))
            out.append(trigger(f"{line}_locked_delete", "DELETE", line, f"{parent} <> 'draft' AND {not_flushing}",
                               f"{line}: the lines of a submitted document are never deleted"))
    elif isinstance(spec, Frozen):
        t = spec.table
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in spec.columns)
        out.append(trigger(f"{t}_frozen", "UPDATE", t, changed, f"{t}: {', '.join(spec.columns)} never change"))
        if spec.no_delete:
            out.append(trigger(f"{t}_no_delete", "DELETE", t, not_flushing, f"{t}: rows are never deleted"))
    return out


def statements(vendor: str, specs: Sequence) -> list[tuple[str, str]]:
    make = {"mysql": _mysql, "sqlite": _sqlite}[vendor]
    return [pair for spec in specs for pair in make(spec)]


def create(*specs) -> Callable:
    """A RunPython forward function creating the triggers of ``specs`` on the migrating database."""

    def forward(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in ("mysql", "sqlite"):
            return
        if vendor == "sqlite":
            schema_editor.execute("CREATE TABLE IF NOT EXISTS relief_flush (flushing integer)")
        for name, sql in statements(vendor, specs):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(sql)

    return forward


def drop(*specs) -> Callable:
    def backward(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in ("mysql", "sqlite"):
            return
        for name, _sql in statements(vendor, specs):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")

    return backward


def flush_sql(vendor: str, sql: list[str]) -> list[str]:
    """``sql`` (a flush of every table) wrapped in the switch that lets its DELETEs through."""
    if vendor == "mysql":
        return ["SET @relief_flush = 1;", *sql, "SET @relief_flush = NULL;"]
    if vendor == "sqlite":
        return ["INSERT INTO relief_flush VALUES (1);", *sql, "DELETE FROM relief_flush;"]
    return sql
