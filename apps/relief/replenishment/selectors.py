"""Reads for the planner, the dashboard and the API.

The planner's input is read in a handful of grouped queries: open entitlements per cycle, site and item;
reservations per reference; bins with free stock; waybills in transit; the pipeline; the registry's
households by site and size (for cycles not generated yet). Other packages' tables are only read here.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from relief.core.documents import DocStatus
from relief.distribution.models import (
    CycleSite,
    DistributionCycle,
    DistributionEvent,
    Entitlement,
    EntitlementStatus,
    EventStatus,
    Redemption,
)
from relief.households.models import Household, HouseholdStatus
from relief.inventory import selectors as inventory_selectors
from relief.inventory.models import Bin, Item, KitComponent, ReorderLevel, Reservation, Warehouse, Waybill, WaybillLine
from relief.replenishment import planner
from relief.replenishment.models import (
    GrantEarmark,
    LineKind,
    Pipeline,
    PipelineLine,
    PlanLine,
    ReplenishmentPlan,
    Route,
    Truck,
)

#: Days of registrations that set the registry's growth rate for forecasts.
GROWTH_WINDOW_DAYS = 90

NOT_HOLDING = (Warehouse.Kind.REGION, Warehouse.Kind.TRANSIT)


def default_truck() -> Truck | None:
    return Truck.objects.order_by("-is_default", "name").first()


def _places() -> tuple[dict[int, planner.Place], dict[int, int]]:
    """Stock-holding warehouses, and where each warehouse's stock counts (a zone counts for its parent)."""
    rows = list(Warehouse.objects.filter(is_active=True).exclude(kind__in=NOT_HOLDING)
                .values_list("pk", "code", "site_id", "kind", "parent_id"))
    holding = {pk for pk, *_rest in rows}
    places, home = {}, {}
    for pk, code, site_id, kind, parent_id in rows:
        if kind == Warehouse.Kind.ZONE and parent_id in holding:
            home[pk] = parent_id
        else:
            places[pk] = planner.Place(id=pk, code=code, site_id=site_id,
                                       staging=kind == Warehouse.Kind.DISTRIBUTION_POINT)
            home[pk] = pk
    return places, home


def _labels(today: datetime.date) -> dict[str, str]:
    labels = {}
    for number, name, day in DistributionEvent.objects.filter(
            status__in=[EventStatus.PLANNED, EventStatus.OPEN]).values_list("number", "name", "date"):
        labels[number] = f"{number} {name} ({day.isoformat()})"
    for number, name in DistributionCycle.objects.exclude(status=DocStatus.CANCELLED).values_list("number", "name"):
        labels.setdefault(number, f"{number} {name}")
    return labels


def entitlement_demands(*, today: datetime.date, horizon_end: datetime.date,
                        home: dict[int, int]) -> list[planner.Demand]:
    """Open entitlements (and owed remainders) of submitted cycles per distribution point and date, less what is
    already reserved.

    The date is the first planned or open event of the cycle at the site; a site with no event yet is
    needed at the start of the cycle's period. Sites whose events are all closed need nothing more.
    """
    cycle_sites = list(CycleSite.objects.filter(cycle__status=DocStatus.SUBMITTED, cycle__period_end__gte=today)
                       .values_list("cycle_id", "cycle__number", "cycle__period_start", "site_id", "site__code",
                                    "warehouse_id"))
    if not cycle_sites:
        return []
    cycle_ids = {c[0] for c in cycle_sites}
    events: dict[tuple[int, int], list] = defaultdict(list)
    closed: set[tuple[int, int]] = set()
    for cycle_id, site_id, number, day, status in DistributionEvent.objects.filter(cycle_id__in=cycle_ids).values_list(
            "cycle_id", "site_id", "number", "date", "status").order_by("date", "number"):
        if status == EventStatus.CLOSED:
            closed.add((cycle_id, site_id))
        else:
            events[(cycle_id, site_id)].append((day, number))
    open_qty: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    owed_qty: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    # Owed remainders of short hand-overs are demand too, like open entitlements (and after the site's events
    # closed, for the mop-up that will serve them).
    for cycle_id, site_id, item_id, status, qty in (Entitlement.objects.filter(
            cycle_id__in=cycle_ids, status__in=[EntitlementStatus.OPEN, EntitlementStatus.OWED])
            .values_list("cycle_id", "site_id", "item_id", "status")
            .annotate(q=Sum(F("qty") - F("qty_collected")))
            .values_list("cycle_id", "site_id", "item_id", "status", "q")):
        open_qty[(cycle_id, site_id)][item_id] += qty
        if status == EntitlementStatus.OWED:
            owed_qty[(cycle_id, site_id)][item_id] = qty
    references = {f"{number}/{site_code}" for _c, number, _s, _si, site_code, _w in cycle_sites}
    reserved: dict[tuple[str, int, int], int] = {}
    for reference, warehouse_id, item_id, qty in (Reservation.objects.filter(reference__in=references)
                                                  .values_list("reference", "bin__warehouse_id", "bin__item_id")
                                                  .annotate(q=Sum("qty"))
                                                  .values_list("reference", "bin__warehouse_id", "bin__item_id", "q")):
        reserved[(reference, warehouse_id, item_id)] = qty
    demands = []
    for cycle_id, number, period_start, site_id, site_code, warehouse_id in sorted(cycle_sites):
        key = (cycle_id, site_id)
        if events.get(key):
            day, reference = events[key][0]
            note = ""
        elif key in closed and not owed_qty.get(key):
            continue
        elif key in closed:
            day, reference = today, number
            note = _("owed to households at %(site)s after its events closed: for a mop-up") % {"site": site_code}
        else:
            day, reference = max(period_start, today), number
            note = _("no event planned yet at %(site)s: needed from the start of the cycle") % {"site": site_code}
        if day > horizon_end:
            continue
        wanted = owed_qty.get(key, {}) if key in closed and not events.get(key) else open_qty.get(key, {})
        for item_id, qty in sorted(wanted.items()):
            held = reserved.get((f"{number}/{site_code}", warehouse_id, item_id), 0)
            if qty - held > 0:
                notes = [note] if note else []
                if held:
                    notes.append(_("%(held)d already reserved at the point") % {"held": held})
                demands.append(planner.Demand(
                    warehouse_id=home.get(warehouse_id, warehouse_id), item_id=item_id, qty=qty - held, date=day,
                    site_id=site_id, kind=planner.EVENT, reference=reference, note="; ".join(notes)))
    return demands


def household_groups(site_ids: set[int]) -> dict[int, list[tuple[int, dict, int]]]:
    """Active households per site grouped by (size, head flags): what entitlement rules depend on."""
    groups: dict[int, list[tuple[int, dict, int]]] = defaultdict(list)
    rows = (Household.objects.filter(status=HouseholdStatus.ACTIVE, site_id__in=site_ids, size__gt=0)
            .values_list("site_id", "size", "female_headed", "child_headed", "older_person_headed")
            .annotate(n=Count("pk")).order_by("site_id", "size", "female_headed", "child_headed",
                                              "older_person_headed"))
    for site_id, size, female, child, older, n in rows:
        groups[site_id].append((size, {"female_headed": female, "child_headed": child,
                                       "older_person_headed": older}, n))
    return groups


def registry_growth(site_ids: set[int], *, today: datetime.date) -> dict[int, float]:
    """Households registered per day at each site over the last ``GROWTH_WINDOW_DAYS`` days."""
    since = today - datetime.timedelta(days=GROWTH_WINDOW_DAYS)
    return {site_id: n / GROWTH_WINDOW_DAYS for site_id, n in
            Household.objects.filter(status=HouseholdStatus.ACTIVE, site_id__in=site_ids, registered_on__gt=since)
            .values_list("site_id").annotate(n=Count("pk")).values_list("site_id", "n")}


def forecast_demands(*, today: datetime.date, horizon_end: datetime.date,
                     home: dict[int, int]) -> list[planner.Demand]:
    """Cycles not generated yet (drafts): households at each site, grown at the registry's rate, × the rules."""
    cycles = list(DistributionCycle.objects.filter(status=DocStatus.DRAFT, period_start__lte=horizon_end,
                                                   period_end__gte=today)
                  .prefetch_related("rules", "cycle_sites__site").order_by("period_start", "number"))
    if not cycles:
        return []
    site_ids = {cs.site_id for c in cycles for cs in c.cycle_sites.all()}
    groups, growth = household_groups(site_ids), registry_growth(site_ids, today=today)
    demands = []
    for cycle in cycles:
        day = max(cycle.period_start, today)
        rules = sorted(cycle.rules.all(), key=lambda r: r.pk)
        for cs in sorted(cycle.cycle_sites.all(), key=lambda cs: cs.site.code):
            now = sum(n for _s, _f, n in groups.get(cs.site_id, []))
            if not now:
                continue
            rate = growth.get(cs.site_id, 0.0)
            projected = now + rate * (day - today).days
            per_item: dict[int, int] = defaultdict(int)
            for rule in rules:
                for size, flags, n in groups[cs.site_id]:
                    if rule.applies_to(size=size, site_id=cs.site_id, flags=flags):
                        per_item[rule.item_id] += rule.quantity_for(size) * n
            note = _("forecast: %(now)d households at %(site)s today, growing %(rate).1f a day → %(then)d on "
                     "%(day)s") % {"now": now, "site": cs.site.code, "rate": rate, "then": round(projected),
                                   "day": day}
            for item_id, qty in sorted(per_item.items()):
                if qty:
                    demands.append(planner.Demand(
                        warehouse_id=home.get(cs.warehouse_id, cs.warehouse_id), item_id=item_id,
                        qty=math.ceil(qty * projected / now), date=day, site_id=cs.site_id, kind=planner.FORECAST,
                        reference=cycle.number, note=note))
    return demands


def stock_supplies(home: dict[int, int]) -> list[planner.Supply]:
    """Free stock (on hand − reserved) of every lot in every stock-holding warehouse."""
    rows = (Bin.objects.filter(warehouse_id__in=list(home), on_hand__gt=F("reserved"))
            .values_list("warehouse_id", "item_id", "lot__code", "lot__expiry", "lot__grant_id", "on_hand", "reserved")
            .order_by("warehouse_id", "item_id", "lot__code"))
    return [planner.Supply(warehouse_id=home[w], item_id=i, qty=on_hand - reserved, kind=planner.STOCK,
                           reference=lot, lot=lot, expiry=expiry, grant_id=grant)
            for w, i, lot, expiry, grant, on_hand, reserved in rows]


def transit_supplies(home: dict[int, int]) -> list[planner.Supply]:
    """Goods on the road: each waybill line in transit, due at its target after the road's lead time."""
    rows = (WaybillLine.objects.filter(waybill__status=Waybill.Status.IN_TRANSIT)
            .values_list("waybill__number", "waybill__source_id", "waybill__target_id", "waybill__dispatched_at",
                         "item_id", "lot__code", "lot__expiry", "lot__grant_id", "qty_dispatched")
            .order_by("waybill__number", "pk"))
    tz = timezone.get_current_timezone()
    return [planner.Supply(warehouse_id=home.get(target, target), item_id=i, qty=qty, kind=planner.TRANSIT,
                           reference=number, lot=lot, expiry=expiry, grant_id=grant,
                           origin_id=home.get(source, source), dispatched_on=at.astimezone(tz).date())
            for number, source, target, at, i, lot, expiry, grant, qty in rows]


def pipeline_outstanding() -> list[dict]:
    """Submitted pipeline lines with what is still expected (ordered − arrived)."""
    rows = (PipelineLine.objects.filter(pipeline__status=DocStatus.SUBMITTED)
            .annotate(arrived=Coalesce(Sum("arrivals__qty"), 0))
            .filter(qty__gt=F("arrived"))
            .values("pk", "pipeline__number", "pipeline__donor__code", "pipeline__grant_id", "pipeline__stage",
                    "item_id", "item__code", "item__category", "warehouse_id", "warehouse__code", "expected_on",
                    "expiry", "qty", "arrived")
            .order_by("expected_on", "pipeline__number", "pk"))
    return [{**r, "outstanding": r["qty"] - r["arrived"]} for r in rows]


def pipeline_supplies(home: dict[int, int], *, horizon_end: datetime.date) -> list[planner.Supply]:
    return [planner.Supply(warehouse_id=home.get(r["warehouse_id"], r["warehouse_id"]), item_id=r["item_id"],
                           qty=r["outstanding"], kind=planner.PIPELINE, reference=r["pipeline__number"],
                           available_on=r["expected_on"], expiry=r["expiry"], grant_id=r["pipeline__grant_id"])
            for r in pipeline_outstanding() if r["expected_on"] <= horizon_end]


def plan_input(*, today: datetime.date, horizon_end: datetime.date, truck: Truck | None) -> planner.PlanInput:
    places, home = _places()
    demands = entitlement_demands(today=today, horizon_end=horizon_end, home=home) + forecast_demands(
        today=today, horizon_end=horizon_end, home=home)
    supplies = stock_supplies(home) + transit_supplies(home) + pipeline_supplies(home, horizon_end=horizon_end)
    levels = [planner.Level(warehouse_id=home.get(w, w), item_id=i, min_qty=lo, max_qty=hi)
              for w, i, lo, hi in ReorderLevel.objects.filter(warehouse_id__in=list(home))
              .values_list("warehouse_id", "item_id", "min_qty", "max_qty").order_by("warehouse_id", "item_id")]
    item_ids = {d.item_id for d in demands} | {s.item_id for s in supplies} | {lv.item_id for lv in levels}
    components: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for kit_item, component, qty in (KitComponent.objects.filter(kit__item_id__in=item_ids)
                                     .values_list("kit__item_id", "item_id", "qty").order_by("kit__item_id",
                                                                                              "item_id")):
        components[kit_item].append((component, qty))
    item_ids |= {c for parts in components.values() for c, _q in parts}
    items = {pk: planner.ItemSpec(id=pk, code=code, weight_kg=Decimal(w), volume_m3=Decimal(v),
                                  components=tuple(components.get(pk, ())))
             for pk, code, w, v in Item.objects.filter(pk__in=item_ids).values_list("pk", "code", "weight_kg",
                                                                                  "volume_m3")}
    roads = [planner.Road(a=home.get(a, a), b=home.get(b, b), km=km, days=days)
             for a, b, km, days in Route.objects.values_list("origin_id", "destination_id", "distance_km",
                                                             "lead_days").order_by("pk")]
    earmarks = {grant: frozenset(e.sites.values_list("pk", flat=True))
                for grant, e in ((e.grant_id, e) for e in GrantEarmark.objects.prefetch_related("sites"))}
    truck_spec = None if truck is None else planner.TruckSpec(
        name=truck.name, capacity_kg=truck.capacity_kg, capacity_m3=truck.capacity_m3, cost_per_km=truck.cost_per_km)
    return planner.PlanInput(today=today, horizon_end=horizon_end, places=places, items=items, demands=demands,
                             supplies=supplies, levels=levels, roads=roads, truck=truck_spec, earmarks=earmarks,
                             labels=_labels(today))


# --- pages ---------------------------------------------------------------------------------------------


def plan_lines(plan: ReplenishmentPlan) -> dict[str, list[PlanLine]]:
    lines = plan.lines.select_related("item", "warehouse", "source").order_by("pk")
    grouped: dict[str, list[PlanLine]] = {kind: [] for kind in LineKind.values}
    for line in lines:
        grouped[line.kind].append(line)
    return grouped


def latest_plan() -> ReplenishmentPlan | None:
    return ReplenishmentPlan.objects.exclude(status=DocStatus.CANCELLED).order_by("-created_at", "-pk").first()


# --- the dashboard -------------------------------------------------------------------------------------


def stock_by_warehouse_category() -> dict:
    """On hand per warehouse and item category, from the bins (the running balances), in units."""
    rows = (Bin.objects.exclude(warehouse__kind__in=NOT_HOLDING).filter(on_hand__gt=0)
            .values_list("warehouse__code", "item__category").annotate(q=Sum("on_hand"))
            .values_list("warehouse__code", "item__category", "q").order_by("warehouse__code", "item__category"))
    warehouses: list[str] = []
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for code, category, qty in rows:
        if code not in warehouses:
            warehouses.append(code)
        table[category][code] = qty
    in_transit = Bin.objects.filter(warehouse__kind=Warehouse.Kind.TRANSIT).aggregate(q=Coalesce(Sum("on_hand"), 0))
    labels = dict(Item.Category.choices)
    return {"warehouses": warehouses,
            "series": [{"category": str(labels.get(c, c)), "values": [table[c].get(w, 0) for w in warehouses]}
                       for c in sorted(table)],
            "in_transit": in_transit["q"]}


def coverage_rounds() -> list[dict]:
    """Per item: how many rounds the stock (on hand + in transit) covers; a round is what the latest
    submitted cycle that hands out the item entitles."""
    rows = (Entitlement.objects.filter(cycle__status=DocStatus.SUBMITTED).exclude(status=EntitlementStatus.CANCELLED)
            .values_list("item_id", "cycle_id").annotate(q=Sum("qty"))
            .values_list("item_id", "cycle__number", "cycle__period_start", "q"))
    latest: dict[int, tuple] = {}
    for item_id, number, start, qty in rows:
        if item_id not in latest or (start, number) > latest[item_id][:2]:
            latest[item_id] = (start, number, qty)
    if not latest:
        return []
    stock = dict(Bin.objects.filter(item_id__in=list(latest)).exclude(warehouse__kind=Warehouse.Kind.REGION)
                 .values_list("item_id").annotate(q=Sum("on_hand")).values_list("item_id", "q"))
    codes = dict(Item.objects.filter(pk__in=list(latest)).values_list("pk", "code"))
    return [{"item": codes[i], "per_round": q, "stock": stock.get(i, 0), "rounds": round(stock.get(i, 0) / q, 1),
             "cycle": number}
            for i, (_start, number, q) in sorted(latest.items(), key=lambda kv: codes[kv[0]]) if q]


def expiring_soon(days: int = 90) -> dict:
    bins = inventory_selectors.expiring_lots(warehouses=Warehouse.objects.all(), days=days)
    by_month = (bins.annotate(month=TruncMonth("lot__expiry")).values_list("month").annotate(q=Sum("on_hand"))
                .values_list("month", "q").order_by("month"))
    top = [{"lot": b.lot.code, "item": b.item.code, "warehouse": b.warehouse.code, "expiry": b.lot.expiry.isoformat(),
            "qty": b.on_hand, "donor": b.lot.grant.donor.code if b.lot.grant_id else ""} for b in bins[:15]]
    return {"months": [m.strftime("%Y-%m") for m, _q in by_month], "qty": [q for _m, q in by_month], "lots": top}


def pipeline_by_donor() -> dict:
    totals: dict[str, int] = defaultdict(int)
    for row in pipeline_outstanding():
        totals[row["pipeline__donor__code"]] += row["outstanding"]
    donors = sorted(totals)
    return {"donors": donors, "qty": [totals[d] for d in donors]}


def open_event_progress() -> list[dict]:
    """Households served / expected at each open event (two grouped queries for all events)."""
    events = list(DistributionEvent.objects.filter(status=EventStatus.OPEN).order_by("date", "number")
                  .values("pk", "number", "name", "cycle_id", "site_id", "site__code", "date"))
    if not events:
        return []
    expected = {(c, s): n for c, s, n in Entitlement.objects.filter(
        cycle_id__in={e["cycle_id"] for e in events}).exclude(status=EntitlementStatus.CANCELLED)
        .values_list("cycle_id", "site_id").annotate(n=Count("household_id", distinct=True))
        .values_list("cycle_id", "site_id", "n")}
    served = dict(Redemption.objects.filter(event_id__in=[e["pk"] for e in events]).values_list("event_id")
                  .annotate(n=Count("household_id", distinct=True)).values_list("event_id", "n"))
    rows = []
    for e in events:
        total, done = expected.get((e["cycle_id"], e["site_id"]), 0), served.get(e["pk"], 0)
        rows.append({"event": e["number"], "name": e["name"], "site": e["site__code"], "date": e["date"].isoformat(),
                     "expected": total, "served": done, "percent": round(100 * done / total) if total else 0})
    return rows


def latest_shortfalls() -> dict:
    plan = latest_plan()
    if plan is None:
        return {"plan": None, "items": [], "short": [], "buy": []}
    short = dict(plan.lines.filter(kind=LineKind.SHORTFALL).values_list("item__code").annotate(q=Sum("qty"))
                 .values_list("item__code", "q"))
    buy = dict(plan.lines.filter(kind=LineKind.PURCHASE).values_list("item__code").annotate(q=Sum("qty"))
               .values_list("item__code", "q"))
    items = sorted(short)
    return {"plan": plan.number, "status": plan.status, "created_at": plan.created_at.isoformat(), "items": items,
            "short": [short[i] for i in items], "buy": [buy.get(i, 0) for i in items]}


def dashboard() -> dict:
    return {
        "stock": stock_by_warehouse_category(),
        "coverage": coverage_rounds(),
        "expiring": expiring_soon(),
        "pipeline": pipeline_by_donor(),
        "events": open_event_progress(),
        "shortfalls": latest_shortfalls(),
    }


def pipeline_pending_count() -> int:
    return Pipeline.objects.filter(status=DocStatus.DRAFT).count()


def route_problems() -> list[str]:
    """Routes that point at a warehouse that does not hold stock (for `relief check`)."""
    bad = Route.objects.filter(Q(origin__kind__in=NOT_HOLDING) | Q(destination__kind__in=NOT_HOLDING))
    return [f"route {r.origin.code}–{r.destination.code} joins a place that holds no stock"
            for r in bad.select_related("origin", "destination")]
