"""The inventory desk: master data, documents (read-only once submitted), read-only ledger and balances.

Warehouse Staff see and post only at their warehouses: querysets, choices and saves are scoped here.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from relief.core.admin import DeskAdmin, DocumentAdmin, DocumentLineInline, ReadOnlyAdminMixin
from relief.core.roles import ADMINISTRATOR, AUDITOR, CANCEL_ROLES, LOGISTICS_MANAGER, has_role
from relief.inventory import access, services
from relief.inventory.models import (
    Bin,
    Donor,
    Grant,
    Item,
    Kit,
    KitComponent,
    Lot,
    PhysicalCount,
    PhysicalCountLine,
    ReorderLevel,
    Reservation,
    StockEntry,
    StockEntryLine,
    StockLedgerEntry,
    Warehouse,
    Waybill,
    WaybillLine,
)


class ReadOnlyAdmin(ReadOnlyAdminMixin, DeskAdmin):
    """Balances, ledger rows and lots are written by postings only."""


class ScopedMixin:
    """Rows limited to the warehouses the user may see; ``warehouse_lookups`` name the paths to a warehouse."""

    warehouse_lookups: tuple[str, ...] = ("warehouse",)
    #: Also show rows the user created (a draft has no lines yet).
    own_rows = False

    def scope_queryset(self, request, queryset):
        if has_role(request.user, ADMINISTRATOR, LOGISTICS_MANAGER, AUDITOR):
            return queryset
        visible = access.warehouses_visible(request.user)
        scope = Q(created_by=request.user) if self.own_rows else Q(pk__in=[])
        for lookup in self.warehouse_lookups:
            scope |= Q(**{f"{lookup}__in": visible})
        return queryset.filter(pk__in=queryset.filter(scope).values("pk"))


@admin.register(Warehouse)
class WarehouseAdmin(ScopedMixin, DeskAdmin):
    warehouse_lookups = ("pk",)
    list_display = ["code", "name", "kind", "parent", "site", "manager", "is_active", "links"]
    list_filter = ["kind", "site", "is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["staff"]
    autocomplete_fields = ["parent"]

    def check_write(self, request, obj):
        access.warehouse_for(request.user, obj, for_write=True)

    @admin.display(description=_("stock"))
    def links(self, obj):
        if obj.kind in (Warehouse.Kind.REGION, Warehouse.Kind.TRANSIT):
            return ""
        return format_html('<a href="{}?warehouse={}">{}</a>', reverse("inventory:stock-summary"), obj.code,
                           _("Stock summary"))


class KitComponentInline(admin.TabularInline):
    model = KitComponent
    extra = 1
    autocomplete_fields = ["item"]


@admin.register(Item)
class ItemAdmin(DeskAdmin):
    list_display = ["code", "external_code", "name", "category", "uom", "pack_size", "weight_kg", "volume_m3",
                    "tracks_expiry", "is_active"]
    list_filter = ["category", "tracks_expiry", "is_active"]
    search_fields = ["code", "external_code", "name"]


@admin.register(Kit)
class KitAdmin(DeskAdmin):
    list_display = ["item", "components_list"]
    inlines = [KitComponentInline]
    autocomplete_fields = ["item"]

    @admin.display(description=_("components"))
    def components_list(self, obj):
        return ", ".join(str(c) for c in obj.components.select_related("item"))


@admin.register(Donor)
class DonorAdmin(DeskAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Grant)
class GrantAdmin(DeskAdmin):
    list_display = ["code", "donor", "title", "start", "end", "report"]
    list_filter = ["donor"]
    search_fields = ["code", "title"]

    @admin.display(description=_("donor report"))
    def report(self, obj):
        return format_html('<a href="{}?grant={}">{}</a>', reverse("inventory:donor-report"), obj.code,
                           _("Donor report"))


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ["code", "item", "grant", "batch", "expiry", "received_date", "source", "unit_value", "currency"]
    list_filter = ["grant", "item__category"]
    search_fields = ["code", "batch", "item__code"]
    date_hierarchy = "received_date"


@admin.register(Bin)
class BinAdmin(ScopedMixin, ReadOnlyAdmin):
    list_display = ["item", "warehouse", "lot", "on_hand", "reserved", "available"]
    list_filter = ["warehouse"]
    search_fields = ["item__code", "lot__code"]
    list_select_related = ["item", "warehouse", "lot"]


@admin.register(StockLedgerEntry)
class StockLedgerEntryAdmin(ScopedMixin, ReadOnlyAdmin):
    list_display = ["posting_date", "voucher_no", "voucher_type", "kind", "item", "warehouse", "lot", "qty",
                    "reason", "is_reversal", "created_by"]
    list_filter = ["kind", "voucher_type", "is_reversal", "warehouse"]
    search_fields = ["voucher_no", "item__code", "lot__code"]
    list_select_related = ["item", "warehouse", "lot", "created_by"]
    date_hierarchy = "posting_date"


@admin.register(Reservation)
class ReservationAdmin(ScopedMixin, ReadOnlyAdmin):
    warehouse_lookups = ("bin__warehouse",)
    list_display = ["reference", "bin", "qty", "updated_at", "updated_by"]
    search_fields = ["reference"]


@admin.register(ReorderLevel)
class ReorderLevelAdmin(ScopedMixin, DeskAdmin):
    list_display = ["item", "warehouse", "min_qty", "max_qty"]
    list_filter = ["warehouse"]
    autocomplete_fields = ["item", "warehouse"]

    def check_write(self, request, obj):
        access.warehouse_for(request.user, obj.warehouse, for_write=True)


class PostableChoices:
    """Warehouse choices limited to where the user posts."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Warehouse:
            kwargs["queryset"] = access.warehouses_postable(request.user).exclude(kind__in=["region", "transit"])
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class StockEntryLineInline(PostableChoices, DocumentLineInline):
    model = StockEntryLine
    fields = ["item", "qty", "source", "target", "lot", "batch", "expiry", "expected_qty", "condition", "unit_value",
              "currency"]
    autocomplete_fields = ["item", "lot"]


@admin.register(StockEntry)
class StockEntryAdmin(ScopedMixin, DocumentAdmin):
    warehouse_lookups = ("lines__source", "lines__target")
    own_rows = True
    list_display = ["number", "entry_type", "status", "posting_date", "purpose", "grant", "supplier", "created_by"]
    list_filter = ["entry_type", "status", "purpose"]
    search_fields = ["number", "reference", "supplier"]
    date_hierarchy = "posting_date"
    inlines = [StockEntryLineInline]
    fields = ["number", "status", "entry_type", "posting_date", "purpose", "reason", "grant", "supplier", "reference",
              "remarks", "printouts", "created_by", "submitted_at", "submitted_by", "cancelled_at", "cancel_reason"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "printouts"]

    @admin.display(description=_("printouts"))
    def printouts(self, obj):
        if obj is None or not obj.pk:
            return ""
        links = [(reverse("inventory:entry-pdf", args=[obj.number]), _("PDF"))]
        waybill = Waybill.objects.filter(entry=obj).first()
        if waybill is not None:
            links += [(reverse("inventory:waybill-pdf", args=[waybill.number]), _("Waybill %s") % waybill.number),
                      (reverse("inventory:waybill-receive", args=[waybill.number]), _("Receive"))]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    def check_write(self, request, obj):
        access.entry_for(request.user, obj, for_write=True)

    def submit_document(self, request, obj):
        return services.stock_entry_submit(entry=obj, user=request.user)

    def cancel_document(self, request, obj, reason):
        return services.stock_entry_cancel(entry=obj, user=request.user, reason=reason)

    def cancel_effects(self, obj):
        return _ledger_effects(services.VOUCHER_ENTRY, obj.number) + (
            [_t("Its waybill is cancelled: the goods are no longer in transit.")]
            if Waybill.objects.filter(entry=obj, status=Waybill.Status.IN_TRANSIT).exists() else [])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Lines are saved after the entry: a Warehouse Staff draft naming someone else's warehouse is refused.
        self.check_write(request, form.instance)


class WaybillLineInline(admin.TabularInline):
    model = WaybillLine
    extra = 0
    can_delete = False
    fields = ["item", "lot", "qty_dispatched", "qty_received", "qty_short", "qty_damaged", "remarks"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _ledger_effects(voucher_type: str, voucher_no: str) -> list[str]:
    """Each (item, warehouse) the voucher moved, and the reversing quantity cancelling will post."""
    rows = (StockLedgerEntry.objects.filter(voucher_type=voucher_type, voucher_no=voucher_no)
            .values("item__code", "warehouse__code").annotate(qty=Sum("qty")).order_by("item__code", "warehouse__code"))
    effects = [_t("%(item)s at %(warehouse)s: %(qty)+d posted, %(back)+d posted back") % {
        "item": row["item__code"], "warehouse": row["warehouse__code"], "qty": row["qty"], "back": -row["qty"]}
        for row in rows if row["qty"]]
    return effects or [_t("Nothing was posted to the ledger; only the status changes.")]


@admin.register(Waybill)
class WaybillAdmin(ScopedMixin, DeskAdmin):
    warehouse_lookups = ("source", "target")
    list_display = ["number", "entry", "source", "target", "status", "dispatched_at", "received_at", "links"]
    list_filter = ["status", "target", "source"]
    search_fields = ["number", "entry__number", "truck"]
    inlines = [WaybillLineInline]
    fields = ["number", "entry", "source", "target", "status", "truck", "driver", "dispatched_at", "received_at",
              "received_by", "receipt_remarks", "links"]
    actions = ["cancel_receipt"]

    def get_readonly_fields(self, request, obj=None):
        locked = [f for f in self.fields if f not in ("truck", "driver")]
        if obj is not None and obj.status != Waybill.Status.IN_TRANSIT:
            return list(self.fields)
        return locked

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def check_write(self, request, obj):
        # Truck and driver are kept by either end; a receipt is only ever cancelled at the target (below).
        if not (access.can_post_at(request.user, obj.source) or access.can_post_at(request.user, obj.target)):
            raise PermissionDenied(_t("You do not work at %(code)s.") % {"code": obj.target.code})

    def has_cancel_receipt_permission(self, request, obj=None):
        return has_role(request.user, *CANCEL_ROLES) and self.has_change_permission(request, obj)

    @admin.display(description=_("documents"))
    def links(self, obj):
        return format_html('<a href="{}">{}</a> · <a href="{}">{}</a>',
                           reverse("inventory:waybill-pdf", args=[obj.number]), _("PDF"),
                           reverse("inventory:waybill-receive", args=[obj.number]), _("Receipt"))

    @admin.action(description=_("Cancel the receipt of selected waybills (goods back in transit)"),
                  permissions=["cancel_receipt"])
    def cancel_receipt(self, request, queryset):
        reason = _t("receipt entered wrongly; cancelled in the desk by %(user)s") % {"user": request.user}
        self.run_each(request, queryset,
                      lambda waybill: services.waybill_receipt_cancel(
                          waybill=access.waybill_for(request.user, waybill, for_write=True), user=request.user,
                          reason=reason),
                      done=lambda waybill, _result: _t("%(number)s is in transit again.") % {
                          "number": waybill.number})


class PhysicalCountLineInline(DocumentLineInline):
    model = PhysicalCountLine
    extra = 0
    fields = ["item", "lot", "system_qty", "counted_qty", "posted"]
    readonly_fields = ["system_qty", "posted"]
    autocomplete_fields = ["item", "lot"]


@admin.register(PhysicalCount)
class PhysicalCountAdmin(PostableChoices, ScopedMixin, DocumentAdmin):
    list_display = ["number", "warehouse", "status", "posting_date", "lines_count", "created_by"]
    list_filter = ["status", "warehouse"]
    search_fields = ["number"]
    inlines = [PhysicalCountLineInline]
    fields = ["number", "status", "warehouse", "posting_date", "remarks", "sheet", "posting_started_at",
              "created_by", "submitted_at", "submitted_by", "cancelled_at", "cancel_reason"]

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "sheet", "posting_started_at"]
        if obj is not None:
            fields.append("warehouse")
        return fields

    @admin.display(description=_("lines"))
    def lines_count(self, obj):
        return obj.lines.count()

    @admin.display(description=_("count sheet"))
    def sheet(self, obj):
        if obj is None or not obj.pk:
            return _("Saved with a line for every lot on hand.")
        return format_html(
            '<a href="{0}">{1}</a> · <a href="{0}?format=pdf">{2}</a> · <a href="{3}">{4}</a>',
            reverse("inventory:count-sheet", args=[obj.pk]), _("XLSX"), _("PDF"),
            reverse("inventory:count-upload", args=[obj.pk]), _("Upload the filled-in sheet"))

    def check_write(self, request, obj):
        access.warehouse_for(request.user, obj.warehouse, for_write=True)

    def cancel_document(self, request, obj, reason):
        return services.count_cancel(count=obj, user=request.user, reason=reason)

    def cancel_effects(self, obj):
        return _ledger_effects(services.VOUCHER_COUNT, obj.number)

    def save_model(self, request, obj, form, change):
        access.warehouse_for(request.user, obj.warehouse, for_write=True)
        super().save_model(request, obj, form, change)
        if not change:
            services.count_sheet_fill(count=obj)

    def submit_document(self, request, obj):
        # A count of thousands of lines posts in chunks on a worker; the job page shows progress.
        request._relief_job = services.count_submit_start(count=obj, user=request.user)
        return obj

    def _submit(self, request, obj) -> None:
        super()._submit(request, obj)
        if getattr(request, "_relief_job", None) is not None:
            self.message_user(request, _("Posting %(number)s: follow it on the job page.") % {"number": obj.number})

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        return self._to_job(request, response)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self._to_job(request, super().change_view(request, object_id, form_url, extra_context))

    def _to_job(self, request, response):
        job = getattr(request, "_relief_job", None)
        return HttpResponseRedirect(reverse("job", args=[job.pk])) if job is not None else response


