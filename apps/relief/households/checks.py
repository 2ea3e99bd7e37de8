"""`relief check` for the registry: sizes and heads agree with the members."""

from __future__ import annotations

from django.db.models import Count, F, Q

from relief.households.models import Household, HouseholdStatus


def run() -> list[str]:
    problems = []
    counted = Household.objects.annotate(
        active_members=Count("members", filter=Q(members__active=True)),
        heads=Count("members", filter=Q(members__active=True, members__is_head=True)),
    )
    wrong_size = counted.exclude(size=F("active_members")).values_list("number", flat=True)[:20]
    problems += [f"household {n}: size differs from its active members" for n in wrong_size]
    headless = counted.filter(status=HouseholdStatus.ACTIVE).exclude(heads=1).values_list("number", flat=True)[:20]
    problems += [f"household {n}: active household without exactly one active head" for n in headless]
    dangling = Household.objects.filter(status=HouseholdStatus.MERGED, merged_into__status=HouseholdStatus.MERGED)
    problems += [f"household {n}: merged into a household that is itself merged"
                 for n in dangling.values_list("number", flat=True)[:20]]
    return problems
