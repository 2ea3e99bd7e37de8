"""The rules of allocation in one place: Sphere space per person and the waiting-list priority.

Priority is points, shown to the officer with the reason for each point, so a rank can be
explained to the household and checked by anyone: vulnerabilities first, then waiting time.
Within equal points, first come first served.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# Sphere minimum covered living space per person in a warm climate.
SPHERE_M2_PER_PERSON = 3.5

# Households of this size or more count as large: they wait longest for a big enough shelter.
LARGE_HOUSEHOLD = 8

VULNERABILITY_POINTS = {
    "child_headed": 3,
    "disability": 2,
    "female_headed": 2,
    "older_person_headed": 2,
    "large_household": 1,
}
# One point per full 30 days on the list, at most six: waiting counts, but never outranks a
# child-headed household that arrived yesterday by more than half a year.
WAIT_DAYS_PER_POINT = 30
WAIT_POINTS_MAX = 6

REASON_LABELS = {
    "child_headed": _("child-headed"),
    "disability": _("member with a disability"),
    "female_headed": _("female-headed"),
    "older_person_headed": _("older-person-headed"),
    "large_household": _("large household"),
    "waiting": _("waiting time"),
}


@dataclass(frozen=True)
class Priority:
    points: int
    reasons: tuple[tuple[str, int], ...]

    def explain(self) -> str:
        if not self.reasons:
            return str(_("no vulnerability, waiting under 30 days"))
        return ", ".join(f"{REASON_LABELS[code]} +{points}" for code, points in self.reasons)


def priority(*, child_headed: bool, disability: bool, female_headed: bool, older_person_headed: bool, size: int,
             waiting_days: int) -> Priority:
    flags = {
        "child_headed": child_headed,
        "disability": disability,
        "female_headed": female_headed,
        "older_person_headed": older_person_headed,
        "large_household": size >= LARGE_HOUSEHOLD,
    }
    reasons = [(code, VULNERABILITY_POINTS[code]) for code, flag in flags.items() if flag]
    waited = min(max(waiting_days, 0) // WAIT_DAYS_PER_POINT, WAIT_POINTS_MAX)
    if waited:
        reasons.append(("waiting", waited))
    return Priority(points=sum(p for _code, p in reasons), reasons=tuple(reasons))


def space_needed(size: int) -> float:
    return SPHERE_M2_PER_PERSON * size
