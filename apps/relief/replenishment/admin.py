"""The desk: roads and trucks, donor earmarks, the pipeline, plans (read-only lines) and purchase requests."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Sum
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from relief.core.admin import DeskAdmin, DocumentAdmin, DocumentLineInline, ReadOnlyAdminMixin
from relief.replenishment import access, services
from relief.replenishment.models import (
    GrantEarmark,
    Pipeline,
    PipelineArrival,
    PipelineLine,
    PlanLine,
    PurchaseRequest,
    PurchaseRequestLine,
    ReplenishmentPlan,
    Route,
    Truck,
)


@admin.register(Route)
class RouteAdmin(DeskAdmin):
    list_display = ["origin", "destination", "distance_km", "lead_days", "notes"]
    list_filter = ["origin", "destination"]
    autocomplete_fields = ["origin", "destination"]


@admin.register(Truck)
class TruckAdmin(DeskAdmin):
    list_display = ["name", "capacity_kg", "capacity_m3", "cost_per_km", "is_default"]


@admin.register(GrantEarmark)
class GrantEarmarkAdmin(DeskAdmin):
    list_display = ["grant", "notes"]
    filter_horizontal = ["sites"]
    autocomplete_fields = ["grant"]


class PipelineLineInline(DocumentLineInline):
    model = PipelineLine
    fields = ["item", "qty", "warehouse", "expected_on", "expiry", "arrived"]
    readonly_fields = ["arrived"]
    autocomplete_fields = ["item", "warehouse"]

    @admin.display(description=_("arrived"))
    def arrived(self, obj):
        return obj.arrivals.aggregate(q=Sum("qty"))["q"] or 0 if obj.pk else 0


@admin.register(Pipeline)
class PipelineAdmin(DocumentAdmin):
    list_display = ["number", "donor", "grant", "stage", "reference", "status", "created_at"]
    list_filter = ["status", "stage", "donor"]
    search_fields = ["number", "reference"]
    inlines = [PipelineLineInline]

    def check_write(self, request, obj):
        access.require_planner(request.user)

    def submit_document(self, request, obj):
        return services.pipeline_submit(pipeline=obj, user=request.user)

    def cancel_document(self, request, obj, reason):
        return services.pipeline_cancel(pipeline=obj, user=request.user, reason=reason)

    def cancel_effects(self, obj):
        return [_t("%(number)s no longer counts as supply in replenishment plans.") % {"number": obj.number}]


@admin.register(PipelineArrival)
class PipelineArrivalAdmin(ReadOnlyAdminMixin, DeskAdmin):
    """Arrivals are recorded through the service, which checks what is still expected."""

    list_display = ["line", "qty", "receipt", "recorded_at", "recorded_by"]
    readonly_fields = ["line", "qty", "receipt", "recorded_at", "recorded_by"]

    def has_delete_permission(self, request, obj=None):
        # Deleting stays as Django grants it (the delete permission).
        return DeskAdmin.has_delete_permission(self, request, obj)


class PlanLineInline(admin.TabularInline):
    model = PlanLine
    extra = 0
    can_delete = False
    fields = ["kind", "item", "warehouse", "source", "qty", "need_by", "dispatch_on", "arrive_on", "truck_load",
              "document", "explanation"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReplenishmentPlan)
class ReplenishmentPlanAdmin(DocumentAdmin):
    list_display = ["number", "status", "horizon_start", "horizon_end", "truck", "page", "created_at"]
    list_filter = ["status"]
    search_fields = ["number"]
    readonly_fields = ["horizon_start", "horizon_end", "truck", "digest", "summary"]
    inlines = [PlanLineInline]

    def has_add_permission(self, request):
        # A plan is computed, never typed: "Run a plan" on the plans page or `relief plan-replenishment`.
        return False

    def check_write(self, request, obj):
        access.plan_for(request.user, obj.number, for_write=True)

    def submit_document(self, request, obj):
        return services.plan_submit(plan=obj, user=request.user)

    def cancel_document(self, request, obj, reason):
        return services.plan_cancel(plan=obj, user=request.user, reason=reason)

    def cancel_effects(self, obj):
        return [_t("%(number)s is marked cancelled. The draft transfers and purchase requests it made stay as "
                   "drafts: delete the ones no longer wanted.") % {"number": obj.number}]

    @admin.display(description=_("page"))
    def page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("replenishment:plan", args=[obj.number]), _("open"))


class PurchaseRequestLineInline(DocumentLineInline):
    model = PurchaseRequestLine
    fields = ["item", "qty", "unit_price", "need_by", "explanation"]
    autocomplete_fields = ["item"]


@admin.register(PurchaseRequest)
class PurchaseRequestAdmin(DocumentAdmin):
    list_display = ["number", "supplier", "warehouse", "need_by", "total", "currency", "approver_role", "status",
                    "created_at"]
    readonly_fields = ["total", "total_usd", "approver_role"]
    list_filter = ["status", "warehouse"]
    search_fields = ["number", "plan"]
    inlines = [PurchaseRequestLineInline]

    def check_write(self, request, obj):
        access.purchase_request_for(request.user, obj.number, for_write=True)

    def submit_document(self, request, obj):
        return services.purchase_request_submit(request=obj, user=request.user)

    def cancel_document(self, request, obj, reason):
        return services.purchase_request_cancel(request=obj, user=request.user, reason=reason)

    def cancel_effects(self, obj):
        return [_t("%(number)s is marked cancelled: nothing is to be bought for it.") % {"number": obj.number}]
