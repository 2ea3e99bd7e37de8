"""The planner: demand and supply in, shortfalls, transfers and purchases out. No database here.

For each item:

1. Each warehouse first serves its own demand from its own stock, in date order, first-expiry-first
   (a lot that expires before the distribution date, or is earmarked for other sites, is not used).
2. What is left over, above the warehouse's reorder minimum, is surplus; what is not covered, and
   any fall under the reorder minimum, is a deficit with the date it is needed by.
3. Surplus is matched to deficits by a minimum-cost flow (networkx network simplex, exact in integers)
   over arcs that respect expiry, earmarks and reorder tiers. The objective is lexicographic: first buy
   as little as possible, then be late as few unit-days as possible, then spend as little on trucks as
   possible (cost per unit = cost per km × km × the share of a truck one unit fills, by weight or volume).
4. Kits that cannot be covered as kits are assembled where needed: their components become demand.

Transfers are then loaded onto trucks per (from, to, dispatch day) and every line says why it exists.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
from collections import defaultdict
from decimal import Decimal

import networkx as nx
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

EVENT, FORECAST, REORDER = "event", "forecast", "reorder"
STOCK, TRANSIT, PIPELINE = "stock", "transit", "pipeline"
BUY, SINK = ("buy",), ("sink",)


class PlanInputError(ValueError):
    """The inputs cannot make a plan; ``problems`` names each missing or wrong thing."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclasses.dataclass(frozen=True)
class Place:
    id: int
    code: str
    site_id: int | None = None
    staging: bool = False  # a distribution point: what is left there serves distributions, not top-ups


@dataclasses.dataclass(frozen=True)
class ItemSpec:
    id: int
    code: str
    weight_kg: Decimal = Decimal(0)
    volume_m3: Decimal = Decimal(0)
    components: tuple[tuple[int, int], ...] = ()  # (component item id, qty per kit)


@dataclasses.dataclass(frozen=True)
class Demand:
    warehouse_id: int
    item_id: int
    qty: int
    date: datetime.date
    site_id: int | None
    kind: str  # EVENT or FORECAST
    reference: str  # event or cycle number
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Supply:
    warehouse_id: int
    item_id: int
    qty: int
    kind: str  # STOCK, TRANSIT or PIPELINE
    reference: str  # lot code, waybill or pipeline number
    available_on: datetime.date | None = None  # None for goods in transit: computed from the road
    expiry: datetime.date | None = None
    grant_id: int | None = None
    lot: str = ""
    origin_id: int | None = None  # in transit: where it left from
    dispatched_on: datetime.date | None = None


@dataclasses.dataclass(frozen=True)
class Level:
    warehouse_id: int
    item_id: int
    min_qty: int
    max_qty: int


@dataclasses.dataclass(frozen=True)
class Road:
    a: int
    b: int
    km: Decimal
    days: int


@dataclasses.dataclass(frozen=True)
class TruckSpec:
    name: str
    capacity_kg: Decimal
    capacity_m3: Decimal
    cost_per_km: Decimal


@dataclasses.dataclass
class PlanInput:
    today: datetime.date
    horizon_end: datetime.date
    places: dict[int, Place]
    items: dict[int, ItemSpec]
    demands: list[Demand]
    supplies: list[Supply]
    levels: list[Level]
    roads: list[Road]
    truck: TruckSpec | None
    earmarks: dict[int, frozenset[int]] = dataclasses.field(default_factory=dict)  # grant → allowed sites
    labels: dict[str, str] = dataclasses.field(default_factory=dict)  # reference → readable name
    #: A distribution does not wait longer than this for goods: later ones are no cover (buy instead).
    max_late_days: int = 7

    def digest(self) -> str:
        """A fingerprint of every input: the same digest always gives the same plan."""

        def rows(values) -> list:
            return [[getattr(v, f.name) for f in dataclasses.fields(v)] for v in values]

        payload = [str(self.today), str(self.horizon_end), self.max_late_days,
                   rows(self.places[k] for k in sorted(self.places)), rows(self.items[k] for k in sorted(self.items)),
                   rows(self.demands), rows(self.supplies), rows(self.levels), rows(self.roads),
                   rows([self.truck]) if self.truck else None,
                   sorted((g, sorted(sites)) for g, sites in self.earmarks.items()), sorted(self.labels.items())]
        return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()


@dataclasses.dataclass
class Line:
    kind: str  # shortfall, transfer, purchase, surplus, expiring
    item_id: int
    warehouse_id: int
    qty: int
    source_id: int | None = None
    need_by: datetime.date | None = None
    dispatch_on: datetime.date | None = None
    arrive_on: datetime.date | None = None
    late_days: int = 0
    weight_kg: Decimal = Decimal(0)
    volume_m3: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    truck_load: str = ""
    needed_for: list[str] = dataclasses.field(default_factory=list)
    lots: list[list] = dataclasses.field(default_factory=list)  # [[lot code, qty], ...]
    explanation: str = ""


@dataclasses.dataclass
class PlanResult:
    lines: list[Line]
    loads: list[dict]
    digest: str

    def of_kind(self, kind: str) -> list[Line]:
        return [ln for ln in self.lines if ln.kind == kind]


# --- roads ---------------------------------------------------------------------------------------------


class Roads:
    """Distance and lead time between any two warehouses, along the shortest road by distance."""

    def __init__(self, roads: list[Road]):
        self.graph = nx.Graph()
        for road in sorted(roads, key=lambda r: (r.a, r.b)):
            km, days = float(road.km), road.days
            if self.graph.has_edge(road.a, road.b) and self.graph[road.a][road.b]["km"] <= km:
                continue
            self.graph.add_edge(road.a, road.b, km=km, days=days)
        self._cache: dict[int, tuple[dict, dict]] = {}
        self._pairs: dict[tuple[int, int], tuple[float, int] | None] = {}

    def between(self, a: int, b: int) -> tuple[float, int] | None:
        """(km, days) from a to b, or None when no road joins them."""
        if a == b:
            return 0.0, 0
        key = (a, b)
        if key not in self._pairs:
            self._pairs[key] = self._shortest(a, b)
        return self._pairs[key]

    def _shortest(self, a: int, b: int) -> tuple[float, int] | None:
        if a not in self.graph or b not in self.graph:
            return None
        if a not in self._cache:
            self._cache[a] = nx.single_source_dijkstra(self.graph, a, weight="km")
        distances, paths = self._cache[a]
        if b not in distances:
            return None
        path = paths[b]
        return distances[b], sum(self.graph[u][v]["days"] for u, v in zip(path, path[1:], strict=False))


# --- one item ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Piece:
    supply: Supply
    available_on: datetime.date
    left: int

    @property
    def expiry_key(self) -> tuple:
        return (self.supply.expiry is None, self.supply.expiry or datetime.date.max)


@dataclasses.dataclass
class _Deficit:
    warehouse_id: int
    date: datetime.date
    site_id: int | None
    kind: str
    qty: int
    needed_for: list[str]
    own: int = 0  # covered by the warehouse's own stock
    note: str = ""


@dataclasses.dataclass
class _Surplus:
    warehouse_id: int
    available_on: datetime.date
    expiry: datetime.date | None
    grant_id: int | None
    tier: int  # 1: free for anything; 2: between min and max, only for distributions
    pieces: list[_Piece]

    @property
    def qty(self) -> int:
        return sum(p.left for p in self.pieces)


class Planner:
    def __init__(self, inp: PlanInput):
        self.inp = inp
        self.roads = Roads(inp.roads)
        self.problems: list[str] = []
        self.missing_roads: set[tuple[int, int]] = set()
        self.lines: list[Line] = []

    # names for messages
    def wh(self, pk: int | None) -> str:
        return self.inp.places[pk].code if pk in self.inp.places else str(pk)

    def it(self, pk: int) -> str:
        return self.inp.items[pk].code if pk in self.inp.items else str(pk)

    def label(self, reference: str) -> str:
        return self.inp.labels.get(reference, reference)

    def validate(self) -> None:
        inp, problems = self.inp, self.problems
        if inp.horizon_end < inp.today:
            problems.append(_("the horizon ends on %(end)s, before today (%(today)s): plan a horizon in the future")
                            % {"end": inp.horizon_end, "today": inp.today})
        truck = inp.truck
        if truck is None:
            problems.append(_("no truck: add one (capacity by weight and volume, cost per km) under Trucks"))
        else:
            if truck.capacity_kg <= 0:
                problems.append(_("truck %(truck)s carries 0 kg: give its capacity by weight") % {"truck": truck.name})
            if truck.capacity_m3 <= 0:
                problems.append(_("truck %(truck)s carries 0 m³: give its capacity by volume") % {"truck": truck.name})
        for level in inp.levels:
            if level.max_qty < level.min_qty:
                problems.append(_("reorder level of %(item)s at %(wh)s: maximum %(max)d is under minimum %(min)d") % {
                    "item": self.it(level.item_id), "wh": self.wh(level.warehouse_id), "max": level.max_qty,
                    "min": level.min_qty})
        for pk in sorted({d.warehouse_id for d in inp.demands} | {s.warehouse_id for s in inp.supplies}):
            if pk not in inp.places:
                problems.append(_("warehouse %(wh)s does not hold stock (a region or in-transit place): demand and "
                                  "supply must name a warehouse, field warehouse or distribution point")
                                % {"wh": pk})
        if problems:
            raise PlanInputError(problems)

    def lead(self, a: int, b: int) -> tuple[float, int] | None:
        found = self.roads.between(a, b)
        if found is None:
            self.missing_roads.add((min(a, b), max(a, b)))
        return found

    def pieces(self) -> dict[int, list[_Piece]]:
        """Supply as pieces with the day they can be used; expired stock becomes a line of its own."""
        today, end = self.inp.today, self.inp.horizon_end
        by_item: dict[int, list[_Piece]] = defaultdict(list)
        for s in self.inp.supplies:
            if s.qty <= 0:
                continue
            if s.kind == TRANSIT:
                found = self.lead(s.origin_id, s.warehouse_id) if s.origin_id is not None else None
                if found is None:
                    continue
                available = max(today, (s.dispatched_on or today) + datetime.timedelta(days=found[1]))
            else:
                available = max(today, s.available_on or today)
            if s.expiry is not None and s.expiry < today:
                self.lines.append(Line(
                    kind="expiring", item_id=s.item_id, warehouse_id=s.warehouse_id, qty=s.qty, need_by=s.expiry,
                    lots=[[s.lot, s.qty]] if s.lot else [],
                    explanation=_("%(ref)s expired on %(expiry)s: write it off, it cannot be handed out") % {
                        "ref": s.lot or s.reference, "expiry": s.expiry}))
                continue
            if available > end:
                continue
            by_item[s.item_id].append(_Piece(supply=s, available_on=available, left=s.qty))
        return by_item

    def allowed(self, piece: _Piece, site_id: int | None) -> bool:
        sites = self.inp.earmarks.get(piece.supply.grant_id) if piece.supply.grant_id is not None else None
        return sites is None or site_id in sites

    def usable_on(self, piece: _Piece, day: datetime.date) -> bool:
        return piece.supply.expiry is None or piece.supply.expiry >= day

    def solve_item(self, item_id: int, demands: list[Demand], pieces: list[_Piece],
                   levels: dict[int, Level]) -> list[_Deficit]:
        """Plan one item; returns the deficits left to buy (for kits: to assemble)."""
        inp = self.inp
        item = inp.items[item_id]
        by_wh: dict[int, list[_Piece]] = defaultdict(list)
        for p in pieces:
            by_wh[p.supply.warehouse_id].append(p)
        for wh_pieces in by_wh.values():
            # Earmarked stock first where it is allowed, so free stock stays free; then first expiry first.
            wh_pieces.sort(key=lambda p: (*p.expiry_key, p.supply.grant_id not in inp.earmarks, p.available_on,
                                          p.supply.kind, p.supply.reference, p.supply.lot))
        demand_by_wh: dict[int, list[Demand]] = defaultdict(list)
        for d in demands:
            demand_by_wh[d.warehouse_id].append(d)
        deficits: list[_Deficit] = []
        surpluses: list[_Surplus] = []
        for wh in sorted(set(by_wh) | set(demand_by_wh) | {w for w in levels}):
            wh_pieces = by_wh.get(wh, [])
            for d in sorted(demand_by_wh.get(wh, []), key=lambda d: (d.date, d.reference)):
                need = d.qty
                for p in wh_pieces:
                    if not need:
                        break
                    if p.left and p.available_on <= d.date and self.usable_on(p, d.date) and self.allowed(p, d.site_id):
                        take = min(need, p.left)
                        p.left -= take
                        need -= take
                deficits.append(_Deficit(warehouse_id=wh, date=d.date, site_id=d.site_id, kind=d.kind, qty=need,
                                         needed_for=[d.reference], own=d.qty - need, note=d.note))
            level = levels.get(wh)
            end = inp.horizon_end
            lasting = [p for p in wh_pieces if p.left and (p.supply.expiry is None or p.supply.expiry > end)]
            stays = sum(p.left for p in lasting)
            keep, tier2 = 0, 0
            if inp.places[wh].staging:
                tier2 = stays
            if level is not None:
                if stays < level.min_qty:
                    deficits.append(_Deficit(
                        warehouse_id=wh, date=self._under_min_date(wh, demands, pieces, level), kind=REORDER,
                        site_id=inp.places[wh].site_id, qty=level.max_qty - stays, needed_for=[],
                        note=_("stock would fall to %(left)d, under the minimum %(min)d: top up to the maximum "
                               "%(max)d") % {"left": stays, "min": level.min_qty, "max": level.max_qty}))
                    keep = stays
                else:
                    keep, tier2 = level.min_qty, min(stays, level.max_qty) - level.min_qty
            # What the warehouse keeps is its longest-lasting stock; what it can give goes first-expiry-first.
            for p in sorted(lasting, key=lambda p: p.expiry_key, reverse=True):
                kept = min(keep, p.left)
                keep -= kept
                p_left = p.left - kept
                give2 = min(tier2, p_left)
                tier2 -= give2
                if give2:
                    surpluses.append(_Surplus(wh, p.available_on, p.supply.expiry, p.supply.grant_id, 2,
                                              [_Piece(p.supply, p.available_on, give2)]))
                if p_left - give2:
                    surpluses.append(_Surplus(wh, p.available_on, p.supply.expiry, p.supply.grant_id, 1,
                                              [_Piece(p.supply, p.available_on, p_left - give2)]))
            for p in wh_pieces:
                if p.left and p not in lasting:
                    surpluses.append(_Surplus(wh, p.available_on, p.supply.expiry, p.supply.grant_id, 1,
                                              [_Piece(p.supply, p.available_on, p.left)]))
        surpluses = self._merge(surpluses)
        open_deficits = [d for d in deficits if d.qty > 0]
        flows = self._flow(item, surpluses, open_deficits) if open_deficits else {}
        return self._lines_for_item(item, deficits, open_deficits, surpluses, flows)

    def _under_min_date(self, wh: int, demands: list[Demand], pieces: list[_Piece], level: Level) -> datetime.date:
        """The first day the warehouse's stock, less its own distributions, is under its minimum."""
        changes: dict[datetime.date, int] = defaultdict(int)
        for p in pieces:
            if p.supply.warehouse_id == wh:
                changes[p.available_on] += p.supply.qty
        for d in demands:
            if d.warehouse_id == wh:
                changes[d.date] -= d.qty
        balance = 0
        for day in sorted(changes):
            balance += changes[day]
            if balance < level.min_qty:
                return day
        return self.inp.today

    @staticmethod
    def _merge(surpluses: list[_Surplus]) -> list[_Surplus]:
        merged: dict[tuple, _Surplus] = {}
        for s in surpluses:
            key = (s.warehouse_id, s.available_on, s.expiry or datetime.date.max, s.grant_id or 0, s.tier)
            if key in merged:
                merged[key].pieces.extend(s.pieces)
            else:
                merged[key] = s
        return [merged[k] for k in sorted(merged)]

    def unit_share(self, item: ItemSpec) -> float:
        """The share of one truck a unit fills: by weight or by volume, whichever binds."""
        truck = self.inp.truck
        return max(float(item.weight_kg) / float(truck.capacity_kg), float(item.volume_m3) / float(truck.capacity_m3))

    def _flow(self, item: ItemSpec, surpluses: list[_Surplus], deficits: list[_Deficit]) -> dict:
        truck = self.inp.truck
        share = self.unit_share(item)
        arcs = []
        for si, s in enumerate(surpluses):
            for di, d in enumerate(deficits):
                if s.tier == 2 and d.kind == REORDER:
                    continue
                if s.grant_id in self.inp.earmarks and d.site_id not in self.inp.earmarks[s.grant_id]:
                    continue
                if s.expiry is not None and s.expiry < d.date:
                    continue
                # A top-up is stock kept beyond the horizon: lots expiring within it do not count.
                if d.kind == REORDER and s.expiry is not None and s.expiry <= self.inp.horizon_end:
                    continue
                if s.warehouse_id != d.warehouse_id and share == 0:
                    self.problems.append(_("item %(item)s has no weight or volume: set them so trucks can be loaded")
                                         % {"item": item.code})
                    return {}
                found = self.lead(s.warehouse_id, d.warehouse_id)
                if found is None:
                    continue
                km, days = found
                arrive = s.available_on + datetime.timedelta(days=days)
                if s.expiry is not None and s.expiry < arrive:
                    continue
                # A top-up has no distribution waiting for it: only distributions can be late.
                late = 0 if d.kind == REORDER else max(0, (arrive - d.date).days)
                if late > self.inp.max_late_days:
                    continue
                transport = round(1000 * float(truck.cost_per_km) * km * share)
                arcs.append((si, di, late, transport))
        units = sum(d.qty for d in deficits)
        arcs = self._prune(arcs, surpluses, units)
        top_transport = max((a[3] for a in arcs), default=0)
        top_late = max((a[2] for a in arcs), default=0)
        # Lexicographic weights: one unit-day late outweighs every transport saving, one unit bought outweighs
        # all of those, and one distribution unit left to buy outweighs every top-up left to buy.
        late_weight = units * top_transport + 1
        buy_weight = units * (top_late * late_weight + top_transport) + 1
        buy_for_distribution = (units + 1) * buy_weight
        graph = nx.DiGraph()
        supply_total = sum(s.qty for s in surpluses)
        graph.add_node(BUY, demand=-units)
        graph.add_node(SINK, demand=supply_total)
        for si, s in enumerate(surpluses):
            graph.add_node(("s", si), demand=-s.qty)
            graph.add_edge(("s", si), SINK, weight=0)
        for di, d in enumerate(deficits):
            graph.add_node(("d", di), demand=d.qty)
            graph.add_edge(BUY, ("d", di), weight=buy_weight if d.kind == REORDER else buy_for_distribution)
        graph.add_edge(BUY, SINK, weight=0)
        for si, di, late, transport in arcs:
            graph.add_edge(("s", si), ("d", di), weight=late * late_weight + transport)
        flow = nx.min_cost_flow(graph)
        return {(si, di): flow[("s", si)][("d", di)] for si, di, _l, _t in arcs if flow[("s", si)][("d", di)]} | {
            ("buy", di): flow[BUY][("d", di)] for di in range(len(deficits)) if flow[BUY][("d", di)]}

    @staticmethod
    def _prune(arcs: list[tuple], surpluses: list[_Surplus], units: int) -> list[tuple]:
        """Keep, for each deficit, its best arcs until their sources together hold every unit short.

        Exact: if a deficit drew on a worse source, one of these sources would have a unit to spare
        (together they hold more than all deficits take), and moving that unit is no worse.
        """
        by_deficit: dict[int, list[tuple]] = defaultdict(list)
        for arc in arcs:
            by_deficit[arc[1]].append(arc)
        kept = []
        for di in sorted(by_deficit):
            held = 0
            for arc in sorted(by_deficit[di], key=lambda a: (a[2], a[3], a[0])):
                kept.append(arc)
                held += surpluses[arc[0]].qty
                if held >= units:
                    break
        return kept

    def _take_lots(self, surplus: _Surplus, qty: int) -> list[list]:
        lots: list[list] = []
        for p in surplus.pieces:
            if not qty:
                break
            take = min(qty, p.left)
            if not take:
                continue
            p.left -= take
            qty -= take
            if p.supply.lot:
                lots.append([p.supply.lot, take])
        return lots

    def _lines_for_item(self, item: ItemSpec, deficits, open_deficits, surpluses, flows) -> list[_Deficit]:
        """Turn the flow into lines; returns the deficits that are left to buy, with the quantities to buy."""
        to_buy: list[_Deficit] = []
        bought: dict[int, int] = {}
        cover: dict[int, list[str]] = defaultdict(list)
        moves: dict[tuple, dict] = {}
        for (si, di), qty in sorted(flows.items(), key=lambda kv: (kv[0][1], str(kv[0][0]))):
            d = open_deficits[di]
            if si == "buy":
                to_buy.append(dataclasses.replace(d, qty=qty))
                bought[di] = qty
                continue
            s = surpluses[si]
            km, days = self.lead(s.warehouse_id, d.warehouse_id)
            lots = self._take_lots(s, qty)
            if s.warehouse_id == d.warehouse_id:
                late = max(0, (s.available_on - d.date).days)
                cover[di].append(_("%(qty)d from its own goods arriving on %(on)s (%(late)d days late)") % {
                    "qty": qty, "on": s.available_on, "late": late})
                continue
            dispatch = max(s.available_on, d.date - datetime.timedelta(days=days))
            key = (s.warehouse_id, di, dispatch)
            if key not in moves:
                moves[key] = {"qty": 0, "lots": [], "free": s.available_on, "earmarked": False, "km": km,
                              "days": days}
            move = moves[key]
            move["qty"] += qty
            move["free"] = min(move["free"], s.available_on)
            move["earmarked"] |= s.grant_id in self.inp.earmarks
            for code, n in lots:
                same = [lot for lot in move["lots"] if lot[0] == code]
                if same:
                    same[0][1] += n
                else:
                    move["lots"].append([code, n])
        for (source, di, dispatch), move in sorted(moves.items(), key=lambda kv: (kv[0][1], self.wh(kv[0][0]),
                                                                                   kv[0][2])):
            d, qty, days = open_deficits[di], move["qty"], move["days"]
            arrive = dispatch + datetime.timedelta(days=days)
            late = 0 if d.kind == REORDER else max(0, (arrive - d.date).days)
            earmark = _(" (earmarked grant stock, allowed for this site)") if move["earmarked"] else ""
            why = _("%(qty)d %(item)s from %(src)s to %(dst)s for %(for)s, needed by %(need)s: %(src)s has them free "
                    "from %(free)s%(earmark)s; %(km).0f km, %(road)s") % {
                "qty": qty, "item": item.code, "src": self.wh(source), "dst": self.wh(d.warehouse_id),
                "for": self._for(d), "need": d.date, "free": move["free"], "earmark": earmark, "km": move["km"],
                "road": ngettext("%(days)d day on the road", "%(days)d days on the road", days) % {"days": days}}
            if late:
                why += ngettext("; arrives %(late)d day late, no warehouse can do better",
                                "; arrives %(late)d days late, no warehouse can do better", late) % {"late": late}
            self.lines.append(Line(
                kind="transfer", item_id=item.id, warehouse_id=d.warehouse_id, source_id=source, qty=qty,
                need_by=d.date, dispatch_on=dispatch, arrive_on=arrive, late_days=late,
                weight_kg=item.weight_kg * qty, volume_m3=item.volume_m3 * qty, needed_for=list(d.needed_for),
                lots=move["lots"], explanation=why))
            cover[di].append(_("%(qty)d from %(src)s (arrives %(on)s)") % {
                "qty": qty, "src": self.wh(source), "on": arrive})
        for di, d in enumerate(open_deficits):
            parts = list(cover[di])
            if bought.get(di):
                assembled = item.components and d.kind != REORDER
                parts.append((_("%(qty)d to assemble from components") if assembled else _("%(qty)d to buy"))
                             % {"qty": bought[di]})
            if d.kind == REORDER:
                why = _("%(wh)s: %(note)s, by %(need)s.") % {"wh": self.wh(d.warehouse_id), "note": d.note,
                                                             "need": d.date}
            else:
                why = _("%(wh)s needs %(total)d %(item)s by %(need)s for %(for)s; %(own)d from its own stock, "
                        "%(short)d short.") % {
                    "wh": self.wh(d.warehouse_id), "total": d.qty + d.own, "item": item.code, "need": d.date,
                    "for": self._for(d), "own": d.own, "short": d.qty}
                if d.note:
                    why += f" {d.note}."
            if parts:
                why += " " + _("Covered by: %(parts)s.") % {"parts": "; ".join(parts)}
            self.lines.append(Line(kind="shortfall", item_id=item.id, warehouse_id=d.warehouse_id, qty=d.qty,
                                   need_by=d.date, needed_for=list(d.needed_for), explanation=why))
        self._leftover_lines(item, surpluses)
        return to_buy

    def _for(self, d: _Deficit) -> str:
        if d.kind == REORDER:
            return _("its reorder level")
        return ", ".join(self.label(ref) for ref in d.needed_for)

    def _leftover_lines(self, item: ItemSpec, surpluses: list[_Surplus]) -> None:
        end = self.inp.horizon_end
        free: dict[int, int] = defaultdict(int)
        free_from: dict[int, datetime.date] = {}
        for s in surpluses:
            for p in s.pieces:
                if not p.left:
                    continue
                if p.supply.expiry is not None and p.supply.expiry <= end:
                    self.lines.append(Line(
                        kind="expiring", item_id=item.id, warehouse_id=s.warehouse_id, qty=p.left,
                        need_by=p.supply.expiry, lots=[[p.supply.lot, p.left]] if p.supply.lot else [],
                        explanation=_("%(qty)d %(item)s (%(ref)s) at %(wh)s expire on %(expiry)s, before any planned "
                                      "use: distribute, transfer or write them off") % {
                            "qty": p.left, "item": item.code, "ref": p.supply.lot or p.supply.reference,
                            "wh": self.wh(s.warehouse_id), "expiry": p.supply.expiry}))
                else:
                    free[s.warehouse_id] += p.left
                    free_from[s.warehouse_id] = min(free_from.get(s.warehouse_id, p.available_on), p.available_on)
        for wh in sorted(free):
            self.lines.append(Line(
                kind="surplus", item_id=item.id, warehouse_id=wh, qty=free[wh], need_by=free_from[wh],
                explanation=_("%(qty)d %(item)s at %(wh)s are not needed there within the horizon (after its own "
                              "distributions and its reorder minimum)") % {
                    "qty": free[wh], "item": item.code, "wh": self.wh(wh)}))

    def purchase_lines(self, item: ItemSpec, to_buy: list[_Deficit]) -> None:
        merged: dict[tuple[int, datetime.date, bool], list[_Deficit]] = defaultdict(list)
        for d in to_buy:
            merged[(d.warehouse_id, d.date, d.kind == REORDER)].append(d)
        for (wh, day, top_up), group in sorted(merged.items()):
            qty = sum(d.qty for d in group)
            needed_for = sorted({ref for d in group for ref in d.needed_for})
            if top_up:
                why = _("buy %(qty)d %(item)s for %(wh)s by %(need)s to top up its reorder level: no warehouse has "
                        "them free beyond its own needs and maximum") % {
                    "qty": qty, "item": item.code, "wh": self.wh(wh), "need": day}
            else:
                why = _("buy %(qty)d %(item)s for %(wh)s by %(need)s (%(for)s): no warehouse has them free in time "
                        "(at most %(late)d days late), unexpired and allowed by its donor") % {
                    "qty": qty, "item": item.code, "wh": self.wh(wh), "need": day,
                    "for": ", ".join(self._for(d) for d in group), "late": self.inp.max_late_days}
            self.lines.append(Line(
                kind="purchase", item_id=item.id, warehouse_id=wh, qty=qty, need_by=day, needed_for=needed_for,
                weight_kg=item.weight_kg * qty, volume_m3=item.volume_m3 * qty, explanation=why))

    # --- trucks ---------------------------------------------------------------------------------------

    def load_trucks(self) -> list[dict]:
        """Fill trucks per (from, to, dispatch day) in item order, splitting a line where a truck is full."""
        truck = self.inp.truck
        cap_kg, cap_m3 = float(truck.capacity_kg), float(truck.capacity_m3)
        groups: dict[tuple, list[Line]] = defaultdict(list)
        others = []
        for line in self.lines:
            if line.kind == "transfer":
                groups[(line.source_id, line.warehouse_id, line.dispatch_on)].append(line)
            else:
                others.append(line)
        loaded: list[Line] = []
        loads = []
        for (src, dst, day), lines in sorted(groups.items(), key=lambda kv: (self.wh(kv[0][0]), self.wh(kv[0][1]),
                                                                              kv[0][2])):
            trucks: list[list[Line]] = [[]]
            used_kg = used_m3 = 0.0
            for line in sorted(lines, key=lambda ln: (self.it(ln.item_id), ln.need_by, ln.needed_for)):
                item = self.inp.items[line.item_id]
                w, v = float(item.weight_kg), float(item.volume_m3)
                if w > cap_kg or v > cap_m3:
                    self.problems.append(_("one %(item)s is bigger than truck %(truck)s can carry") % {
                        "item": item.code, "truck": truck.name})
                    return []
                left = line.qty
                while left:
                    room = min(math.floor((cap_kg - used_kg) / w + 1e-9) if w else left,
                               math.floor((cap_m3 - used_m3) / v + 1e-9) if v else left)
                    if room <= 0:
                        trucks.append([])
                        used_kg = used_m3 = 0.0
                        continue
                    take = min(room, left)
                    part = line if take == line.qty else dataclasses.replace(
                        line, qty=take, lots=_split_lots(line.lots, take), weight_kg=item.weight_kg * take,
                        volume_m3=item.volume_m3 * take)
                    trucks[-1].append(part)
                    used_kg += w * take
                    used_m3 += v * take
                    left -= take
            km, _days = self.lead(src, dst)
            trip = Decimal(str(km)) * truck.cost_per_km
            for n, parts in enumerate(trucks, start=1):
                fill = sum(max(float(p.weight_kg) / cap_kg, float(p.volume_m3) / cap_m3) for p in parts) or 1.0
                for p in parts:
                    p.truck_load = f"{n}/{len(trucks)}"
                    p.cost = (trip * Decimal(max(float(p.weight_kg) / cap_kg, float(p.volume_m3) / cap_m3) / fill)
                              ).quantize(Decimal("0.01"))
                    loaded.append(p)
            loads.append({"source": self.wh(src), "target": self.wh(dst), "dispatch_on": day.isoformat(),
                          "trucks": len(trucks), "km": round(km, 1),
                          "weight_kg": round(sum(float(p.weight_kg) for p in lines), 1),
                          "volume_m3": round(sum(float(p.volume_m3) for p in lines), 2),
                          "cost": str((trip * len(trucks)).quantize(Decimal("0.01")))})
        self.lines = others + loaded
        return loads

    # --- the whole plan -------------------------------------------------------------------------------

    def run(self) -> PlanResult:
        inp = self.inp
        self.validate()
        pieces = self.pieces()
        levels: dict[int, dict[int, Level]] = defaultdict(dict)
        for level in inp.levels:
            levels[level.item_id][level.warehouse_id] = level
        demands: dict[int, list[Demand]] = defaultdict(list)
        for d in inp.demands:
            if d.qty > 0:
                demands[d.item_id].append(dataclasses.replace(d, date=max(d.date, inp.today)))
        unknown = sorted({d.item_id for d in inp.demands} - set(inp.items))
        if unknown:
            raise PlanInputError([_("demand names unknown items %(ids)s") % {"ids": unknown}])
        item_ids = set(demands) | set(pieces) | set(levels)
        # Kits first: what cannot be covered as kits becomes demand for their components.
        order = sorted(item_ids, key=lambda i: (not inp.items[i].components, inp.items[i].code))
        order += sorted({c for i in order for c, _q in inp.items[i].components} - set(order),
                        key=lambda i: inp.items[i].code)
        for item_id in order:
            item = inp.items[item_id]
            to_buy = self.solve_item(item_id, demands.get(item_id, []), pieces.get(item_id, []),
                                     levels.get(item_id, {}))
            assemble = [d for d in to_buy if item.components and d.kind != REORDER]
            for d in assemble:
                for component_id, per_kit in item.components:
                    demands[component_id].append(Demand(
                        warehouse_id=d.warehouse_id, item_id=component_id, qty=d.qty * per_kit, date=d.date,
                        site_id=d.site_id, kind=d.kind, reference=", ".join(d.needed_for),
                        note=_("to assemble %(n)d %(kit)s") % {"n": d.qty, "kit": item.code}))
            self.purchase_lines(item, [d for d in to_buy if d not in assemble])
        if self.missing_roads:
            self.problems.extend(
                _("no road between %(a)s and %(b)s: add a route (directly or through other warehouses)") % {
                    "a": self.wh(a), "b": self.wh(b)}
                for a, b in sorted(self.missing_roads, key=lambda ab: (self.wh(ab[0]), self.wh(ab[1]))))
        if self.problems:
            raise PlanInputError(list(dict.fromkeys(self.problems)))
        loads = self.load_trucks()
        if self.problems:
            raise PlanInputError(list(dict.fromkeys(self.problems)))
        order_kind = {"shortfall": 0, "transfer": 1, "purchase": 2, "expiring": 3, "surplus": 4}
        self.lines.sort(key=lambda ln: (order_kind[ln.kind], ln.need_by or datetime.date.max, self.wh(ln.warehouse_id),
                                        self.it(ln.item_id), self.wh(ln.source_id) if ln.source_id else "",
                                        ln.truck_load, ln.needed_for))
        return PlanResult(lines=self.lines, loads=loads, digest=inp.digest())


def _split_lots(lots: list[list], qty: int) -> list[list]:
    """Take ``qty`` off the front of a line's lots (mutating them) and return what was taken."""
    taken = []
    for lot in lots:
        if not qty:
            break
        take = min(qty, lot[1])
        if take:
            taken.append([lot[0], take])
            lot[1] -= take
            qty -= take
    lots[:] = [lot for lot in lots if lot[1]]
    return taken


def plan(inp: PlanInput) -> PlanResult:
    return Planner(inp).run()
