"""Core reads shared by every package."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relief.core.models import Site

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def staff_site_ids(user: User) -> set[int]:
    """The sites a staff member is scoped to (StaffProfile.sites), in one query; empty without a profile."""
    return set(Site.objects.filter(staff__user=user).values_list("pk", flat=True))
