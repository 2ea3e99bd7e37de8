"""How core finds each domain package's contributions (demo data, checks, API routers, URLs)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from types import ModuleType

from django.conf import settings


def domain_modules(name: str) -> Iterator[ModuleType]:
    """Yield ``relief.<package>.<name>`` for each domain package that has one, in dependency order."""
    for app in settings.RELIEF_DOMAIN_APPS:
        full = f"relief.{app}.{name}"
        try:
            yield import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name != full:
                raise
