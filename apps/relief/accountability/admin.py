"""The desk's view of feedback cases and PDM samples: read-only lists scoped like the pages.

Cases are taken and worked on the feedback pages (through the services); the desk shows them, and their
history, to whoever may see them: a sensitive case is not in the desk for anyone not named.
"""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from relief.accountability import access
from relief.accountability.models import FeedbackCase, PdmInterview, PdmSample
from relief.core.admin import ReadOnlyAdminMixin
from relief.core.roles import has_role


@admin.register(FeedbackCase)
class FeedbackCaseAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "category", "subject", "status", "sensitive", "site", "due_on", "assigned_to"]
    list_filter = ["status", "category", "subject", "channel"]
    search_fields = ["number", "household__number"]
    date_hierarchy = "received_at"
    raw_id_fields = ["household", "event", "item", "plot", "resolved_by"]

    def get_queryset(self, request):
        if not has_role(request.user, *access.READERS):
            return FeedbackCase.objects.none()
        return access.cases_visible(request.user).select_related("site", "assigned_to")


class PdmInterviewInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PdmInterview
    fields = ["position", "household", "stratum", "received_all", "quality", "felt_safe", "minutes_waited"]
    readonly_fields = fields


@admin.register(PdmSample)
class PdmSampleAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "event", "size", "population", "seed", "created_at"]
    inlines = [PdmInterviewInline]
