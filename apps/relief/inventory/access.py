"""Who may see and post stock where.

Administrators and Logistics Managers work everywhere; Auditors read everywhere; Warehouse Staff see
and post only at the warehouses they staff or manage (and those warehouses' in-transit stock);
Distribution Teams read the warehouses of their sites. Everyone else sees no stock.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from relief.core.roles import (
    ADMINISTRATOR,
    AUDITOR,
    DISTRIBUTION_TEAM,
    LOGISTICS_MANAGER,
    WAREHOUSE_STAFF,
    has_role,
)
from relief.inventory.models import StockEntry, Warehouse, Waybill

EVERYWHERE = (ADMINISTRATOR, LOGISTICS_MANAGER)
READERS = (*EVERYWHERE, AUDITOR, WAREHOUSE_STAFF, DISTRIBUTION_TEAM)
POSTERS = (*EVERYWHERE, WAREHOUSE_STAFF)


def _staffed(user) -> Q:
    return Q(staff=user) | Q(manager=user) | Q(parent__staff=user) | Q(parent__manager=user)


def warehouses_visible(user) -> QuerySet[Warehouse]:
    if has_role(user, *EVERYWHERE, AUDITOR):
        return Warehouse.objects.all()
    scope = Q(pk__in=[])
    if has_role(user, WAREHOUSE_STAFF):
        scope |= _staffed(user)
    if has_role(user, DISTRIBUTION_TEAM):
        scope |= Q(site__staff__user=user) | Q(parent__site__staff__user=user)
    return Warehouse.objects.filter(pk__in=Warehouse.objects.filter(scope).values("pk"))


def warehouses_postable(user) -> QuerySet[Warehouse]:
    if has_role(user, *EVERYWHERE):
        return Warehouse.objects.all()
    if has_role(user, WAREHOUSE_STAFF):
        return Warehouse.objects.filter(pk__in=Warehouse.objects.filter(_staffed(user)).values("pk"))
    return Warehouse.objects.none()


def can_post_at(user, warehouse: Warehouse) -> bool:
    if has_role(user, *EVERYWHERE):
        return True
    return has_role(user, WAREHOUSE_STAFF) and warehouses_postable(user).filter(pk=warehouse.pk).exists()


def require_reader(user) -> None:
    if not has_role(user, *READERS):
        raise PermissionDenied(_("You do not have access to stock."))


def require_poster(user) -> None:
    if not has_role(user, *POSTERS):
        raise PermissionDenied(_("You do not post stock."))


def warehouse_for(user, warehouse: Warehouse, *, post: bool = False) -> Warehouse:
    """The warehouse if the user may see it (or post at it), else PermissionDenied."""
    allowed = can_post_at(user, warehouse) if post else warehouses_visible(user).filter(pk=warehouse.pk).exists()
    if not allowed:
        raise PermissionDenied(_("You do not work at %(code)s.") % {"code": warehouse.code})
    return warehouse


def entry_warehouses(entry: StockEntry) -> list[Warehouse]:
    """The warehouses a stock entry takes stock from, or (for a receipt) brings it to."""
    field = "target" if entry.entry_type == "receipt" else "source"
    ids = set(entry.lines.values_list(f"{field}_id", flat=True)) - {None}
    return list(Warehouse.objects.filter(pk__in=ids))


def entry_for(user, entry: StockEntry, *, post: bool = False) -> StockEntry:
    if post:
        require_poster(user)
    else:
        require_reader(user)
    for warehouse in entry_warehouses(entry):
        warehouse_for(user, warehouse, post=post)
    return entry


def waybill_for(user, waybill: Waybill, *, receive: bool = False) -> Waybill:
    if receive:
        require_poster(user)
        warehouse_for(user, waybill.target, post=True)
        return waybill
    require_reader(user)
    visible = warehouses_visible(user).filter(pk__in=[waybill.source_id, waybill.target_id]).exists()
    if not visible:
        raise PermissionDenied(_("You do not work at %(code)s.") % {"code": waybill.target.code})
    return waybill
