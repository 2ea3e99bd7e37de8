"""The planner on small hand-made networks whose best plan is known, checked exactly (no database)."""

import datetime
from decimal import Decimal

import pytest

from relief.replenishment import planner
from relief.replenishment.planner import Demand, ItemSpec, Level, Place, PlanInput, PlanInputError, Road, Supply

TODAY = datetime.date(2026, 3, 2)
A, B, C, D = 1, 2, 3, 4  # warehouses
NET, BLK, SOAP, KIT = 10, 11, 12, 13  # items
S1, S2 = 100, 200  # sites


def day(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


def world(*, demands=(), supplies=(), levels=(), roads=None, truck=None, earmarks=None, horizon=30, items=None):
    places = {A: Place(A, "KGM"), B: Place(B, "KIB"), C: Place(C, "NYA-DP", S1), D: Place(D, "NDU-DP", S2)}
    items = items or {
        NET: ItemSpec(NET, "NET", Decimal("0.5"), Decimal("0.004")),
        BLK: ItemSpec(BLK, "BLK", Decimal("1.5"), Decimal("0.01")),
        SOAP: ItemSpec(SOAP, "SOAP", Decimal("0.25"), Decimal("0.0005")),
        KIT: ItemSpec(KIT, "KIT", Decimal("3.5"), Decimal("0.03"), components=((BLK, 2), (SOAP, 1))),
    }
    if roads is None:
        roads = [Road(A, C, Decimal(100), 2), Road(B, C, Decimal(50), 1), Road(A, B, Decimal(60), 1),
                 Road(C, D, Decimal(80), 2)]
    truck = truck if truck is not None else planner.TruckSpec("10 t", Decimal(10000), Decimal(40), Decimal(2))
    return PlanInput(today=TODAY, horizon_end=day(horizon), places=places, items=items, demands=list(demands),
                     supplies=list(supplies), levels=list(levels), roads=roads, truck=truck, earmarks=earmarks or {})


def event(wh, item, qty, on, site=S1, ref="EV-1"):
    return Demand(warehouse_id=wh, item_id=item, qty=qty, date=day(on), site_id=site, kind=planner.EVENT,
                  reference=ref)


def stock(wh, item, qty, lot, expiry=None, grant=None):
    return Supply(warehouse_id=wh, item_id=item, qty=qty, kind=planner.STOCK, reference=lot, lot=lot,
                  expiry=expiry, grant_id=grant)


def moves(result):
    return sorted((ln.source_id, ln.warehouse_id, ln.item_id, ln.qty) for ln in result.of_kind("transfer"))


def buys(result):
    return sorted((ln.warehouse_id, ln.item_id, ln.qty, ln.need_by) for ln in result.of_kind("purchase"))


@pytest.mark.smoke
def test_the_cheaper_source_is_used_first_and_the_rest_comes_from_further_away():
    result = planner.plan(world(demands=[event(C, NET, 80, 10)],
                                supplies=[stock(A, NET, 100, "L-A"), stock(B, NET, 60, "L-B")]))
    assert moves(result) == [(A, C, NET, 20), (B, C, NET, 60)]
    assert buys(result) == []
    [short] = result.of_kind("shortfall")
    assert short.qty == 80 and short.need_by == day(10) and "60 from KIB" in short.explanation


def test_own_stock_serves_first_and_what_is_left_is_surplus():
    result = planner.plan(world(demands=[event(C, NET, 80, 10)], supplies=[stock(C, NET, 50, "L-C"),
                                                                            stock(A, NET, 100, "L-A")]))
    assert moves(result) == [(A, C, NET, 30)]
    assert sorted((ln.warehouse_id, ln.qty) for ln in result.of_kind("surplus")) == [(A, 70)]


def test_being_on_time_beats_a_cheaper_road():
    # KIB is close but its goods only arrive on day 8 (pipeline): 4 days late for day 5. KGM is on time.
    late = Supply(warehouse_id=B, item_id=NET, qty=50, kind=planner.PIPELINE, reference="PIP-1", available_on=day(8))
    result = planner.plan(world(demands=[event(C, NET, 50, 5)], supplies=[stock(A, NET, 50, "L-A"), late]))
    assert moves(result) == [(A, C, NET, 50)]
    [line] = result.of_kind("transfer")
    assert line.dispatch_on == day(3) and line.arrive_on == day(5) and line.late_days == 0


def test_late_stock_still_beats_buying_and_says_how_late():
    late = Supply(warehouse_id=B, item_id=NET, qty=50, kind=planner.PIPELINE, reference="PIP-1", available_on=day(8))
    result = planner.plan(world(demands=[event(C, NET, 50, 5)], supplies=[late]))
    [line] = result.of_kind("transfer")
    assert (line.source_id, line.qty, line.arrive_on, line.late_days) == (B, 50, day(9), 4)
    assert "4 days late" in line.explanation and buys(result) == []


def test_what_no_warehouse_can_cover_is_bought_by_the_event_date():
    result = planner.plan(world(demands=[event(C, NET, 200, 12)], supplies=[stock(A, NET, 120, "L-A")]))
    assert moves(result) == [(A, C, NET, 120)]
    assert buys(result) == [(C, NET, 80, day(12))]
    assert "EV-1" in result.of_kind("purchase")[0].explanation


def test_a_lot_expiring_before_the_distribution_is_not_sent_and_is_reported():
    result = planner.plan(world(demands=[event(C, SOAP, 100, 10)],
                                supplies=[stock(A, SOAP, 100, "SOAP-OLD", expiry=day(6)),
                                          stock(B, SOAP, 100, "SOAP-NEW", expiry=day(200))]))
    assert moves(result) == [(B, C, SOAP, 100)]
    assert result.of_kind("transfer")[0].lots == [["SOAP-NEW", 100]]
    [expiring] = result.of_kind("expiring")
    assert (expiring.warehouse_id, expiring.qty, expiring.lots) == (A, 100, [["SOAP-OLD", 100]])


def test_a_lot_that_expires_on_the_road_is_not_sent():
    # Expires on day 11; KGM→NYA-DP takes 2 days and the earliest it can leave is today: fine for day 1.
    # For a lot free only from day 10 (pipeline) it would arrive on day 12: not sent.
    piped = Supply(warehouse_id=A, item_id=SOAP, qty=40, kind=planner.PIPELINE, reference="PIP-2",
                   available_on=day(10), expiry=day(11))
    result = planner.plan(world(demands=[event(C, SOAP, 40, 5)], supplies=[piped]))
    assert moves(result) == [] and buys(result) == [(C, SOAP, 40, day(5))]


def test_earmarked_stock_goes_only_to_the_sites_the_donor_allows():
    earmarks = {77: frozenset({S2})}
    supplies = [stock(A, NET, 100, "ECHO-LOT", grant=77), stock(B, NET, 30, "FREE-LOT")]
    result = planner.plan(world(demands=[event(C, NET, 50, 10, site=S1), event(D, NET, 60, 12, site=S2, ref="EV-2")],
                                supplies=supplies, earmarks=earmarks))
    assert moves(result) == [(A, D, NET, 60), (B, C, NET, 30)]
    assert buys(result) == [(C, NET, 20, day(10))]
    assert [ln.lots for ln in result.of_kind("transfer") if ln.source_id == A] == [[["ECHO-LOT", 60]]]


def test_reorder_levels_top_up_to_the_maximum_and_protect_the_minimum():
    levels = [Level(C, NET, 100, 300), Level(B, NET, 50, 100)]
    result = planner.plan(world(supplies=[stock(C, NET, 40, "L-C"), stock(B, NET, 150, "L-B"),
                                          stock(A, NET, 200, "L-A")], levels=levels))
    # NYA-DP is at 40 < 100: it needs 260 to reach 300. KIB may give only what is above its maximum (50).
    assert moves(result) == [(A, C, NET, 200), (B, C, NET, 50)]
    assert buys(result) == [(C, NET, 10, TODAY)]


def test_between_minimum_and_maximum_stock_serves_distributions_but_not_top_ups():
    levels = [Level(B, NET, 50, 100)]
    result = planner.plan(world(demands=[event(C, NET, 120, 10)], supplies=[stock(B, NET, 150, "L-B")],
                                levels=levels))
    assert moves(result) == [(B, C, NET, 100)] and buys(result) == [(C, NET, 20, day(10))]


def test_kits_short_as_kits_are_assembled_from_components_and_the_rest_bought():
    result = planner.plan(world(demands=[event(C, KIT, 10, 10)], supplies=[stock(A, BLK, 15, "BLK-1")]))
    assert moves(result) == [(A, C, BLK, 15)]
    assert buys(result) == [(C, BLK, 5, day(10)), (C, SOAP, 10, day(10))]
    kit_short = [ln for ln in result.of_kind("shortfall") if ln.item_id == KIT][0]
    assert "10 to assemble from components" in kit_short.explanation


def test_trucks_are_filled_by_weight_and_a_line_is_split_where_a_truck_is_full():
    truck = planner.TruckSpec("small", Decimal(1000), Decimal(100), Decimal(1))
    items = {BLK: ItemSpec(BLK, "BLK", Decimal(30), Decimal("0.01"))}
    result = planner.plan(world(demands=[event(C, BLK, 60, 10)], supplies=[stock(A, BLK, 60, "BLK-1")],
                                truck=truck, items=items))
    loads = [(ln.truck_load, ln.qty) for ln in result.of_kind("transfer")]
    assert loads == [("1/2", 33), ("2/2", 27)]
    assert result.loads == [{"source": "KGM", "target": "NYA-DP", "dispatch_on": day(8).isoformat(), "trucks": 2,
                             "km": 100.0, "weight_kg": 1800.0, "volume_m3": 0.6, "cost": "200.00"}]


def test_a_road_through_another_warehouse_is_used_when_there_is_no_direct_one():
    roads = [Road(A, B, Decimal(60), 1), Road(B, C, Decimal(50), 1), Road(C, D, Decimal(80), 2)]
    result = planner.plan(world(demands=[event(D, NET, 10, 10, site=S2)], supplies=[stock(A, NET, 10, "L")],
                                roads=roads))
    [line] = result.of_kind("transfer")
    assert line.arrive_on - line.dispatch_on == datetime.timedelta(days=4) and "190 km" in line.explanation


@pytest.mark.smoke
def test_bad_input_names_what_is_missing():
    with pytest.raises(PlanInputError) as err:
        planner.plan(world(demands=[event(D, NET, 10, 10, site=S2)], supplies=[stock(A, NET, 10, "L")],
                           roads=[Road(A, C, Decimal(10), 1)]))
    assert err.value.problems == ["no road between KGM and NDU-DP: add a route (directly or through other warehouses)"]
    with pytest.raises(PlanInputError, match="truck 10 t carries 0 kg"):
        planner.plan(world(truck=planner.TruckSpec("10 t", Decimal(0), Decimal(40), Decimal(2))))
    with pytest.raises(PlanInputError, match="before today"):
        planner.plan(world(horizon=-1))
    weightless = {NET: ItemSpec(NET, "NET")}
    with pytest.raises(PlanInputError, match="item NET has no weight or volume"):
        planner.plan(world(demands=[event(C, NET, 10, 10)], supplies=[stock(A, NET, 10, "L")], items=weightless))


def test_the_same_inputs_give_the_same_plan():
    def inputs():
        return world(demands=[event(C, NET, 80, 10), event(D, NET, 40, 12, site=S2, ref="EV-2")],
                     supplies=[stock(A, NET, 50, "L-A"), stock(B, NET, 50, "L-B"), stock(A, NET, 5, "L-A2")])

    first, second = planner.plan(inputs()), planner.plan(inputs())
    assert first.digest == second.digest
    assert [vars(ln) for ln in first.lines] == [vars(ln) for ln in second.lines]


def test_goods_more_than_a_week_late_are_no_cover_and_are_bought_instead():
    late = Supply(warehouse_id=B, item_id=NET, qty=50, kind=planner.PIPELINE, reference="PIP-1", available_on=day(14))
    result = planner.plan(world(demands=[event(C, NET, 50, 5)], supplies=[late]))
    assert moves(result) == [] and buys(result) == [(C, NET, 50, day(5))]
    assert "at most 7 days late" in result.of_kind("purchase")[0].explanation
