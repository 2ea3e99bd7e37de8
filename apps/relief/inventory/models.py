"""Inventory: warehouses, items, kits, donors and grants, lots, bins, the stock ledger and its documents.

Balances live in one place only — the bin of an (item, warehouse, lot) — and every change to a bin
is one append-only ledger row written in the same transaction (see ``services.stock_post``).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from relief.core.documents import Document, DocumentError, DocumentLine, DocumentLocked


class Warehouse(models.Model):
    """A place that holds stock, in a tree: region → warehouse → zone.

    Each stock-holding warehouse has its own in-transit child (kind ``transit``) where a waybill's
    goods sit between dispatch and receipt, so "in transit to X" is simply the stock of X's transit child.
    """

    class Kind(models.TextChoices):
        REGION = "region", _("Region (group)")
        MAIN = "main", _("Main warehouse")
        FIELD = "field", _("Field warehouse")
        DISTRIBUTION_POINT = "distribution_point", _("Distribution point")
        ZONE = "zone", _("Zone")
        TRANSIT = "transit", _("In transit")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.FIELD)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    site = models.ForeignKey(
        "core.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="warehouses",
        verbose_name=_("site"),
    )
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("manager"),
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="relief_warehouses", verbose_name=_("warehouse staff"),
        help_text=_("Warehouse Staff who see and post stock here."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(m2m_fields=[staff])

    class Meta:
        ordering = ["code"]
        verbose_name = _("warehouse")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def holds_stock(self) -> bool:
        return self.kind != self.Kind.REGION


class Item(models.Model):
    class Category(models.TextChoices):
        SHELTER = "shelter", _("Shelter")
        NFI = "nfi", _("Non-food item")
        WASH = "wash", _("WASH")
        FOOD = "food", _("Food")

    code = models.CharField(_("code"), max_length=30, unique=True)
    external_code = models.CharField(
        _("external code"), max_length=40, blank=True, db_index=True, help_text=_("Agency catalogue code")
    )
    name = models.CharField(_("name"), max_length=120)
    category = models.CharField(_("category"), max_length=10, choices=Category.choices, default=Category.NFI)
    uom = models.CharField(_("unit of measure"), max_length=20, default="piece")
    pack_size = models.PositiveIntegerField(_("pack size"), default=1, help_text=_("Units per carton or bale"))
    weight_kg = models.DecimalField(_("weight kg per unit"), max_digits=9, decimal_places=3, default=0)
    volume_m3 = models.DecimalField(_("volume m³ per unit"), max_digits=9, decimal_places=4, default=0)
    tracks_batches = models.BooleanField(_("tracks batches"), default=False)
    tracks_expiry = models.BooleanField(_("tracks expiry"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("item")
        constraints = [models.CheckConstraint(condition=Q(pack_size__gte=1), name="item_pack_size_positive")]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Kit(models.Model):
    """A kit item assembled from component items × quantities."""

    item = models.OneToOneField(Item, on_delete=models.PROTECT, related_name="kit", verbose_name=_("kit item"))
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("kit")

    def __str__(self) -> str:
        return str(self.item)


class KitComponent(models.Model):
    kit = models.ForeignKey(Kit, on_delete=models.CASCADE, related_name="components", verbose_name=_("kit"))
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+", verbose_name=_("component"))
    qty = models.PositiveIntegerField(_("quantity per kit"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("kit component")
        constraints = [
            models.UniqueConstraint(fields=["kit", "item"], name="kit_component_unique"),
            models.CheckConstraint(condition=Q(qty__gte=1), name="kit_component_qty_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.qty} × {self.item.code}"


class Donor(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("donor")

    def __str__(self) -> str:
        return self.code


class Grant(models.Model):
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, related_name="grants", verbose_name=_("donor"))
    code = models.CharField(_("code"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    start = models.DateField(_("start"), null=True, blank=True)
    end = models.DateField(_("end"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("grant")
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__isnull=True) | Q(end__gte=F("start")),
                name="grant_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.donor.code})"


CURRENCIES = [("TZS", "TZS"), ("USD", "USD"), ("EUR", "EUR"), ("CHF", "CHF"), ("GBP", "GBP")]


def value_constraints(prefix: str) -> list[models.CheckConstraint]:
    """A value is never negative, and a value always names its currency (and a currency its value)."""
    return [
        models.CheckConstraint(condition=Q(unit_value__isnull=True) | Q(unit_value__gte=0),
                               name=f"{prefix}_unit_value_not_negative"),
        models.CheckConstraint(condition=Q(unit_value__isnull=True, currency="")
                               | (Q(unit_value__isnull=False) & ~Q(currency="")),
                               name=f"{prefix}_value_has_currency"),
    ]


class Lot(models.Model):
    """The unit of traceability created by a receipt (or by assembling kits).

    Its unit value and currency come from the goods received note line that created it, so every unit handed
    out carries a value back to its grant; lots made by kitting have none (a kit's value is not a sum we know).
    """

    code = models.CharField(_("lot"), max_length=50, unique=True)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="lots", verbose_name=_("item"))
    grant = models.ForeignKey(
        Grant, on_delete=models.PROTECT, null=True, blank=True, related_name="lots", verbose_name=_("grant")
    )
    batch = models.CharField(_("batch number"), max_length=40, blank=True)
    expiry = models.DateField(_("expiry"), null=True, blank=True, db_index=True)
    received_date = models.DateField(_("received date"), default=timezone.localdate)
    source = models.CharField(_("source document"), max_length=40, blank=True)
    unit_value = models.DecimalField(_("unit value"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("lot")
        constraints = value_constraints("lot")

    def __str__(self) -> str:
        return self.code


class Bin(models.Model):
    """The running balance of one (item, warehouse, lot): the only place a balance is kept."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="bins")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="bins")
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)

    class Meta:
        verbose_name = _("bin")
        constraints = [
            models.UniqueConstraint(fields=["item", "warehouse", "lot"], name="bin_unique_item_warehouse_lot"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="bin_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="bin_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="bin_reserved_within_on_hand"),
        ]
        indexes = [models.Index(fields=["warehouse", "item"], name="bin_warehouse_item")]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.warehouse_id}/{self.lot_id}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class LedgerAppendOnly(DocumentError):
    pass


class MovementKind(models.TextChoices):
    """What a ledger row means to a donor report; a reversal keeps the kind of the row it negates."""

    RECEIPT = "receipt", _("Received")
    ISSUE = "issue", _("Issued")
    TRANSFER = "transfer", _("Transferred")
    LOSS = "loss", _("Lost / written off")
    ADJUSTMENT = "adjustment", _("Count adjustment")
    KITTING = "kitting", _("Kitting")


class StockLedgerEntry(models.Model):
    """One movement of one (item, warehouse, lot): append-only, never updated or deleted."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    qty = models.IntegerField(_("quantity"), help_text=_("Positive in, negative out"))
    posting_date = models.DateField(_("posting date"))
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now)
    voucher_type = models.CharField(_("voucher type"), max_length=30)
    voucher_no = models.CharField(_("voucher"), max_length=60)
    kind = models.CharField(_("kind"), max_length=10, choices=MovementKind.choices)
    reason = models.CharField(_("reason"), max_length=120, blank=True)
    is_reversal = models.BooleanField(_("reversal"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        verbose_name = _("stock ledger entry")
        verbose_name_plural = _("stock ledger")
        indexes = [
            models.Index(fields=["item", "warehouse", "posting_date"], name="sle_item_wh_date"),
            models.Index(fields=["warehouse", "posting_date"], name="sle_wh_date"),
            models.Index(fields=["voucher_type", "voucher_no"], name="sle_voucher"),
            models.Index(fields=["lot"], name="sle_lot"),
        ]

    def __str__(self) -> str:
        return f"{self.voucher_no} {self.qty:+d}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise LedgerAppendOnly(_("stock ledger rows are never changed; post a reversal"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerAppendOnly(_("stock ledger rows are never deleted; post a reversal"))


class EntryType(models.TextChoices):
    RECEIPT = "receipt", _("Receipt (goods received note)")
    ISSUE = "issue", _("Issue")
    TRANSFER = "transfer", _("Transfer (waybill)")
    KITTING = "kitting", _("Kitting")
    DEKITTING = "dekitting", _("De-kitting")


class IssuePurpose(models.TextChoices):
    DISTRIBUTION = "distribution", _("Distribution")
    LOAN = "loan", _("Loan")
    WRITE_OFF = "write-off", _("Write-off")


class WriteOffReason(models.TextChoices):
    DAMAGED = "damaged", _("Damaged")
    EXPIRED = "expired", _("Expired")
    LOST = "lost", _("Lost")
    STOLEN = "stolen", _("Stolen")


class StockEntry(Document):
    """A receipt, issue, transfer, kitting or de-kitting: posted to the ledger on submit."""

    SERIES: ClassVar[dict[str, str]] = {
        EntryType.RECEIPT: "GRN-{year}-",
        EntryType.ISSUE: "ISS-{year}-",
        EntryType.TRANSFER: "TRF-{year}-",
        EntryType.KITTING: "KIT-{year}-",
        EntryType.DEKITTING: "DKT-{year}-",
    }

    entry_type = models.CharField(_("type"), max_length=10, choices=EntryType.choices)
    posting_date = models.DateField(_("posting date"), default=timezone.localdate)
    purpose = models.CharField(_("purpose"), max_length=15, choices=IssuePurpose.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=WriteOffReason.choices, blank=True)
    grant = models.ForeignKey(
        Grant, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("grant")
    )
    supplier = models.CharField(_("supplier or donor"), max_length=120, blank=True)
    reference = models.CharField(_("waybill / delivery reference"), max_length=60, blank=True)
    remarks = models.TextField(_("remarks"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("stock entry")
        verbose_name_plural = _("stock entries")
        constraints = [
            models.CheckConstraint(
                condition=~Q(purpose="write-off") | ~Q(reason=""), name="stock_entry_write_off_has_reason"
            )
        ]

    def series_prefix(self) -> str:
        return self.SERIES.get(self.entry_type, "SE-{year}-").format(year=self.created_at.year)


class StockEntryLine(DocumentLine):
    document_field = "entry"

    entry = models.ForeignKey(StockEntry, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+", verbose_name=_("item"))
    qty = models.PositiveIntegerField(_("quantity"))
    source = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("from")
    )
    target = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("to")
    )
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("lot"),
        help_text=_("Outgoing lines: leave empty to pick first-expiry-first-out. Receipts: filled on submit."),
    )
    # Receipt lot data.
    batch = models.CharField(_("batch number"), max_length=40, blank=True)
    expiry = models.DateField(_("expiry"), null=True, blank=True)
    expected_qty = models.PositiveIntegerField(_("expected quantity"), null=True, blank=True)
    condition = models.CharField(_("condition notes"), max_length=200, blank=True)
    unit_value = models.DecimalField(_("unit value"), max_digits=14, decimal_places=2, null=True, blank=True,
                                     help_text=_("Receipts: price or donor's value of one unit"))
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, blank=True)

    class Meta:
        verbose_name = _("line")
        constraints = [models.CheckConstraint(condition=Q(qty__gte=1), name="stock_entry_line_qty_positive"),
                       *value_constraints("stock_entry_line")]

    def __str__(self) -> str:
        return f"{self.qty} × {self.item_id}"


class Waybill(models.Model):
    """What left one warehouse for another; the receiver records received, short and damaged."""

    class Status(models.TextChoices):
        IN_TRANSIT = "in_transit", _("In transit")
        RECEIVED = "received", _("Received")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("number"), max_length=40, unique=True)
    entry = models.OneToOneField(StockEntry, on_delete=models.PROTECT, related_name="waybill")
    source = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("from"))
    target = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("to"))
    transit = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IN_TRANSIT)
    truck = models.CharField(_("truck"), max_length=40, blank=True)
    driver = models.CharField(_("driver"), max_length=80, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), default=timezone.now)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    receipt_remarks = models.TextField(_("receipt remarks"), blank=True)
    receipts = models.PositiveSmallIntegerField(
        _("receipts posted"), default=0, editable=False, help_text=_("Counts receipts, including cancelled ones")
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-dispatched_at"]
        verbose_name = _("waybill")

    def __str__(self) -> str:
        return self.number

    @property
    def receipt_voucher(self) -> str:
        """The ledger voucher of the current receipt; a cancelled receipt keeps its own."""
        return f"{self.number}/R{self.receipts}"


class WaybillLine(models.Model):
    waybill = models.ForeignKey(Waybill, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+", verbose_name=_("item"))
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+", verbose_name=_("lot"))
    qty_dispatched = models.PositiveIntegerField(_("dispatched"))
    qty_received = models.PositiveIntegerField(_("received"), null=True, blank=True)
    qty_short = models.PositiveIntegerField(_("short"), null=True, blank=True)
    qty_damaged = models.PositiveIntegerField(_("damaged"), null=True, blank=True)
    remarks = models.CharField(_("remarks"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("waybill line")
        constraints = [
            models.CheckConstraint(
                condition=Q(qty_received__isnull=True)
                | Q(qty_dispatched=F("qty_received") + F("qty_short") + F("qty_damaged")),
                name="waybill_line_received_adds_up",
            )
        ]

    def __str__(self) -> str:
        return f"{self.qty_dispatched} × {self.item_id}"


class Reservation(models.Model):
    """Quantity held at a bin for a planned distribution (reference e.g. a cycle number).

    A reservation of (warehouse, item, reference) is spread over that item's lots first-expiry-first;
    the bins' ``reserved`` is the sum of these rows.
    """

    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="reservations")
    reference = models.CharField(_("reference"), max_length=60)
    qty = models.PositiveIntegerField(_("quantity"))
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        verbose_name = _("reservation")
        constraints = [models.UniqueConstraint(fields=["bin", "reference"], name="reservation_unique_bin_reference")]
        indexes = [models.Index(fields=["reference"], name="reservation_reference")]

    def __str__(self) -> str:
        return f"{self.reference}: {self.qty}"


class PhysicalCount(Document):
    """A count sheet of one warehouse; posting sets every counted bin to its count (an adjustment)."""

    naming_series = "CNT-{year}-"

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    posting_date = models.DateField(_("posting date"), default=timezone.localdate)
    remarks = models.TextField(_("remarks"), blank=True)
    posting_started_at = models.DateTimeField(_("posting started"), null=True, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("physical count")

    def delete(self, *args, **kwargs):
        if self.posting_started_at is not None:
            raise DocumentLocked(_("%(number)s is being posted and cannot be deleted") % {"number": self.number})
        return super().delete(*args, **kwargs)


class PhysicalCountLine(DocumentLine):
    document_field = "count"

    count = models.ForeignKey(PhysicalCount, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+", verbose_name=_("item"))
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+", verbose_name=_("lot"))
    system_qty = models.IntegerField(_("system quantity"), default=0, editable=False)
    counted_qty = models.PositiveIntegerField(_("counted"), null=True, blank=True)
    posted = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("count line")
        constraints = [models.UniqueConstraint(fields=["count", "item", "lot"], name="count_line_unique")]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.lot_id}"

    def _check_editable(self) -> None:
        super()._check_editable()
        # Once chunked posting has begun, the lines are what is being posted.
        if PhysicalCount.objects.filter(pk=self.count_id, posting_started_at__isnull=False).exists():
            raise DocumentLocked(_("the count is being posted; its lines cannot be changed"))


class ReorderLevel(models.Model):
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="reorder_levels", verbose_name=_("item"))
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="reorder_levels", verbose_name=_("warehouse")
    )
    min_qty = models.PositiveIntegerField(_("minimum"))
    max_qty = models.PositiveIntegerField(_("maximum"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reorder level")
        constraints = [
            models.UniqueConstraint(fields=["item", "warehouse"], name="reorder_level_unique"),
            models.CheckConstraint(condition=Q(max_qty__gte=F("min_qty")), name="reorder_level_max_above_min"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.warehouse_id}: {self.min_qty}–{self.max_qty}"
