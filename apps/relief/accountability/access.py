"""Who may see and work feedback cases, PDM samples and the donor reports.

* Taking a case (at the table, the desk): Distribution Team, Registration Officers, Logistics Managers,
  Administrators. Working it (assign, refer, answer, close): Registration Officers, Logistics Managers and
  Administrators. Auditors read. Staff scoped to sites see the cases of their sites (and those with no site).
* A sensitive case is seen only by the roles named in ``settings.RELIEF_SENSITIVE_FEEDBACK_ROLES`` and by the
  person it is assigned to: for everyone else it does not exist (404, never in a list or a count).
* Donor reports and the 4W: Administrators, Logistics Managers, Auditors (as inventory's donor report).
* PDM: whoever may see the event's report (distribution's access) draws and reads; Distribution Team
  and Logistics Managers draw and import.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from relief.accountability.models import FeedbackCase, PdmSample
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

TAKERS = (ADMINISTRATOR, LOGISTICS_MANAGER, REGISTRATION_OFFICER, DISTRIBUTION_TEAM)
HANDLERS = (ADMINISTRATOR, LOGISTICS_MANAGER, REGISTRATION_OFFICER)
READERS = (*HANDLERS, DISTRIBUTION_TEAM, AUDITOR)
REPORTERS = (ADMINISTRATOR, LOGISTICS_MANAGER, AUDITOR)
PDM_READERS = (ADMINISTRATOR, LOGISTICS_MANAGER, DISTRIBUTION_TEAM, AUDITOR)
PDM_WRITERS = (ADMINISTRATOR, LOGISTICS_MANAGER, DISTRIBUTION_TEAM)


def sees_sensitive(user) -> bool:
    return has_role(user, *settings.RELIEF_SENSITIVE_FEEDBACK_ROLES)


def site_ids_for(user) -> set[int] | None:
    """The sites the user works in; None means every site."""
    if has_role(user, ADMINISTRATOR, AUDITOR, LOGISTICS_MANAGER):
        return None
    return staff_site_ids(user)


def cases_visible(user) -> QuerySet[FeedbackCase]:
    """The cases the user may see: their sites (or none set), sensitive ones only if named."""
    require_role(user, *READERS)
    qs = FeedbackCase.objects.all()
    if not sees_sensitive(user):
        qs = qs.filter(Q(sensitive=False) | Q(assigned_to=user))
    site_ids = site_ids_for(user)
    if site_ids is not None:
        qs = qs.filter(Q(site_id__in=site_ids) | Q(site__isnull=True) | Q(assigned_to=user))
    return qs


def case_for(user, key: str, *, for_write: bool = False) -> FeedbackCase:
    """The case numbered ``key`` if the user may see it (and work it); a hidden case does not exist."""
    if for_write:
        require_role(user, *HANDLERS)
    case = (cases_visible(user).select_related("household", "event", "item", "plot", "site", "assigned_to",
                                               "resolved_by__event").filter(number=key).first())
    if case is None:
        raise FeedbackCase.DoesNotExist(_("No feedback case %(number)s.") % {"number": key})
    return case


def require_taker(user) -> None:
    if not has_role(user, *TAKERS):
        raise PermissionDenied(_("Feedback is taken by distribution, registration and logistics staff."))


def require_taker_at(user, site) -> None:
    require_taker(user)
    site_ids = site_ids_for(user)
    if site is not None and site_ids is not None and site.pk not in site_ids:
        raise PermissionDenied(_("You do not work in site %(site)s.") % {"site": site.code})


def require_reporter(user) -> None:
    if not has_role(user, *REPORTERS):
        raise PermissionDenied(_("Donor reports are for Logistics Managers, Auditors and Administrators."))


def require_pdm_reader(user) -> None:
    require_role(user, *PDM_READERS)


def require_pdm_writer(user) -> None:
    require_role(user, *PDM_WRITERS)


def sample_for(user, key: str, *, for_write: bool = False) -> PdmSample:
    require_pdm_writer(user) if for_write else require_pdm_reader(user)
    sample = PdmSample.objects.select_related("event__site").filter(number=key).first()
    if sample is None:
        raise ObjectDoesNotExist(_("No PDM sample %(number)s.") % {"number": key})
    site_ids = site_ids_for(user)
    if site_ids is not None and sample.event.site_id not in site_ids:
        raise PermissionDenied(_("This sample is of an event in a site you do not work in."))
    return sample
