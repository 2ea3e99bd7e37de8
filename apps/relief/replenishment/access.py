"""Who may see and run replenishment.

Logistics Managers and Administrators plan and submit; Auditors read the dashboard and plans; every
other role has no business here (warehouse staff see the resulting draft transfers in inventory).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from relief.core.roles import ADMINISTRATOR, AUDITOR, LOGISTICS_MANAGER, has_role
from relief.replenishment.models import PurchaseRequest, ReplenishmentPlan

PLANNERS = (ADMINISTRATOR, LOGISTICS_MANAGER)
VIEWERS = (*PLANNERS, AUDITOR)


def require_viewer(user) -> None:
    if not has_role(user, *VIEWERS):
        raise PermissionDenied(_("The logistics dashboard and plans are for Logistics Managers and Auditors."))


def require_planner(user) -> None:
    if not has_role(user, *PLANNERS):
        raise PermissionDenied(_("Only Logistics Managers run and submit replenishment plans."))


def plan_for(user, key: str, *, for_write: bool = False) -> ReplenishmentPlan:
    """The plan (by number) if the user may see it, or submit it ``for_write``; else PermissionDenied
    (ReplenishmentPlan.DoesNotExist for an unknown number)."""
    if for_write:
        require_planner(user)
    else:
        require_viewer(user)
    plan = ReplenishmentPlan.objects.select_related("truck").filter(number=key).first()
    if plan is None:
        raise ReplenishmentPlan.DoesNotExist(_("No plan %(number)s") % {"number": key})
    return plan


def purchase_request_for(user, key: str, *, for_write: bool = False) -> PurchaseRequest:
    """The purchase request numbered ``key`` for planners (and, to read, Auditors); PurchaseRequest.DoesNotExist
    for an unknown number.

    Deciding on it needs the role its total names too: the service checks that, with the amount at hand.
    """
    require_planner(user) if for_write else require_viewer(user)
    request = (PurchaseRequest.objects.select_related("warehouse", "grant__donor", "approval__decided_by",
                                                      "created_by", "submitted_by").filter(number=key).first())
    if request is None:
        raise PurchaseRequest.DoesNotExist(_("No purchase request %(number)s") % {"number": key})
    return request
