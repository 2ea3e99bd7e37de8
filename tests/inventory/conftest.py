import datetime

import pytest
from django.utils import timezone

from relief.inventory import services
from relief.inventory.models import Donor, Grant, Item, Kit, KitComponent, Warehouse
from relief.inventory.services import LineData


@pytest.fixture
def stock(db):
    """A main warehouse, a camp warehouse, two items, a kit and a grant, with no stock yet."""
    donor = Donor.objects.create(code="ECHO", name="European Civil Protection and Humanitarian Aid")
    grant = Grant.objects.create(donor=donor, code="ECHO-2026-01")
    other = Grant.objects.create(donor=Donor.objects.create(code="BPRM", name="BPRM"), code="BPRM-2026-07")
    main = Warehouse.objects.create(code="KGM", name="Kigoma main", kind=Warehouse.Kind.MAIN)
    camp = Warehouse.objects.create(code="NYA-FW", name="Nyarugusu field", kind=Warehouse.Kind.FIELD)
    blanket = Item.objects.create(code="BLK", name="Blanket")
    soap = Item.objects.create(code="SOAP", name="Soap bar", tracks_expiry=True)
    kit_item = Item.objects.create(code="KIT-CRI", name="Core relief kit")
    kit = Kit.objects.create(item=kit_item)
    KitComponent.objects.create(kit=kit, item=blanket, qty=2)
    KitComponent.objects.create(kit=kit, item=soap, qty=5)

    class S:
        pass

    s = S()
    s.donor, s.grant, s.other_grant, s.main, s.camp = donor, grant, other, main, camp
    s.blanket, s.soap, s.kit = blanket, soap, kit_item
    return s


def receive(user, warehouse, item, qty, *, grant=None, expiry=None, date=None):
    """Draft and submit a receipt; returns the entry."""
    from relief.core.services import document_submit

    entry = services.stock_entry_create(
        entry_type="receipt", user=user, grant=grant.code if grant else None,
        lines=[LineData(item=item.code, qty=qty, target=warehouse.code,
                        expiry=expiry or (timezone.localdate() + datetime.timedelta(days=365)))],
        posting_date=date,
    )
    return document_submit(document=entry, user=user)


def draft(user, entry_type, lines, **kwargs):
    return services.stock_entry_create(entry_type=entry_type, user=user, lines=lines, **kwargs)
