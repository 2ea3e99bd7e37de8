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


def warehouse_for(user, key: str | Warehouse, *, for_write: bool = False) -> Warehouse:
    """The warehouse (by code, or the warehouse itself) if the user may see it, or post at it ``for_write``;
    else PermissionDenied (Warehouse.DoesNotExist for an unknown code)."""
    warehouse = key if isinstance(key, Warehouse) else Warehouse.objects.get(code=key)
    allowed = (can_post_at(user, warehouse) if for_write
               else warehouses_visible(user).filter(pk=warehouse.pk).exists())
    if not allowed:
        raise PermissionDenied(_("You do not work at %(code)s.") % {"code": warehouse.code})
    return warehouse


def entry_warehouses(entry: StockEntry) -> list[Warehouse]:
    """The warehouses a stock entry takes stock from, or (for a receipt) brings it to."""
    field = "target" if entry.entry_type == "receipt" else "source"
    ids = set(entry.lines.values_list(f"{field}_id", flat=True)) - {None}
    return list(Warehouse.objects.filter(pk__in=ids))


def entry_for(user, key: str | StockEntry, *, for_write: bool = False) -> StockEntry:
    """The stock entry (by number, or the entry itself) if the user may read it, or submit and change it
    ``for_write`` (every warehouse it moves stock at is theirs)."""
    if for_write:
        require_poster(user)
    else:
        require_reader(user)
    entry = key if isinstance(key, StockEntry) else StockEntry.objects.get(number=key)
    for warehouse in entry_warehouses(entry):
        warehouse_for(user, warehouse, for_write=for_write)
    return entry


def waybill_for(user, key: str | Waybill, *, for_write: bool = False) -> Waybill:
    """The waybill (by number, or the waybill itself) if the user may read it (either end is theirs), or
    receive it ``for_write`` (the target is theirs)."""
    waybill = key if isinstance(key, Waybill) else Waybill.objects.select_related("source", "target").get(number=key)
    if for_write:
        require_poster(user)
        warehouse_for(user, waybill.target, for_write=True)
        return waybill
    require_reader(user)
    visible = warehouses_visible(user).filter(pk__in=[waybill.source_id, waybill.target_id]).exists()
    if not visible:
        raise PermissionDenied(_("You do not work at %(code)s.") % {"code": waybill.target.code})
    return waybill
