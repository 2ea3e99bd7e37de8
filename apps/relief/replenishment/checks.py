"""`relief check` for replenishment: every route joins two places that hold stock."""

from __future__ import annotations

from relief.replenishment import selectors


def run() -> list[str]:
    return selectors.route_problems()
