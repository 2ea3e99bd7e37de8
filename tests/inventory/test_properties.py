"""Property: whatever sequence of postings, every bin equals its ledger and is never negative;
cancelling everything, newest first, brings every bin back to zero."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relief.core.documents import DocumentError
from relief.core.services import document_cancel, document_submit
from relief.inventory import checks, services
from relief.inventory.models import Bin, Waybill
from relief.inventory.services import CountRow, LineData, ReceivedLine
from tests.inventory.conftest import draft

WAREHOUSES = ["KGM", "NYA-FW"]
ITEMS = ["BLK", "SOAP"]
qty = st.integers(min_value=1, max_value=30)
wh = st.sampled_from(WAREHOUSES)
item = st.sampled_from(ITEMS)
operation = st.one_of(
    st.tuples(st.just("receipt"), wh, item, qty),
    st.tuples(st.just("issue"), wh, item, qty),
    st.tuples(st.just("transfer"), wh, item, qty, st.integers(0, 2)),
    st.tuples(st.just("kitting"), wh, st.integers(1, 3)),
    st.tuples(st.just("dekitting"), wh, st.integers(1, 2)),
    st.tuples(st.just("count"), wh, st.integers(-5, 5)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
)


def apply(op, user, stock, done: list):
    """Run one operation; refusals are part of the game. Appends an undo for each thing posted."""
    kind = op[0]
    if kind == "cancel":
        candidates = [u for u in done if u[0] == "doc"]
        if candidates:
            undo = candidates[op[1] % len(candidates)]
            document_cancel(document=undo[1], user=user, reason="entered by mistake")
            done.remove(undo)
        return
    if kind == "count":
        count = services.count_sheet_create(warehouse=stock.main if op[1] == "KGM" else stock.camp, user=user)
        rows = [CountRow(row=n, item=ln.item.code, lot=ln.lot.code, counted=max(ln.system_qty + op[2], 0))
                for n, ln in enumerate(count.lines.select_related("item", "lot"))]
        if not rows:
            return
        services.count_lines_enter(count=count, rows=rows, user=user)
        done.append(("doc", services.count_submit(count=count, user=user, chunk=2)))
        return
    if kind == "receipt":
        expiry = datetime.date(2030, 1, op[3] % 28 + 1)
        entry = draft(user, "receipt", [LineData(item=op[2], qty=op[3], target=op[1], expiry=expiry)],
                      grant=stock.grant.code)
    elif kind == "issue":
        entry = draft(user, "issue", [LineData(item=op[2], qty=op[3], source=op[1])], purpose="distribution")
    elif kind == "transfer":
        target = WAREHOUSES[1 - WAREHOUSES.index(op[1])]
        entry = draft(user, "transfer", [LineData(item=op[2], qty=op[3], source=op[1], target=target)])
    else:
        entry = draft(user, kind, [LineData(item="KIT-CRI", qty=op[2], source=op[1], target=op[1])])
    done.append(("doc", document_submit(document=entry, user=user)))
    if kind == "transfer" and op[4]:
        waybill = Waybill.objects.get(entry=entry)
        lines = [ReceivedLine(line_id=ln.pk, received=ln.qty_dispatched - (1 if op[4] == 2 else 0),
                              short=1 if op[4] == 2 else 0, remarks="fell off the truck")
                 for ln in waybill.lines.all()]
        done.append(("receipt", services.waybill_receive(waybill=waybill, lines=lines, user=user)))


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(ops=st.lists(operation, min_size=1, max_size=12))
def test_random_postings_keep_bins_equal_to_the_ledger(stock, admin_user, ops):
    with transaction.atomic():
        done: list = []
        for op in ops:
            try:
                with transaction.atomic():
                    apply(op, admin_user, stock, done)
            except DocumentError:
                pass  # a refusal (short stock, received transfer...) must leave everything as it was
            assert checks.run() == []
            assert not Bin.objects.filter(on_hand__lt=0).exists()
        for kind, obj in reversed(done):
            if kind == "doc":
                document_cancel(document=obj, user=admin_user, reason="entered by mistake")
            else:
                services.waybill_receipt_cancel(waybill=obj, user=admin_user, reason="undo")
        assert checks.run() == []
        assert list(Bin.objects.exclude(on_hand=0).values_list("on_hand", flat=True)) == []
        transaction.set_rollback(True)
