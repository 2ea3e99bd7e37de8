"""Gap-free document numbers: ``GRN-2026-00042``.

The counter row is locked and bumped inside the caller's transaction, so a number
is taken only if the document that takes it commits: no gap, no duplicate.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from relief.core.models import NamingSeries


def naming_next(*, series: str, digits: int = 5) -> str:
    with transaction.atomic():
        locked = list(NamingSeries.objects.select_for_update().filter(name=series))
        if not locked:
            try:
                # A concurrent first use of the series loses here and then waits on the winner's row.
                with transaction.atomic():
                    NamingSeries.objects.create(name=series, current=0)
            except IntegrityError:
                pass
            locked = list(NamingSeries.objects.select_for_update().filter(name=series))
        row = locked[0]
        NamingSeries.objects.filter(pk=row.pk).update(current=F("current") + 1)
        return f"{series}{row.current + 1:0{digits}d}"
