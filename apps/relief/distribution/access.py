"""Who may do what in distribution.

* Scanning (verify, redeem, manifest, sync): Distribution Team at their sites' events, Administrators.
  A bearer token limited to an event scans for that event only.
* Cards (issue, replace, revoke, print): Registration Officers in their sites, Administrators.
* Events and reports: also Logistics Managers and Auditors, read-only.
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
from relief.distribution.models import Card, DistributionCycle, DistributionEvent, SyncIssue

SCAN_ROLES = (ADMINISTRATOR, DISTRIBUTION_TEAM)
CARD_ROLES = (ADMINISTRATOR, REGISTRATION_OFFICER)
READ_ROLES = (ADMINISTRATOR, DISTRIBUTION_TEAM, LOGISTICS_MANAGER, AUDITOR)
CYCLE_ROLES = (ADMINISTRATOR, LOGISTICS_MANAGER)


def site_ids_for(user) -> set[int] | None:
    """Sites the user works in; None means every site."""
    if has_role(user, ADMINISTRATOR, AUDITOR, LOGISTICS_MANAGER):
        return None
    return staff_site_ids(user)


def require_site(user, site_id: int) -> None:
    allowed = site_ids_for(user)
    if allowed is not None and site_id not in allowed:
        raise PermissionDenied(_("You do not work at this site."))


def events_for(user):
    require_role(user, *READ_ROLES)
    qs = DistributionEvent.objects.select_related("cycle", "site", "distribution_point")
    allowed = site_ids_for(user)
    if allowed is not None:
        qs = qs.filter(site_id__in=allowed)
    token = getattr(user, "relief_api_token", None)
    if token is not None and token.event_id is not None:
        qs = qs.filter(pk=token.event_id)
    return qs


def event_for(user, key, *, for_write: bool = False) -> DistributionEvent:
    """The event (by id, or the event itself) if the user may see it, or scan and record hand-overs for it
    ``for_write``; else PermissionDenied (DistributionEvent.DoesNotExist for an unknown id)."""
    require_role(user, *(SCAN_ROLES if for_write else READ_ROLES))
    if isinstance(key, DistributionEvent):
        event = key
    else:
        try:
            event = DistributionEvent.objects.select_related("cycle", "site", "distribution_point").get(pk=int(key))
        except (DistributionEvent.DoesNotExist, TypeError, ValueError):
            raise DistributionEvent.DoesNotExist(_("No such event.")) from None
    require_site(user, event.site_id)
    token = getattr(user, "relief_api_token", None)
    if token is not None and token.event_id is not None and token.event_id != event.pk:
        raise PermissionDenied(_("This device's token is limited to another event."))
    return event


def require_cards(user) -> set[int] | None:
    require_role(user, *CARD_ROLES)
    return site_ids_for(user)


def cycle_for(user, key, *, for_write: bool = False) -> DistributionCycle:
    """The cycle (by id, or the cycle itself) if the user may read it, or change, submit and cancel it."""
    require_role(user, *(CYCLE_ROLES if for_write else (*CYCLE_ROLES, AUDITOR)))
    return key if isinstance(key, DistributionCycle) else DistributionCycle.objects.get(pk=key)


def event_manage_for(user, key, *, for_write: bool = False) -> DistributionEvent:
    """The event (by id, or the event itself) for planning, opening and closing: cycle roles, in their sites."""
    require_role(user, *(CYCLE_ROLES if for_write else READ_ROLES))
    event = key if isinstance(key, DistributionEvent) else DistributionEvent.objects.get(pk=key)
    require_site(user, event.site_id)
    return event


def card_for(user, key, *, for_write: bool = False) -> Card:
    """The card (by serial, or the card itself) if the user may read it, or replace and revoke it: card
    roles in their sites; Auditors read."""
    require_role(user, *(CARD_ROLES if for_write else (*CARD_ROLES, AUDITOR)))
    card = key if isinstance(key, Card) else Card.objects.select_related("household").get(serial=key)
    require_site(user, Card.objects.filter(pk=card.pk).values_list("household__site_id", flat=True).get())
    return card


def sync_issue_for(user, key, *, for_write: bool = False) -> SyncIssue:
    """A sync issue (by id, or the issue itself) of an event the user may see, or resolve (scan roles)."""
    issue = key if isinstance(key, SyncIssue) else SyncIssue.objects.get(pk=key)
    event_for(user, issue.event_id, for_write=for_write)
    return issue
