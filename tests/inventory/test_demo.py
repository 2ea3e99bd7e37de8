import datetime
import io

import pytest
from django.utils import timezone

from relief.inventory import checks, demo, selectors
from relief.inventory.models import Lot, Warehouse, Waybill


@pytest.mark.smoke
def test_demo_spreads_stock_and_keeps_the_ledger_exact(users):
    demo.load(households=100, stdout=io.StringIO())
    assert checks.run() == []
    for code in ("NYA-FW", "NDU-FW", "MTE-FW"):
        assert selectors.warehouse_stock_summary(warehouse=Warehouse.objects.get(code=code))
    assert Waybill.objects.filter(status="in_transit").exists()
    soonest = Lot.objects.filter(expiry__isnull=False).order_by("expiry").first().expiry
    assert soonest < timezone.localdate() + datetime.timedelta(days=60)
    assert set(Warehouse.objects.filter(kind="distribution_point").values_list("site__code", flat=True)) == {
        "NYA", "NDU", "MTE"}
    demo.load(households=100, stdout=io.StringIO())  # a second run changes nothing
    assert checks.run() == []
