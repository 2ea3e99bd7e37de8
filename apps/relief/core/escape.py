"""The one escaping helper per output that hostile text reaches.

* ``pdf_text``: every text put into a reportlab ``Paragraph`` (which reads ``<font>``, ``<link>``, ``<b>`` as
  markup: a supplier named ``<font size=60 color=red>VOID</font>`` would print as such, and ``Acme <b>Ltd``
  makes the whole PDF fail).
* ``sheet_cell`` / ``sheet_row``: every cell of a CSV or XLSX export. Text starting with ``= + - @``, a tab or a
  carriage return is what a spreadsheet runs as a formula (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``); as
  OWASP's CSV-injection advice says, it is prefixed with a single quote so it stays text. Numbers and dates
  pass as themselves (a negative quantity is a number, not a formula).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from xml.sax.saxutils import escape

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def pdf_text(value) -> str:
    """``value`` as reportlab paragraph text that shows exactly what it says."""
    return escape("" if value is None else str(value))


def sheet_cell(value):
    """One cell for a CSV or XLSX export; see the module docstring."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal | datetime.date | datetime.time):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def sheet_row(values) -> list:
    return [sheet_cell(v) for v in values]
