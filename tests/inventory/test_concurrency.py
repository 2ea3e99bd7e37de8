"""Real concurrency on MariaDB: threads posting against the same bins at once."""

import random
import threading

import pytest
from django.db import connection, transaction

from relief.core.services import document_submit
from relief.inventory import checks, selectors, services
from relief.inventory.models import Bin, MovementKind, Reservation, StockLedgerEntry
from relief.inventory.services import InsufficientStock, LineData
from tests.inventory.conftest import draft, receive

THREADS = 16


def run_threads(work, n=THREADS):
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def wrapped(i):
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_sixteen_threads_issue_and_transfer_from_the_same_bins(stock, admin_user):
    for _ in range(3):
        receive(admin_user, stock.main, stock.blanket, 40)
        receive(admin_user, stock.camp, stock.blanket, 20)
    refused = []

    def work(i):
        rng = random.Random(i)
        for _ in range(4):
            kind = rng.choice(["issue", "transfer", "back", "voucher"])
            qty = rng.randint(1, 12)
            try:
                if kind == "voucher":
                    with transaction.atomic():
                        services.stock_issue_for_voucher(
                            warehouse=stock.main, lines=[(stock.blanket, qty)], voucher_type="redemption",
                            voucher_no=f"R-{i}-{rng.random()}", user=admin_user)
                    continue
                if kind == "issue":
                    entry = draft(admin_user, "issue", [LineData(item="BLK", qty=qty, source="KGM")],
                                  purpose="distribution")
                else:
                    source, target = ("KGM", "NYA-FW") if kind == "transfer" else ("NYA-FW", "KGM")
                    entry = draft(admin_user, "transfer",
                                  [LineData(item="BLK", qty=qty, source=source, target=target)])
                document_submit(document=entry, user=admin_user)
            except InsufficientStock:
                refused.append(kind)

    errors = run_threads(work)
    # Only clear refusals may reach a user; never a deadlock or a constraint error.
    assert errors == []
    assert checks.run() == []
    assert not Bin.objects.filter(on_hand__lt=0).exists()
    total = sum(b.on_hand for b in Bin.objects.filter(item=stock.blanket))
    issued = -sum(StockLedgerEntry.objects.filter(item=stock.blanket, kind="issue").values_list("qty", flat=True))
    assert total + issued == 180
    assert issued > 0 and len(refused) < THREADS * 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_over_reserve(stock, admin_user):
    receive(admin_user, stock.main, stock.blanket, 50)
    receive(admin_user, stock.main, stock.blanket, 50)
    granted = []

    def work(i):
        try:
            services.reservation_set(warehouse=stock.main, item=stock.blanket, reference=f"CYC-{i}", qty=15,
                                     user=admin_user)
            granted.append(i)
        except InsufficientStock:
            pass

    assert run_threads(work) == []
    assert len(granted) == 6  # 6 × 15 = 90 of 100; a seventh would over-reserve
    assert sum(Reservation.objects.values_list("qty", flat=True)) == 90
    assert selectors.stock_available(warehouse=stock.main, item=stock.blanket) == 10
    assert checks.run() == []


@pytest.mark.django_db(transaction=True)
def test_one_lot_moved_from_two_warehouses_into_a_bin_nobody_has_made_yet_loses_nothing(stock, admin_user):
    """Two sources lock different bins, so both find the target bin missing and race to create it."""
    from relief.inventory.models import Warehouse

    receive(admin_user, stock.main, stock.blanket, 80)
    lot_id = Bin.objects.get(warehouse=stock.main, item=stock.blanket).lot_id
    other = Warehouse.objects.create(code="NDU-FW", name="Nduta field", kind=Warehouse.Kind.FIELD)

    def move(source, target, qty, no):
        services.stock_post(
            moves=[services.Move(item_id=stock.blanket.pk, qty=qty, source_id=source.pk, target_id=target.pk,
                                 lot_id=lot_id, kind=MovementKind.TRANSFER)],
            voucher_type="test-move", voucher_no=no, user=admin_user)

    move(stock.main, other, 40, "MOVE-0")
    for attempt in range(4):
        target = Warehouse.objects.create(code=f"DP-{attempt}", name=f"Point {attempt}",
                                          kind=Warehouse.Kind.DISTRIBUTION_POINT)

        def work(i, target=target, attempt=attempt):
            move(stock.main if i % 2 else other, target, 1, f"MOVE-{attempt}-{i}")

        assert run_threads(work, n=2) == []
        assert Bin.objects.get(warehouse=target, item=stock.blanket, lot_id=lot_id).on_hand == 2
    assert checks.run() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_receipts_into_a_new_pair_share_nothing_and_all_post(stock, admin_user):
    def work(i):
        receive(admin_user, stock.camp, stock.soap, 5)

    assert run_threads(work, n=8) == []
    assert selectors.stock_available(warehouse=stock.camp, item=stock.soap) == 40
    assert checks.run() == []
