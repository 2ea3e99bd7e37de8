"""Demo stock: Kigoma main warehouse, a field warehouse and a distribution point per camp, the core relief
items, a core-relief kit, ECHO and BPRM grants, receipts and transfers so stock is spread, and some lots
that expire soon. Everything is posted through the services, so the ledger is the real thing."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from relief.core.models import Site
from relief.core.services import document_submit
from relief.inventory import services
from relief.inventory.models import Donor, Grant, Item, Kit, KitComponent, ReorderLevel, Warehouse, Waybill
from relief.inventory.services import LineData, ReceivedLine

# code, external (catalogue) code, name, category, unit, pack size, kg, m³, tracks expiry
ITEMS = [
    ("BLANKET", "HSHEBLANW150", "Blanket, woven, 150 × 200 cm", "nfi", "piece", 40, "1.500", "0.0060", False),
    ("SLEEP-MAT", "HSHEMATS180", "Sleeping mat, plastic, 180 × 90 cm", "nfi", "piece", 50, "0.800", "0.0040", False),
    ("MOSQ-NET", "HMOSNETLLIN", "Mosquito net, long-lasting insecticidal, family size", "nfi", "piece", 50,
     "0.650", "0.0030", True),
    ("TARP-4X6", "HSHETARP4X6", "Tarpaulin, woven plastic, 4 × 6 m", "shelter", "piece", 5, "4.600", "0.0080",
     False),
    ("JERRYCAN-20", "WWSTJCAN20F", "Jerrycan, foldable, 20 L", "wash", "piece", 50, "0.300", "0.0030", False),
    ("BUCKET-14", "WWSTBUCK14L", "Bucket with lid, 14 L", "wash", "piece", 20, "0.600", "0.0150", False),
    ("KITCHEN-SET", "HKITKITCB01", "Kitchen set, type B (5 people)", "nfi", "set", 4, "5.500", "0.0300", False),
    ("SOLAR-LAMP", "ELIGLAMPSOL", "Solar lamp with phone charger", "nfi", "piece", 24, "0.400", "0.0010", False),
    ("SOAP-BAR", "HSOASOAP250", "Soap, bathing, 250 g bar", "wash", "bar", 72, "0.250", "0.0003", True),
]
# A household kit for five people (FIELD.md): per kit.
KIT = [("BLANKET", 5), ("SLEEP-MAT", 3), ("MOSQ-NET", 3), ("TARP-4X6", 2), ("JERRYCAN-20", 1), ("BUCKET-14", 1),
       ("KITCHEN-SET", 1), ("SOLAR-LAMP", 1), ("SOAP-BAR", 10)]
# What one unit cost on the goods received note (catalogue prices, approx.): ECHO's shipments were bought
# locally and priced in Tanzanian shillings, BPRM's in US dollars.
UNIT_PRICE_USD = {"BLANKET": "6.80", "SLEEP-MAT": "3.10", "MOSQ-NET": "4.25", "TARP-4X6": "14.50",
                  "JERRYCAN-20": "3.90", "BUCKET-14": "4.60", "KITCHEN-SET": "27.00", "SOLAR-LAMP": "11.40",
                  "SOAP-BAR": "0.35"}
TZS_PER_USD = 2500
DONOR_CURRENCY = {"ECHO": "TZS", "BPRM": "USD"}


def unit_price(code: str, currency: str) -> Decimal:
    usd = Decimal(UNIT_PRICE_USD[code])
    return (usd * TZS_PER_USD).quantize(Decimal(1)) if currency == "TZS" else usd


def _warehouses(manager: User | None, staff: User | None) -> dict[str, Warehouse]:
    region, _ = Warehouse.objects.get_or_create(code="KIGOMA", defaults={
        "name": "Kigoma region", "kind": Warehouse.Kind.REGION})
    made = {"KIGOMA": region}
    made["KGM-MAIN"], _ = Warehouse.objects.get_or_create(code="KGM-MAIN", defaults={
        "name": "Kigoma main warehouse", "kind": Warehouse.Kind.MAIN, "parent": region,
        "latitude": "-4.876900", "longitude": "29.626700", "manager": manager})
    for site in Site.objects.filter(code__in=["NYA", "NDU", "MTE"]).order_by("code"):
        field, _ = Warehouse.objects.get_or_create(code=f"{site.code}-FW", defaults={
            "name": f"{site.name} field warehouse", "kind": Warehouse.Kind.FIELD, "parent": region, "site": site,
            "latitude": site.latitude, "longitude": site.longitude, "manager": manager})
        point, _ = Warehouse.objects.get_or_create(code=f"{site.code}-DP1", defaults={
            "name": f"{site.name} distribution point 1", "kind": Warehouse.Kind.DISTRIBUTION_POINT,
            "parent": field, "site": site, "latitude": site.latitude, "longitude": site.longitude})
        made[field.code], made[point.code] = field, point
    if staff is not None:
        for code in ("KGM-MAIN", "NYA-FW", "NYA-DP1"):
            if code in made:
                made[code].staff.add(staff)
    return made


def _submit(entry, user):
    return document_submit(document=entry, user=user)


def load(*, households: int, stdout) -> None:
    if Warehouse.objects.filter(code="KGM-MAIN").exists():
        stdout.write("inventory demo: already loaded")
        return
    manager = User.objects.filter(username="manager").first()
    staff = User.objects.filter(username="warehouse").first()
    user = manager or User.objects.filter(is_superuser=True).first()
    today = timezone.localdate()
    kits = max(households // 5, 60)  # households served by the demo's stock, in kit-sized lots

    with transaction.atomic():
        warehouses = _warehouses(manager, staff)
        items = {}
        for code, external, name, category, uom, pack, kg, m3, expiry in ITEMS:
            items[code], _ = Item.objects.get_or_create(code=code, defaults={
                "external_code": external, "name": name, "category": category, "uom": uom, "pack_size": pack,
                "weight_kg": kg, "volume_m3": m3, "tracks_expiry": expiry, "tracks_batches": expiry})
        kit_item, _ = Item.objects.get_or_create(code="KIT-CRI-5", defaults={
            "external_code": "KCRIHOUS5P", "name": "Core relief kit, household of 5", "category": "nfi",
            "uom": "kit", "weight_kg": "27.700", "volume_m3": "0.1000"})
        kit, _ = Kit.objects.get_or_create(item=kit_item, defaults={"notes": "Standard household kit, 5 people"})
        for code, qty in KIT:
            KitComponent.objects.get_or_create(kit=kit, item=items[code], defaults={"qty": qty})
        echo = Donor.objects.create(code="ECHO", name="European Civil Protection and Humanitarian Aid Operations")
        bprm = Donor.objects.create(code="BPRM", name="US Bureau of Population, Refugees, and Migration")
        grants = {
            "ECHO": Grant.objects.create(donor=echo, code="ECHO/-AF/BUD/2026/91012", title="Emergency NFI response",
                                         start=today - datetime.timedelta(days=200),
                                         end=today + datetime.timedelta(days=165)),
            "BPRM": Grant.objects.create(donor=bprm, code="PRM-TZ-2026-0417", title="Camp shelter and WASH",
                                         start=today - datetime.timedelta(days=150),
                                         end=today + datetime.timedelta(days=215)),
        }

    def expiry(code: str, days: int):
        return today + datetime.timedelta(days=days) if items[code].tracks_expiry else None

    # Two shipments per donor into the main warehouse, weeks apart; the first soap lot expires soon.
    for donor, age, share, soap_days in (("ECHO", 120, 0.6, 25), ("BPRM", 90, 0.5, 400), ("ECHO", 45, 0.4, 540),
                                         ("BPRM", 20, 0.5, 700)):
        lines = [LineData(item=code, qty=max(int(kits * qty * share), 10), target="KGM-MAIN",
                          expiry=expiry(code, soap_days if code == "SOAP-BAR" else 900),
                          batch=f"{donor[:2]}{age:03d}-{n}" if items[code].tracks_batches else "",
                          expected_qty=max(int(kits * qty * share), 10), condition="good",
                          unit_value=unit_price(code, DONOR_CURRENCY[donor]), currency=DONOR_CURRENCY[donor])
                 for n, (code, qty) in enumerate(KIT, start=1)]
        entry = services.stock_entry_create(
            entry_type="receipt", lines=lines, user=user, grant=grants[donor].code, supplier=donor,
            reference=f"DN-{donor}-{age:03d}", posting_date=today - datetime.timedelta(days=age))
        _submit(entry, user)

    # Assemble kits at the main warehouse from the ECHO grant.
    _submit(services.stock_entry_create(
        entry_type="kitting", user=user, grant=grants["ECHO"].code, posting_date=today - datetime.timedelta(days=30),
        lines=[LineData(item=kit_item.code, qty=max(kits // 6, 10), source="KGM-MAIN", target="KGM-MAIN")]), user)

    # Main → each camp's field warehouse; received, the Nyarugusu truck with one damaged carton of soap.
    for n, camp in enumerate(("NYA", "NDU", "MTE")):
        share = (0.25, 0.2, 0.1)[n]
        lines = [LineData(item=code, qty=max(int(kits * qty * share), 5), source="KGM-MAIN", target=f"{camp}-FW")
                 for code, qty in KIT]
        entry = _submit(services.stock_entry_create(entry_type="transfer", lines=lines, user=user,
                                                    posting_date=today - datetime.timedelta(days=15 - n)), user)
        waybill = Waybill.objects.get(entry=entry)
        Waybill.objects.filter(pk=waybill.pk).update(truck=f"T {312 + n * 7} DKL", driver="")
        received = []
        for line in waybill.lines.select_related("item"):
            damaged = min(items["SOAP-BAR"].pack_size, line.qty_dispatched) \
                if camp == "NYA" and line.item.code == "SOAP-BAR" and not received else 0
            received.append(ReceivedLine(line_id=line.pk, received=line.qty_dispatched - damaged, damaged=damaged,
                                         remarks="one carton wet and torn" if damaged else ""))
        services.waybill_receive(waybill=waybill, lines=received, user=user,
                                 remarks="received at the gate, counted by pallet")

    # Field warehouse → distribution point for the coming Nyarugusu distribution; the Nduta truck is on the road.
    for camp, arrive in (("NYA", True), ("NDU", False)):
        lines = [LineData(item=code, qty=max(int(kits * qty * 0.05), 2), source=f"{camp}-FW", target=f"{camp}-DP1")
                 for code, qty in KIT]
        entry = _submit(services.stock_entry_create(entry_type="transfer", lines=lines, user=user), user)
        if arrive:
            waybill = Waybill.objects.get(entry=entry)
            services.waybill_receive(waybill=waybill, user=user, lines=[
                ReceivedLine(line_id=ln.pk, received=ln.qty_dispatched) for ln in waybill.lines.all()])

    # A write-off of stolen lamps, and reorder levels at the field warehouses.
    _submit(services.stock_entry_create(
        entry_type="issue", purpose="write-off", reason="stolen", user=user, remarks="police report KSL/114/2026",
        lines=[LineData(item="SOLAR-LAMP", qty=3, source="NDU-FW")]), user)
    for code in ("NYA-FW", "NDU-FW", "MTE-FW"):
        for item_code, qty in KIT:
            ReorderLevel.objects.get_or_create(item=items[item_code], warehouse=warehouses[code],
                                               defaults={"min_qty": qty * 20, "max_qty": qty * 100})
    stdout.write(f"inventory demo: {len(warehouses)} warehouses, {len(items) + 1} items, 2 donors; "
                 f"stock received, kitted and spread to the camps")
