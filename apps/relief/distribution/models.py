"""Distribution: cycles and their entitlement rules, entitlements, events, cards, redemptions.

A card belongs to a household and serves every cycle. An entitlement is what one household
may collect of one item in one cycle; a redemption is the hand-over at an event, and the
unique entitlement on its lines is what makes a second collection impossible.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from relief.core.documents import Document, DocumentLine


class DistributionCycle(Document):
    """A round of distributions: which sites, which items by which rules, over which period."""

    naming_series = "DC-{year}-"

    name = models.CharField(_("name"), max_length=100)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    sites = models.ManyToManyField("core.Site", through="CycleSite", related_name="+", verbose_name=_("sites"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "-created_at"]
        verbose_name = _("distribution cycle")
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="cycle_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.number} · {self.name}"

    def reservation_reference(self, site_code: str) -> str:
        return f"{self.number}/{site_code}"


class CycleSite(DocumentLine):
    """A site the cycle serves, and the distribution point whose stock is reserved for it."""

    document_field = "cycle"

    cycle = models.ForeignKey(DistributionCycle, on_delete=models.CASCADE, related_name="cycle_sites")
    site = models.ForeignKey("core.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, related_name="+", verbose_name=_("distribution point"),
        help_text=_("Stock for this site's entitlements is reserved and issued here."),
    )

    class Meta:
        verbose_name = _("cycle site")
        constraints = [models.UniqueConstraint(fields=["cycle", "site"], name="cycle_site_unique")]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.site_id}"


class Rounding(models.TextChoices):
    UP = "up", _("Round up")
    DOWN = "down", _("Round down")
    NEAREST = "nearest", _("Round to nearest")


ROUNDING_MODES = {Rounding.UP: ROUND_CEILING, Rounding.DOWN: ROUND_FLOOR, Rounding.NEAREST: ROUND_HALF_UP}


class Condition(models.TextChoices):
    ALL = "all", _("Every household")
    FEMALE_HEADED = "female_headed", _("Female-headed households")
    CHILD_HEADED = "child_headed", _("Child-headed households")
    OLDER_PERSON_HEADED = "older_person_headed", _("Older-person-headed households")


class EntitlementRule(DocumentLine):
    """quantity = round(base + per_member × min(size, member_cap)), at most ``max_qty``; for households that qualify.

    Mosquito nets, one per two people: base 0, per member 0.5, round up.
    """

    document_field = "cycle"

    cycle = models.ForeignKey(DistributionCycle, on_delete=models.CASCADE, related_name="rules")
    item = models.ForeignKey(
        "inventory.Item", on_delete=models.PROTECT, related_name="+", verbose_name=_("item or kit"),
        help_text=_("A kit is issued as its kit item."),
    )
    base_qty = models.DecimalField(_("per household"), max_digits=7, decimal_places=2, default=0)
    per_member_qty = models.DecimalField(_("per member"), max_digits=7, decimal_places=2, default=0)
    member_cap = models.PositiveSmallIntegerField(
        _("members counted up to"), null=True, blank=True, help_text=_("Empty: every member counts.")
    )
    max_qty = models.PositiveIntegerField(_("at most"), null=True, blank=True)
    rounding = models.CharField(_("rounding"), max_length=8, choices=Rounding.choices, default=Rounding.UP)
    condition = models.CharField(_("only for"), max_length=20, choices=Condition.choices, default=Condition.ALL)
    min_size = models.PositiveSmallIntegerField(_("minimum household size"), null=True, blank=True)
    max_size = models.PositiveSmallIntegerField(_("maximum household size"), null=True, blank=True)
    site = models.ForeignKey(
        "core.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("only at site")
    )

    class Meta:
        ordering = ["cycle", "pk"]
        verbose_name = _("entitlement rule")
        constraints = [
            models.CheckConstraint(condition=Q(base_qty__gte=0) & Q(per_member_qty__gte=0),
                                   name="rule_quantities_not_negative"),
            models.CheckConstraint(
                condition=Q(min_size__isnull=True) | Q(max_size__isnull=True) | Q(max_size__gte=F("min_size")),
                name="rule_size_bracket_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.base_qty} + {self.per_member_qty}/member"

    def applies_to(self, *, size: int, site_id: int, flags: dict[str, bool]) -> bool:
        if self.site_id is not None and self.site_id != site_id:
            return False
        if self.min_size is not None and size < self.min_size:
            return False
        if self.max_size is not None and size > self.max_size:
            return False
        return self.condition == Condition.ALL or bool(flags.get(self.condition))

    def quantity_for(self, size: int) -> int:
        counted = size if self.member_cap is None else min(size, self.member_cap)
        raw = Decimal(self.base_qty) + Decimal(self.per_member_qty) * counted
        qty = int(raw.quantize(Decimal(1), rounding=ROUNDING_MODES[Rounding(self.rounding)]))
        return qty if self.max_qty is None else min(qty, self.max_qty)


class CycleGeneration(models.Model):
    """One run of entitlement generation: what it added, changed and cancelled."""

    cycle = models.ForeignKey(DistributionCycle, on_delete=models.PROTECT, related_name="generations")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    digest = models.CharField(max_length=64)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("entitlement generation")

    def __str__(self) -> str:
        return f"{self.cycle_id} {self.at:%Y-%m-%d %H:%M}"


class EntitlementStatus(models.TextChoices):
    OPEN = "open", _("Open")
    # Part handed over, the rest owed (the point ran out, or the item was damaged): served by a later event.
    OWED = "owed", _("Partly collected, rest owed")
    REDEEMED = "redeemed", _("Collected")
    CANCELLED = "cancelled", _("Cancelled")


# What a scan may still hand over: an open entitlement in full, an owed one its remainder.
COLLECTABLE = (EntitlementStatus.OPEN, EntitlementStatus.OWED)


class Entitlement(models.Model):
    """What one household may collect of one item in one cycle; ``qty - qty_collected`` is still to collect."""

    cycle = models.ForeignKey(DistributionCycle, on_delete=models.PROTECT, related_name="entitlements")
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+")
    # The site the household was registered at when generated: which event serves it.
    site = models.ForeignKey("core.Site", on_delete=models.PROTECT, related_name="+")
    qty = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(_("status"), max_length=10, choices=EntitlementStatus.choices,
                              default=EntitlementStatus.OPEN)
    qty_collected = models.PositiveIntegerField(_("collected so far"), default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    Status = EntitlementStatus

    class Meta:
        verbose_name = _("entitlement")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "household", "item"], name="entitlement_unique"),
            models.CheckConstraint(condition=Q(qty_collected__lte=F("qty")), name="entitlement_collected_within_qty"),
            # Owed means something is still to collect.
            models.CheckConstraint(condition=~Q(status="owed") | Q(qty_collected__lt=F("qty")),
                                   name="entitlement_owed_has_remainder"),
        ]
        indexes = [models.Index(fields=["cycle", "site", "status"], name="entitlement_cycle_site")]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.household_id}/{self.item_id}"

    @property
    def qty_outstanding(self) -> int:
        return self.qty - self.qty_collected


class EventStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class DistributionEvent(models.Model):
    """A distribution day at a distribution point: its lanes and team."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    cycle = models.ForeignKey(DistributionCycle, on_delete=models.PROTECT, related_name="events",
                              verbose_name=_("cycle"))
    site = models.ForeignKey("core.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    distribution_point = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+",
                                           verbose_name=_("distribution point"))
    date = models.DateField(_("date"))
    lanes = models.PositiveSmallIntegerField(_("lanes"), default=4)
    owed_only = models.BooleanField(_("mop-up: owed items only"), default=False,
                                    help_text=_("Serves only what earlier hand-overs left owed."))
    team = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="distribution_events",
                                  verbose_name=_("team members"))
    status = models.CharField(_("status"), max_length=8, choices=EventStatus.choices, default=EventStatus.PLANNED,
                              db_index=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    history = HistoricalRecords(m2m_fields=[team])

    Status = EventStatus

    class Meta:
        ordering = ["-date", "number"]
        verbose_name = _("distribution event")
        constraints = [models.CheckConstraint(condition=Q(lanes__gte=1), name="event_has_a_lane")]

    def __str__(self) -> str:
        return f"{self.number} · {self.name}"


class EventItem(models.Model):
    """Close-out of one item at an event, from the books: moved to the point (ledger), handed out (redemptions),
    still owed, left over by the books; what staff counted; the loss (books − counted) and what went back."""

    event = models.ForeignKey(DistributionEvent, on_delete=models.PROTECT, related_name="items")
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+")
    planned = models.PositiveIntegerField(_("planned"), default=0)
    moved_in = models.PositiveIntegerField(_("moved to the point"), default=0)
    handed_out = models.PositiveIntegerField(_("handed out"), default=0)
    owed = models.PositiveIntegerField(_("still owed"), default=0)
    left_books = models.PositiveIntegerField(_("left over by the books"), default=0)
    counted = models.PositiveIntegerField(_("counted at the point"), default=0)
    returned = models.PositiveIntegerField(_("returned"), default=0)
    lost = models.PositiveIntegerField(_("lost or damaged"), default=0)
    note = models.CharField(_("explanation"), max_length=200, blank=True)
    return_entry = models.CharField(_("return transfer"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("event item")
        constraints = [models.UniqueConstraint(fields=["event", "item"], name="event_item_unique")]

    def __str__(self) -> str:
        return f"{self.event_id}/{self.item_id}"


class CardStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    LOST = "lost", _("Lost")
    DAMAGED = "damaged", _("Damaged")
    REVOKED = "revoked", _("Revoked")
    REPLACED = "replaced", _("Replaced")


class Card(models.Model):
    """A household's entitlement card. Only an active card verifies; any other status is for good."""

    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="+")
    serial = models.CharField(_("serial"), max_length=20, unique=True, editable=False)
    generation = models.PositiveSmallIntegerField(_("generation"), default=1, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=CardStatus.choices, default=CardStatus.ACTIVE)
    issued_on = models.DateField(_("issued on"), default=timezone.localdate)
    key_id = models.CharField(_("signing key"), max_length=16, editable=False)
    code = models.CharField(_("QR text"), max_length=600, editable=False)
    replaced_by = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                       editable=False)
    status_reason = models.CharField(_("reason"), max_length=200, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # household_id while the card is active, NULL otherwise: the unique index allows one active card per
    # household (MariaDB has no partial unique index; NULLs never collide).
    active_key = models.GeneratedField(
        expression=Case(When(status="active", then=F("household_id")), default=None),
        output_field=models.BigIntegerField(null=True),
        db_persist=True,
    )
    history = HistoricalRecords(excluded_fields=["active_key"])

    Status = CardStatus

    class Meta:
        ordering = ["serial"]
        verbose_name = _("card")
        constraints = [
            models.UniqueConstraint(fields=["active_key"], name="card_one_active_per_household"),
            models.UniqueConstraint(fields=["household", "generation"], name="card_generation_unique"),
        ]

    def __str__(self) -> str:
        return self.serial


class CardPrint(models.Model):
    """Every time a card was printed (first print and reprints)."""

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="prints")
    printed_at = models.DateTimeField(default=timezone.now)
    printed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    batch = models.CharField(_("print batch"), max_length=40)

    class Meta:
        ordering = ["-printed_at"]
        verbose_name = _("card print")
        indexes = [models.Index(fields=["batch"])]

    def __str__(self) -> str:
        return f"{self.card_id} {self.batch}"


class Collector(models.TextChoices):
    HEAD = "head", _("Head of household")
    ALTERNATE = "alternate", _("Registered alternate collector")


class Source(models.TextChoices):
    ONLINE = "online", _("Scanned online")
    OFFLINE = "offline", _("Synced from an offline scanner")


class ExceptionReason(models.TextChoices):
    """Why a household was served without its card being scanned (the exception lane)."""

    FORGOTTEN = "forgotten", _("Card forgotten")
    UNREADABLE = "unreadable", _("QR code unreadable")
    LOST = "lost", _("Card lost (replaced at the table)")
    DAMAGED = "damaged", _("Card damaged (replaced at the table)")
    OTHER = "other", _("Other")


class Redemption(models.Model):
    """A hand-over at an event: who collected what, at which lane, recorded by whom.

    A hand-over by exception (no card scanned) carries its reason and the supervisor who approved it.
    """

    event = models.ForeignKey(DistributionEvent, on_delete=models.PROTECT, related_name="redemptions")
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="+")
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="redemptions")
    # Made by the scanner before sending: a retried request finds the first answer by it.
    client_id = models.CharField(max_length=64, unique=True)
    lane = models.PositiveSmallIntegerField(_("lane"), default=1)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    collector = models.CharField(_("collected by"), max_length=10, choices=Collector.choices, default=Collector.HEAD)
    alternate_collector = models.ForeignKey("households.AlternateCollector", on_delete=models.PROTECT, null=True,
                                            blank=True, related_name="+")
    scanned_at = models.DateTimeField(_("scanned at"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ONLINE)
    is_partial = models.BooleanField(_("partial hand-over"), default=False)
    exception_reason = models.CharField(_("exception: why no card was scanned"), max_length=12, blank=True,
                                        choices=ExceptionReason.choices)
    exception_note = models.CharField(_("exception note"), max_length=200, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("approved by"))

    class Meta:
        ordering = ["-scanned_at"]
        verbose_name = _("redemption")
        indexes = [models.Index(fields=["event", "scanned_at"], name="redemption_event_time")]
        permissions = [("approve_exception", _("Can approve a hand-over without a card scan"))]
        constraints = [
            # No exception without its approver, and the approver is never the one who hands over.
            models.CheckConstraint(condition=Q(exception_reason="") | (Q(approved_by__isnull=False)
                                                                       & ~Q(approved_by=F("user"))),
                                   name="redemption_exception_approved"),
        ]

    def __str__(self) -> str:
        return self.voucher_no

    @property
    def voucher_no(self) -> str:
        return f"RDM-{self.pk}"


class ShortReason(models.TextChoices):
    OUT_OF_STOCK = "out_of_stock", _("Out of stock at the point")
    DECLINED = "declined", _("Declined by the household")
    DAMAGED = "damaged", _("Item damaged")
    OTHER = "other", _("Other")


# Short reasons that leave the rest owed; the others (declined, other) close the entitlement.
OWED_REASONS = (ShortReason.OUT_OF_STOCK, ShortReason.DAMAGED)


class RedemptionLine(models.Model):
    redemption = models.ForeignKey(Redemption, on_delete=models.PROTECT, related_name="lines")
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="redemption_lines")
    # 1 for the first hand-over of an entitlement, 2 for the one that serves what it left owed, …: unique per
    # entitlement, so two hand-overs made from the same reading of it cannot both be recorded (the database's
    # last word against a second collection).
    handover_no = models.PositiveSmallIntegerField(default=1)
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+")
    # What was still to collect when this line was handed over.
    qty_entitled = models.PositiveIntegerField(_("entitled"))
    qty_handed = models.PositiveIntegerField(_("handed over"))
    short_reason = models.CharField(_("reason short"), max_length=15, choices=ShortReason.choices, blank=True)

    class Meta:
        verbose_name = _("redemption line")
        constraints = [
            models.UniqueConstraint(fields=["entitlement", "handover_no"], name="redemption_line_once_per_handover"),
            models.CheckConstraint(condition=Q(qty_handed__lte=F("qty_entitled")), name="redemption_within_entitled"),
            models.CheckConstraint(condition=Q(qty_handed=F("qty_entitled")) | ~Q(short_reason=""),
                                   name="redemption_short_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.redemption_id}/{self.item_id}"


class RedemptionLot(models.Model):
    """Which lots a line was issued from: how each handed-out unit traces back to its donor."""

    line = models.ForeignKey(RedemptionLine, on_delete=models.PROTECT, related_name="lots")
    lot = models.ForeignKey("inventory.Lot", on_delete=models.PROTECT, related_name="+")
    qty = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("redemption lot")

    def __str__(self) -> str:
        return f"{self.line_id}/{self.lot_id}"


class SyncIssue(models.Model):
    """An offline scan the server did not accept: a conflict or a rejection, kept for follow-up."""

    class Kind(models.TextChoices):
        CONFLICT = "conflict", _("Conflict: already collected by another scan")
        REJECTED = "rejected", _("Rejected")

    event = models.ForeignKey(DistributionEvent, on_delete=models.PROTECT, related_name="sync_issues")
    client_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=40)
    card_serial = models.CharField(max_length=20, blank=True)
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    standing = models.ForeignKey(Redemption, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("redemption that stands"))
    lane = models.PositiveSmallIntegerField(default=1)
    scanned_at = models.DateTimeField()
    synced_at = models.DateTimeField(default=timezone.now)
    synced_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    resolution = models.CharField(_("follow-up"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-scanned_at"]
        verbose_name = _("sync issue")

    def __str__(self) -> str:
        return f"{self.kind} {self.card_serial}"


class ApprovalPin(models.Model):
    """A supervisor's PIN for approving exceptions at the table; only its hash is kept."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approval_pin")
    pin_hash = models.CharField(max_length=200)
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("approval PIN")

    def __str__(self) -> str:
        return str(self.user)
