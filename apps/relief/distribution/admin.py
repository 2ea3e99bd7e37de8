"""The desk for distribution: cycles (a document: rules and sites editable as a draft), events, cards,
redemptions (read-only: they change only through scanning) and the offline-sync follow-up list."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from relief.core.admin import DeskAdmin, DocumentAdmin, DocumentLineInline, ReadOnlyAdminMixin, retire_signing_keys
from relief.core.roles import ADMINISTRATOR, has_role
from relief.distribution import access, services
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


class SiteScoped:
    """Rows of the user's sites only (Distribution Team, Registration Officers); ``site_path`` leads to the site."""

    site_path = "site"

    def scope_queryset(self, request, queryset):
        site_ids = access.site_ids_for(request.user)
        return queryset if site_ids is None else queryset.filter(**{f"{self.site_path}__in": site_ids})


@admin.register(DistributionCycle)
class CycleAdmin(DocumentAdmin):
    list_display = ["number", "name", "period_start", "period_end", "status", "regenerate"]
    list_filter = ["status"]
    search_fields = ["number", "name"]
    inlines = [CycleSiteInline, RuleInline]

    def check_write(self, request, obj):
        access.cycle_for(request.user, obj, for_write=True)

    def submit_document(self, request, obj):
        return services.cycle_submit(cycle=obj, user=request.user)

    def cancel_document(self, request, obj, reason):
        return services.cycle_cancel(cycle=obj, user=request.user, reason=reason)

    def cancel_effects(self, obj):
        return [_t("Its open entitlements are cancelled; households can no longer collect in %(number)s.")
                % {"number": obj.number},
                _t("The stock reserved for it at the distribution points is released."),
                _t("Refused if anything was already handed out, or while one of its events is open.")]

    @admin.display(description=_("entitlements"))
    def regenerate(self, obj):
        if obj.status != "submitted":
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("distribution:cycle-generate", args=[obj.pk]),
                           _("compare with the registry"))


@admin.register(DistributionEvent)
class EventAdmin(SiteScoped, DeskAdmin):
    list_display = ["number", "name", "cycle", "site", "distribution_point", "date", "owed_only", "status"]
    list_filter = ["status", "site", "owed_only"]
    search_fields = ["number", "name"]
    readonly_fields = ["number", "status", "opened_at", "closed_at", "closed_by"]
    filter_horizontal = ["team"]
    actions = ["open_events"]

    def check_write(self, request, obj):
        access.event_manage_for(request.user, obj, for_write=True)

    def save_model(self, request, obj, form, change):
        access.require_site(request.user, obj.site_id)
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

    @admin.action(description=_("Open for scanning (reserves the stock at the point)"), permissions=["change"])
    def open_events(self, request, queryset):
        def done(event, short):
            note = ", ".join(f"{code} short {qty}" for code, qty in short.items())
            return _t("%(number)s open") % {"number": event.number} + (f" ({note})" if note else "")

        self.run_each(request, queryset, lambda event: services.event_open(event=event, user=request.user), done=done)


@admin.register(Card)
class CardAdmin(SiteScoped, DeskAdmin):
    site_path = "household__site"
    list_display = ["serial", "household", "generation", "status", "issued_on"]
    list_filter = ["status"]
    search_fields = ["serial", "household__number"]
    readonly_fields = ["household", "serial", "generation", "status", "issued_on", "key_id", "replaced_by",
                       "status_reason", "status_changed_at"]
    # The QR text is the card itself: whoever reads it can print a working copy.
    secret_fields = ("code",)
    actions = ["replace_lost", "replace_damaged", "revoke", retire_signing_keys]

    def has_add_permission(self, request):
        return False

    def check_write(self, request, obj):
        access.card_for(request.user, obj, for_write=True)

    def has_retire_key_permission(self, request):
        # Retiring a signing key voids every card it signed, in every site: Administrators only.
        return has_role(request.user, ADMINISTRATOR)

    def _replace(self, request, queryset, reason):
        self.run_each(request, queryset,
                      lambda card: services.card_replace(card=card, reason=reason, user=request.user),
                      done=lambda card, new: _t("%(old)s replaced by %(new)s: print it from Print cards.")
                      % {"old": card.serial, "new": new.serial})

    @admin.action(description=_("Replace: card lost"), permissions=["change"])
    def replace_lost(self, request, queryset):
        self._replace(request, queryset, "lost")

    @admin.action(description=_("Replace: card damaged"), permissions=["change"])
    def replace_damaged(self, request, queryset):
        self._replace(request, queryset, "damaged")

    @admin.action(description=_("Revoke without replacement"), permissions=["change"])
    def revoke(self, request, queryset):
        self.run_each(request, queryset,
                      lambda card: services.card_revoke(card=card, user=request.user, note="revoked from the desk"),
                      done=lambda card, _result: _t("%(serial)s revoked.") % {"serial": card.serial})


class RedemptionLineInline(admin.TabularInline):
    model = RedemptionLine
    fields = ["item", "qty_entitled", "qty_handed", "short_reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Redemption)
class RedemptionAdmin(SiteScoped, ReadOnlyAdminMixin, DeskAdmin):
    site_path = "event__site"
    list_display = ["pk", "event", "household", "lane", "collector", "scanned_at", "source", "is_partial"]
    list_filter = ["source", "is_partial", ("event", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["household__number", "client_id"]
    inlines = [RedemptionLineInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_change_permission(self, request, obj=None):
        # Kept as Django grants it: every field is read-only, and holders of only the change permission
        # still see redemptions.
        return DeskAdmin.has_change_permission(self, request, obj)


@admin.register(SyncIssue)
class SyncIssueAdmin(SiteScoped, DeskAdmin):
    site_path = "event__site"
    list_display = ["scanned_at", "event", "kind", "reason", "card_serial", "lane", "resolved_at"]
    list_filter = ["kind", ("event", admin.RelatedOnlyFieldListFilter)]
    readonly_fields = ["event", "client_id", "kind", "reason", "card_serial", "household", "standing", "lane",
                       "scanned_at", "synced_at", "synced_by", "resolved_at", "resolved_by"]

    def has_add_permission(self, request):
        return False

    def check_write(self, request, obj):
        access.sync_issue_for(request.user, obj, for_write=True)

    def save_model(self, request, obj, form, change):
        try:
            services.sync_issue_resolve(issue=access.sync_issue_for(request.user, obj, for_write=True),
                                        user=request.user, resolution=obj.resolution)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
