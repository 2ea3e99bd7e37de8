"""Who may see what of the registry.

* Registration Officers (in their sites) and Administrators: everything, names and phones included.
* Distribution Team (in their sites): identity checks only (number, size, block, head's initials).
* Auditors and Logistics Managers: counts.
Every view of one household's record is written to the access log.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from relief.core.roles import (
    ADMINISTRATOR,
    AUDITOR,
    DISTRIBUTION_TEAM,
    LOGISTICS_MANAGER,
    REGISTRATION_OFFICER,
    has_role,
    require_role,
)
from relief.core.selectors import staff_site_ids
from relief.core.services import access_log_record
from relief.households.models import Household

PERSONAL_ROLES = (ADMINISTRATOR, REGISTRATION_OFFICER)
IDENTITY_ROLES = (*PERSONAL_ROLES, DISTRIBUTION_TEAM)
COUNT_ROLES = (*IDENTITY_ROLES, AUDITOR, LOGISTICS_MANAGER)


def can_see_personal(user) -> bool:
    return has_role(user, *PERSONAL_ROLES)


def site_ids_for(user) -> set[int] | None:
    """Sites whose households the user works with; None means every site."""
    if has_role(user, ADMINISTRATOR, AUDITOR, LOGISTICS_MANAGER):
        return None
    return staff_site_ids(user)


def require_personal(user) -> set[int] | None:
    require_role(user, *PERSONAL_ROLES)
    return site_ids_for(user)


def require_identity(user) -> set[int] | None:
    require_role(user, *IDENTITY_ROLES)
    return site_ids_for(user)


def require_counts(user) -> set[int] | None:
    require_role(user, *COUNT_ROLES)
    # Counts per site are not personal: every counting role sees all sites.
    return None


def require_site(user, site) -> None:
    """Writes go only to the user's own sites."""
    require_role(user, *PERSONAL_ROLES)
    allowed = site_ids_for(user)
    if allowed is not None and site is not None and site.pk not in allowed:
        raise PermissionDenied(_("You do not work in site %(site)s.") % {"site": site.code})


def household_for(user, key: str, *, for_write: bool = False, personal: bool = True,
                  action: str = "view") -> Household:
    """The household (by number) if the user may see its personal record (or, not ``personal``, only its
    identity), or change it ``for_write``; logged. Household.DoesNotExist for an unknown number."""
    site_ids = require_personal(user) if personal or for_write else require_identity(user)
    household = Household.objects.select_related("site", "block", "merged_into").filter(number=key).first()
    if household is None:
        raise Household.DoesNotExist(_("No such household."))
    if site_ids is not None and household.site_id not in site_ids:
        raise PermissionDenied(_("This household is in a site you do not work in."))
    access_log_record(user=user, object_type="household", object_id=household.number,
                      action=action if personal else f"{action}-identity")
    return household
