"""Who may see and change shelter records.

* Registration Officers (in their sites) and Administrators: allocate, relocate, end, keep the
  waiting list, run and submit plans, mark plots unusable. Only an Administrator overrides a check.
* Auditors and Logistics Managers: read occupancy, plots, allocations, plans and the waiting
  list of every site (numbers and counts; no names are shown anywhere in shelter).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from relief.core.models import Site
from relief.core.roles import ADMINISTRATOR, AUDITOR, LOGISTICS_MANAGER, REGISTRATION_OFFICER, has_role, require_role
from relief.core.selectors import staff_site_ids
from relief.households.selectors import households_visible
from relief.shelter.models import Allocation, AllocationPlan, Plot

WRITE_ROLES = (ADMINISTRATOR, REGISTRATION_OFFICER)
READ_ROLES = (*WRITE_ROLES, AUDITOR, LOGISTICS_MANAGER)


def can_write(user) -> bool:
    return has_role(user, *WRITE_ROLES)


def can_override(user) -> bool:
    return has_role(user, ADMINISTRATOR)


def site_ids_for(user, *, write: bool = False) -> set[int] | None:
    """The sites the user works in (None: every site). Refuses users with no shelter role."""
    require_role(user, *(WRITE_ROLES if write else READ_ROLES))
    if has_role(user, ADMINISTRATOR) or (not write and has_role(user, AUDITOR, LOGISTICS_MANAGER)):
        return None
    return staff_site_ids(user)


def sites_for(user) -> list[Site]:
    site_ids = site_ids_for(user)
    sites = Site.objects.all()
    return list(sites if site_ids is None else sites.filter(pk__in=site_ids))


def _check_site(user, site_id: int, *, write: bool) -> None:
    site_ids = site_ids_for(user, write=write)
    if site_ids is not None and site_id not in site_ids:
        raise PermissionDenied(_("You do not work in this site."))


def site_for(user, key: str, *, for_write: bool = False) -> Site:
    """The site (by code) if the user may read its shelter records, or change them ``for_write``."""
    site_ids_for(user, write=for_write)
    site = Site.objects.filter(code__iexact=key).first()
    if site is None:
        raise Site.DoesNotExist(_("No such site."))
    _check_site(user, site.pk, write=for_write)
    return site


def plot_for(user, key: str, *, site: Site, for_write: bool = False) -> Plot:
    """The plot (by code, in ``site``) if the user may read it, or change it ``for_write``."""
    _check_site(user, site.pk, write=for_write)
    plot = Plot.objects.select_related("site", "block").filter(site=site, code__iexact=key).first()
    if plot is None:
        raise Plot.DoesNotExist(_("No such plot in this site."))
    return plot


def allocation_for(user, key: str, *, for_write: bool = False) -> Allocation:
    """The allocation (by number) if the user may read it, or end it ``for_write``."""
    allocation = Allocation.objects.select_related("plot__site", "plot__block", "household").filter(
        number=key).first()
    if allocation is None:
        raise Allocation.DoesNotExist(_("No such allocation."))
    _check_site(user, allocation.plot.site_id, write=for_write)
    return allocation


def plan_for(user, key: str, *, for_write: bool = False) -> AllocationPlan:
    """The allocation plan (by number) if the user may read it, or change and submit it ``for_write``."""
    plan = AllocationPlan.objects.select_related("site").filter(number=key).first()
    if plan is None:
        raise AllocationPlan.DoesNotExist(_("No such allocation plan."))
    _check_site(user, plan.site_id, write=for_write)
    return plan


def household_for(user, key: str, *, for_write: bool = True):
    """A household of the user's sites, by its number; refused with the field named if unknown."""
    site_ids = site_ids_for(user, write=for_write)
    household = households_visible(site_ids).filter(number=key.strip()).first()
    if household is None:
        raise ValidationError({"household": [_("no such household in your sites")]})
    return household
