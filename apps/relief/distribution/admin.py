"""The desk for distribution: cycles (a document: rules and sites editable as a draft), events, cards,
redemptions (read-only: they change only through scanning) and the offline-sync follow-up list."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from relief.core.admin import DocumentAdmin, DocumentLineInline, ReadOnlyAdminMixin, retire_signing_keys
from relief.distribution import services
from relief.distribution.models import (
    Card,
    CycleSite,
    DistributionCycle,
    DistributionEvent,
    EntitlementRule,
    Redemption,
    RedemptionLine,
    SyncIssue,
)


class CycleSiteInline(DocumentLineInline):
    model = CycleSite


class RuleInline(DocumentLineInline):
    model = EntitlementRule


@admin.register(DistributionCycle)
class CycleAdmin(DocumentAdmin):
    list_display = ["number", "name", "period_start", "period_end", "status", "regenerate"]
    list_filter = ["status"]
    search_fields = ["number", "name"]
    inlines = [CycleSiteInline, RuleInline]

    @admin.display(description=_("entitlements"))
    def regenerate(self, obj):
        if obj.status != "submitted":
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("distribution:cycle-generate", args=[obj.pk]),
                           _("compare with the registry"))


@admin.register(DistributionEvent)
class EventAdmin(SimpleHistoryAdmin):
    list_display = ["number", "name", "cycle", "site", "distribution_point", "date", "owed_only", "status"]
    list_filter = ["status", "site", "owed_only"]
    search_fields = ["number", "name"]
    readonly_fields = ["number", "status", "opened_at", "closed_at", "closed_by"]
    filter_horizontal = ["team"]
    actions = ["open_events"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            event = services.event_create(cycle=obj.cycle, site=obj.site, name=obj.name, date=obj.date,
                                          lanes=obj.lanes, user=request.user, owed_only=obj.owed_only)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        obj.pk, obj.number, obj.distribution_point = event.pk, event.number, event.distribution_point
        obj._state.adding = False

    @admin.action(description=_("Open for scanning (reserves the stock at the point)"))
    def open_events(self, request, queryset):
        for event in queryset:
            try:
                short = services.event_open(event=event, user=request.user)
            except Exception as exc:  # noqa: BLE001 - shown to the user, nothing is kept
                self.message_user(request, f"{event.number}: {exc}", messages.ERROR)
                continue
            note = ", ".join(f"{code} short {qty}" for code, qty in short.items())
            self.message_user(request, f"{event.number} open" + (f" ({note})" if note else ""))


@admin.register(Card)
class CardAdmin(SimpleHistoryAdmin):
    list_display = ["serial", "household", "generation", "status", "issued_on"]
    list_filter = ["status"]
    search_fields = ["serial", "household__number"]
    readonly_fields = ["household", "serial", "generation", "status", "issued_on", "key_id", "replaced_by",
                       "status_reason", "status_changed_at"]
    exclude = ["code"]
    actions = ["replace_lost", "replace_damaged", "revoke", retire_signing_keys]

    def has_add_permission(self, request):
        return False

    def _replace(self, request, queryset, reason):
        for card in queryset:
            try:
                new = services.card_replace(card=card, reason=reason, user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{card.serial}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("%(old)s replaced by %(new)s: print it from Print cards.")
                                  % {"old": card.serial, "new": new.serial})

    @admin.action(description=_("Replace: card lost"))
    def replace_lost(self, request, queryset):
        self._replace(request, queryset, "lost")

    @admin.action(description=_("Replace: card damaged"))
    def replace_damaged(self, request, queryset):
        self._replace(request, queryset, "damaged")

    @admin.action(description=_("Revoke without replacement"))
    def revoke(self, request, queryset):
        for card in queryset:
            services.card_revoke(card=card, user=request.user, note="revoked from the desk")


class RedemptionLineInline(admin.TabularInline):
    model = RedemptionLine
    fields = ["item", "qty_entitled", "qty_handed", "short_reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "event", "household", "lane", "collector", "scanned_at", "source", "is_partial"]
    list_filter = ["source", "is_partial", "event"]
    search_fields = ["household__number", "client_id"]
    inlines = [RedemptionLineInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_change_permission(self, request, obj=None):
        # Kept as Django grants it: every field is read-only, and holders of only the change permission
        # still see redemptions.
        return admin.ModelAdmin.has_change_permission(self, request, obj)


@admin.register(SyncIssue)
class SyncIssueAdmin(SimpleHistoryAdmin):
    list_display = ["scanned_at", "event", "kind", "reason", "card_serial", "lane", "resolved_at"]
    list_filter = ["kind", "event"]
    readonly_fields = ["event", "client_id", "kind", "reason", "card_serial", "household", "standing", "lane",
                       "scanned_at", "synced_at", "synced_by", "resolved_at", "resolved_by"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        services.sync_issue_resolve(issue=obj, user=request.user, resolution=obj.resolution)
