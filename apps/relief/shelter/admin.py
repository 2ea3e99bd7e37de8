"""The desk: plots are kept here; allocations, the waiting list and plans are read here and changed
on the shelter pages (through the services), which hold the checks and the locks."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from relief.core.admin import DeskAdmin, ReadOnlyAdminMixin
from relief.shelter import access, services
from relief.shelter.models import Allocation, AllocationPlan, Plot, WaitingEntry


class SiteScoped:
    """Registration Officers see the records of their own sites only; readers (Auditors, Logistics Managers)
    see every site, as on the shelter pages."""

    site_path = "site"

    def scope_queryset(self, request, queryset):
        site_ids = access.site_ids_for(request.user) if access.can_write(request.user) else None
        return queryset if site_ids is None else queryset.filter(**{f"{self.site_path}__in": site_ids})


@admin.register(Plot)
class PlotAdmin(SiteScoped, DeskAdmin):
    list_display = ["code", "site", "block", "land_use", "status", "covered_m2", "shelter_type", "accessible",
                    "near_lighting", "near_latrine", "page"]
    list_filter = ["site", "status", "land_use", "shelter_type", "accessible"]
    search_fields = ["code"]
    readonly_fields = ["status"]
    list_select_related = ["site", "block"]

    @admin.display(description=_("allocate, relocate, history"))
    def page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("shelter:plot", args=[obj.site.code, obj.code]), _("open"))

    def check_write(self, request, obj):
        access.site_for(request.user, obj.site.code, for_write=True)

    def save_model(self, request, obj, form, change):
        # A new plot too goes only into the officer's own sites.
        self.check_write(request, obj)
        try:
            services.plot_save(user=request.user, plot=obj)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)


@admin.register(Allocation)
class AllocationAdmin(SiteScoped, ReadOnlyAdminMixin, DeskAdmin):
    site_path = "plot__site"
    list_display = ["number", "plot", "household", "source", "started_at", "ended_at", "end_reason"]
    list_filter = ["plot__site", "source", "end_reason"]
    search_fields = ["number", "plot__code", "household__number"]
    list_select_related = ["plot", "household"]


@admin.register(WaitingEntry)
class WaitingEntryAdmin(SiteScoped, ReadOnlyAdminMixin, DeskAdmin):
    list_display = ["household", "site", "reason", "since", "status"]
    list_filter = ["site", "status", "reason"]
    search_fields = ["household__number"]
    list_select_related = ["household", "site"]


@admin.register(AllocationPlan)
class AllocationPlanAdmin(SiteScoped, ReadOnlyAdminMixin, DeskAdmin):
    list_display = ["number", "site", "status", "waiting_count", "vacant_count", "created_at", "review"]
    list_filter = ["site", "status"]

    @admin.display(description=_("review"))
    def review(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("shelter:plan", args=[obj.number]), _("open"))
