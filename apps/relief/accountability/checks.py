"""`relief check` for accountability: a closed case has its closing time; a case resolved by a hand-over
points to a hand-over to its own household."""

from __future__ import annotations

from django.db.models import F

from relief.accountability.models import CaseStatus, FeedbackCase


def run() -> list[str]:
    problems = [f"feedback case {n} is closed without a closing time" for n in FeedbackCase.objects.filter(
        status=CaseStatus.CLOSED, closed_at__isnull=True).values_list("number", flat=True)]
    problems += [f"feedback case {n} is resolved by a hand-over to another household" for n in
                 FeedbackCase.objects.filter(resolved_by__isnull=False).exclude(
                     resolved_by__household_id=F("household_id")).values_list("number", flat=True)]
    return problems
