"""The registry in the desk: read-only lists and records for Registration Officers and Administrators.

Changes go through the registry pages (and so through the services); Auditors, whose role reads
every model, see counts on the summary page instead of names here. There is no search box: a name
typed into it would travel in the URL.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from relief.core.admin import DeskAdmin, ReadOnlyAdminMixin
from relief.core.services import access_log_record
from relief.households import access
from relief.households.models import AlternateCollector, DuplicateCandidate, Household, Member


class RegistryAdmin(ReadOnlyAdminMixin, DeskAdmin):
    def has_module_permission(self, request):
        return access.can_see_personal(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return access.can_see_personal(request.user) and super().has_view_permission(request, obj)

    site_path = "site_id"

    def scope_queryset(self, request, qs):
        site_ids = access.site_ids_for(request.user)
        return qs if site_ids is None else qs.filter(**{f"{self.site_path}__in": site_ids})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_view_permission(request, obj):
            access_log_record(user=request.user, object_type=self.log_type, object_id=self.log_id(obj),
                              action="desk-view")
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_view_permission(request, obj):
            access_log_record(user=request.user, object_type=self.log_type, object_id=self.log_id(obj),
                              action="desk-history")
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        obj = self.get_object(request, object_id) if request.method == "GET" else None
        if obj is not None and self.has_view_permission(request, obj):
            access_log_record(user=request.user, object_type=self.log_type, object_id=self.log_id(obj),
                              action="desk-history")
        return super().history_form_view(request, object_id, version_id, extra_context)


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    can_delete = False
    fields = ["given_name", "family_name", "sex", "date_of_birth", "age_estimated", "relationship", "is_head",
              "active", "has_disability"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Household)
class HouseholdAdmin(RegistryAdmin):
    list_display = ["number", "site", "block", "status", "size", "female_headed", "child_headed",
                    "older_person_headed", "registered_on", "card_link"]
    list_filter = ["site", "status", "female_headed", "child_headed", "older_person_headed"]
    list_select_related = ["site", "block"]
    inlines = [MemberInline]
    log_type = "household"

    def log_id(self, obj):
        return obj.number

    @admin.display(description=_("card"))
    def card_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("households:card", args=[obj.number]), _("open"))


@admin.register(Member)
class MemberAdmin(RegistryAdmin):
    list_display = ["__str__", "household", "sex", "relationship", "is_head", "active", "has_disability"]
    list_filter = ["sex", "relationship", "is_head", "active", "has_disability"]
    list_select_related = ["household"]
    site_path = "household__site_id"
    log_type = "household"

    def log_id(self, obj):
        return obj.household.number


@admin.register(AlternateCollector)
class AlternateCollectorAdmin(RegistryAdmin):
    list_display = ["__str__", "household", "relationship", "active"]
    list_filter = ["active"]
    site_path = "household__site_id"
    log_type = "household"

    def log_id(self, obj):
        return obj.household.number


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(RegistryAdmin):
    list_display = ["household_a", "household_b", "score", "status", "found_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    site_path = "household_a__site_id"
    log_type = "duplicate"

    def log_id(self, obj):
        return str(obj.pk)
