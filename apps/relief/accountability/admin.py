"""The desk's view of feedback cases and PDM samples: read-only lists scoped like the pages.

Cases are taken and worked on the feedback pages (through the services); the desk shows them, and their
history, to whoever may see them: a sensitive case is not in the desk for anyone not named.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404

from relief.accountability import access
from relief.accountability.models import FeedbackCase, PdmInterview, PdmSample
from relief.core.admin import DeskAdmin, ReadOnlyAdminMixin
from relief.core.roles import has_role


@admin.register(FeedbackCase)
class FeedbackCaseAdmin(ReadOnlyAdminMixin, DeskAdmin):
    list_display = ["number", "category", "subject", "status", "sensitive", "site", "due_on", "assigned_to"]
    list_filter = ["status", "category", "subject", "channel"]
    search_fields = ["number", "household__number"]
    date_hierarchy = "received_at"
    raw_id_fields = ["household", "event", "item", "plot", "resolved_by"]

    def scope_queryset(self, request, queryset):
        if not has_role(request.user, *access.READERS):
            return queryset.none()
        return queryset.filter(pk__in=access.cases_visible(request.user).values("pk")).select_related(
            "site", "assigned_to")

    def _require_visible(self, request, object_id) -> None:
        # simple_history falls back to a row's historical records when the queryset hides it: a hidden
        # sensitive case's history must not open that way.
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context=extra_context)


class PdmInterviewInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PdmInterview
    fields = ["position", "household", "stratum", "received_all", "quality", "felt_safe", "minutes_waited"]
    readonly_fields = fields


@admin.register(PdmSample)
class PdmSampleAdmin(ReadOnlyAdminMixin, DeskAdmin):
    list_display = ["number", "event", "size", "population", "seed", "created_at"]
    inlines = [PdmInterviewInline]

    def scope_queryset(self, request, queryset):
        # As the event's report: staff scoped to sites see the samples of their sites' events.
        site_ids = access.site_ids_for(request.user)
        return queryset if site_ids is None else queryset.filter(event__site_id__in=site_ids)
