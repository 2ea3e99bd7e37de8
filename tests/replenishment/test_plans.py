"""Plans from the real tables: entitlements less reservations, free stock, earmarks, submit, bad input."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from relief.core.documents import DocStatus
from relief.core.services import document_submit
from relief.inventory import services as inventory
from relief.inventory.models import Bin, StockEntry, StockLedgerEntry
from relief.replenishment import services
from relief.replenishment.models import LineKind, Pipeline, PipelineLine, PurchaseRequest, ReplenishmentPlan, Route


def lines(plan, kind):
    return sorted((ln.source.code if ln.source_id else None, ln.warehouse.code, ln.item.code, ln.qty, ln.need_by)
                  for ln in plan.lines.filter(kind=kind).select_related("source", "warehouse", "item"))


@pytest.mark.django_db
def test_the_net_round_gets_free_echo_nets_from_main_and_buys_what_earmarks_and_reservations_hold_back(logistics):
    w = logistics
    # Five ECHO nets at main are held for something else: they are not free.
    inventory.reservation_set(warehouse=w.main, item=w.net, reference="OTHER", qty=5, user=w.users["admin"])
    plan = services.plan_create(user=w.users["manager"], horizon_days=30)
    day = w.event.date
    # 30 entitled − 8 reserved at the point = 22 short; 10 ECHO nets free at main; BPRM's 20 are for Nduta only.
    assert lines(plan, LineKind.SHORTFALL) == [(None, "NYA-DP1", "MOSQ-NET", 22, day)]
    assert lines(plan, LineKind.TRANSFER) == [("KGM-MAIN", "NYA-DP1", "MOSQ-NET", 10, day)]
    assert lines(plan, LineKind.PURCHASE) == [(None, "NYA-DP1", "MOSQ-NET", 12, day)]
    transfer = plan.lines.get(kind=LineKind.TRANSFER)
    assert transfer.dispatch_on == day - datetime.timedelta(days=2) and transfer.arrive_on == day
    assert [lot for lot, _qty in transfer.lots] and all(lot.startswith("GRN-") for lot, _q in transfer.lots)
    assert w.event.number in transfer.explanation and "145 km" in transfer.explanation
    assert lines(plan, LineKind.SURPLUS) == [(None, "KGM-MAIN", "MOSQ-NET", 20, w.today)]


@pytest.mark.django_db
def test_goods_in_the_pipeline_arriving_in_time_replace_the_purchase(logistics):
    w = logistics
    pipeline = Pipeline.objects.create(donor=w.echo.donor, grant=w.echo, stage="ordered", reference="PO-1")
    PipelineLine.objects.create(pipeline=pipeline, item=w.net, qty=50, warehouse=w.main,
                                expected_on=w.today + datetime.timedelta(days=3))
    document_submit(document=pipeline, user=w.users["manager"])
    plan = services.plan_create(user=w.users["manager"], horizon_days=30)
    assert lines(plan, LineKind.PURCHASE) == []
    assert sum(q for _s, _w, _i, q, _d in lines(plan, LineKind.TRANSFER)) == 22
    line = PipelineLine.objects.get()
    services.pipeline_arrival_record(line=line, qty=45, receipt="GRN-2026-00099", user=w.users["manager"])
    with pytest.raises(ValidationError, match="only 5 of 50 are still expected"):
        services.pipeline_arrival_record(line=line, qty=6, receipt="GRN-2026-00100", user=w.users["manager"])


@pytest.mark.django_db
def test_submitting_drafts_the_transfer_and_the_purchase_request_and_moves_no_stock(logistics):
    w = logistics
    plan = services.plan_create(user=w.users["manager"], horizon_days=30)
    bins = list(Bin.objects.order_by("pk").values_list("pk", "on_hand", "reserved"))
    rows = StockLedgerEntry.objects.count()
    plan = document_submit(document=plan, user=w.users["manager"])
    assert plan.status == DocStatus.SUBMITTED
    entry = StockEntry.objects.get(reference=plan.number)
    assert entry.status == DocStatus.DRAFT and entry.entry_type == "transfer"
    assert [(ln.source.code, ln.target.code, ln.item.code, ln.lot.grant.code)
            for ln in entry.lines.select_related("source", "target", "item", "lot__grant")] == [
        ("KGM-MAIN", "NYA-DP1", "MOSQ-NET", "ECHO-2026-01")]
    assert sum(entry.lines.values_list("qty", flat=True)) == 15
    request = PurchaseRequest.objects.get(plan=plan.number)
    assert (request.warehouse, request.need_by, request.status) == (w.nya, w.event.date, DocStatus.DRAFT)
    assert list(request.lines.values_list("item__code", "qty")) == [("MOSQ-NET", 7)]
    assert set(plan.lines.filter(kind__in=["transfer", "purchase"]).values_list("document", flat=True)) == {
        entry.number, request.number}
    assert list(Bin.objects.order_by("pk").values_list("pk", "on_hand", "reserved")) == bins
    assert StockLedgerEntry.objects.count() == rows
    # The warehouse submits the draft transfer: the nets go on the road, as planned.
    document_submit(document=entry, user=w.users["admin"])
    assert Bin.objects.filter(warehouse__code="NYA-DP1-TR").values_list("on_hand", flat=True).get() == 15


@pytest.mark.django_db
def test_the_same_data_gives_the_same_plan(logistics):
    first = services.plan_create(user=None, horizon_days=30)
    second = services.plan_create(user=None, horizon_days=30)
    fields = ["kind", "item_id", "warehouse_id", "source_id", "qty", "need_by", "dispatch_on", "arrive_on", "lots",
              "explanation", "truck_load", "cost"]
    assert first.digest == second.digest
    assert list(first.lines.order_by("pk").values_list(*fields)) == list(second.lines.order_by("pk").values_list(
        *fields))


@pytest.mark.django_db
def test_bad_input_is_refused_naming_what_is_missing_and_nothing_is_saved(logistics):
    w = logistics
    Route.objects.filter(destination=w.nya).delete()
    with pytest.raises(ValidationError) as err:
        services.plan_create(user=None, horizon_days=30)
    assert err.value.message_dict["plan"] == [
        "no road between KGM-MAIN and NYA-DP1: add a route (directly or through other warehouses)"]
    with pytest.raises(ValidationError, match="in the past"):
        services.plan_create(user=None, horizon_days=-3)
    w.truck.capacity_kg = 0
    w.truck.save()
    with pytest.raises(ValidationError, match="truck Scania 10 t carries 0 kg"):
        services.plan_create(user=None, horizon_days=30)
    assert not ReplenishmentPlan.objects.exists()


@pytest.mark.django_db
def test_the_command_plans_writes_xlsx_and_refuses_a_past_horizon(logistics, tmp_path, capsys):
    out = tmp_path / "plan.xlsx"
    call_command("plan_replenishment", "--horizon-days", "30", "--out", str(out))
    printed = capsys.readouterr().out
    assert "1 shortfalls" in printed and "KGM-MAIN" in printed
    sheet = load_workbook(out)["Plan"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("Kind", "Item", "Warehouse", "From", "Quantity")
    assert ("Transfer", "MOSQ-NET", "NYA-DP1", "KGM-MAIN", 15) in [r[:5] for r in rows]
    with pytest.raises(CommandError, match="--horizon-days: the horizon ends on .* in the past"):
        call_command("plan_replenishment", "--horizon-days", "-1")
    with pytest.raises(CommandError, match="unknown truck 'Bedford'"):
        call_command("plan_replenishment", "--truck", "Bedford")
