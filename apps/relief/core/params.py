"""Query-string parameters of pages, read one way: a value that is not what the page expects is treated as
absent (or reported), never a 500. ``str.isdigit`` is not enough (``"²".isdigit()`` is true and ``int("²")``
fails), nor is ``parse_date`` (``2026-02-30`` is well formed and raises)."""

from __future__ import annotations

import datetime

from django.utils.dateparse import parse_date


def day_or_none(value: str | None) -> datetime.date | None:
    """``YYYY-MM-DD`` as a real calendar date, else None."""
    try:
        return parse_date((value or "").strip())
    except ValueError:
        return None


def whole_number(value: str | None, default: int, *, lowest: int = 0, highest: int = 10_000_000) -> int:
    """ASCII digits as a number held within [lowest, highest]; anything else gives ``default``."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()):
        return default
    return max(lowest, min(int(text), highest))
