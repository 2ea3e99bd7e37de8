"""The desk: Django's admin, branded Relief, with the document lifecycle built in."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard
from simple_history.admin import SimpleHistoryAdmin

from relief.core import services, signing
from relief.core.documents import DocStatus, DocumentError
from relief.core.models import AccessLog, ApiToken, Block, Job, NamingSeries, Site, StaffProfile
from relief.core.roles import ADMINISTRATOR, has_role, require_role

desk = admin.site
desk.site_header = _("Relief")
desk.site_title = _("Relief desk")
desk.index_title = _("Your work")
desk.index_template = "admin/relief/index.html"


class ReadOnlyAdminMixin:
    """Rows that only services write (postings, logs, jobs): the desk shows them but offers no add, change or
    delete. Put it before the ModelAdmin base; a class that allows one of the three overrides just that method."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DocumentAdmin(SimpleHistoryAdmin):
    """Admin for a lifecycle document: a draft is editable; submitted and cancelled are read-only."""

    change_form_template = "admin/relief/document_change_form.html"
    actions = ["submit_selected"]

    def get_readonly_fields(self, request, obj=None):
        base = list(super().get_readonly_fields(request, obj))
        lifecycle = ["number", "status", "created_at", "created_by", "submitted_at", "submitted_by",
                     "cancelled_at", "cancelled_by", "cancel_reason"]
        if obj is not None and obj.status != DocStatus.DRAFT:
            return [f.name for f in obj._meta.fields] + base
        return base + [f for f in lifecycle if f not in base]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != DocStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        if queryset.exclude(status=DocStatus.DRAFT).exists():
            raise PermissionDenied(_("Only drafts can be deleted."))
        # One by one, so each document's own delete() guards (and its lines' checks) apply.
        for document in queryset:
            document.delete()

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def can_submit(self, request, obj) -> bool:
        return self.has_change_permission(request, obj)

    def response_change(self, request, obj):
        for flag, action in (("_submit", self._submit), ("_cancel", self._cancel)):
            if flag in request.POST:
                action(request, obj)
                return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # On a submitted document the form is read-only, so the buttons post here directly.
        if request.method == "POST" and ("_submit" in request.POST or "_cancel" in request.POST):
            obj = self.get_object(request, object_id)
            if obj is None or not self.has_change_permission(request, obj):
                raise PermissionDenied
            (self._submit if "_submit" in request.POST else self._cancel)(request, obj)
            return HttpResponseRedirect(request.path)
        obj = self.get_object(request, object_id)
        if obj is not None and obj.status != DocStatus.DRAFT:
            # Nothing on a posted document can be saved: only Cancel (reverse) is offered.
            extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                             "show_save_and_add_another": False, "show_delete_link": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def _submit(self, request, obj) -> None:
        try:
            services.document_submit(document=obj, user=request.user)
        except (DocumentError, ValueError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, _("%(number)s submitted.") % {"number": obj.number})

    def _cancel(self, request, obj) -> None:
        try:
            services.document_cancel(document=obj, user=request.user, reason=request.POST.get("cancel_reason", ""))
        except (DocumentError, ValueError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, _("%(number)s cancelled; its postings were reversed.") % {"number": obj.number})

    @admin.action(description=_("Submit selected drafts"))
    def submit_selected(self, request, queryset):
        for obj in queryset.filter(status=DocStatus.DRAFT):
            self._submit(request, obj)


class DocumentLineInline(admin.TabularInline):
    """Lines of a document: editable only while it is a draft."""

    extra = 1

    def _parent_locked(self, obj) -> bool:
        return obj is not None and obj.status != DocStatus.DRAFT

    def has_add_permission(self, request, obj=None):
        return not self._parent_locked(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._parent_locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._parent_locked(obj) and super().has_delete_permission(request, obj)


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "region", "planned_capacity", "language"]
    search_fields = ["code", "name"]


@admin.register(Block)
class BlockAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "site", "community_leader"]
    list_filter = ["site"]
    search_fields = ["code"]


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    filter_horizontal = ["sites"]


desk.unregister(User)


@admin.register(User)
class ReliefUserAdmin(UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "first_name", "last_name", "is_active", "roles"]
    list_filter = ["groups", "is_active"]

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return ", ".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(ApiToken)
class ApiTokenAdmin(SimpleHistoryAdmin):
    list_display = ["name", "user", "prefix", "event_id", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Tokens are issued through the API or `relief token`, which shows the secret once.
        return False

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            services.api_token_revoke(token=token)
        self.message_user(request, _("Revoked."))


@admin.action(description=_("Retire the signing key of the selected cards (it may have leaked)"))
def retire_signing_keys(modeladmin, request, queryset):
    """For any list whose rows carry a ``key_id`` (cards): Administrators retire those keys, as
    ``relief retire-key`` does; every card they signed then verifies as invalid (retired_key)."""
    require_role(request.user, ADMINISTRATOR)
    for kid in sorted(set(queryset.values_list("key_id", flat=True))):
        try:
            signing.key_retire(kid)
        except signing.SigningKeyError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
        else:
            modeladmin.message_user(request, _("Key %(kid)s retired: replace and reprint the cards it signed.")
                                    % {"kid": kid})


@admin.register(Job)
class JobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["kind", "status", "percent", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_delete_permission(self, request, obj=None):
        # Deleting stays as Django grants it: holders of the delete permission may clear old jobs.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "user", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    readonly_fields = ["at", "user", "action", "object_type", "object_id"]


@admin.register(NamingSeries)
class NamingSeriesAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "current"]
    readonly_fields = ["name", "current"]

    def has_change_permission(self, request, obj=None):
        # Kept as Django grants it: both fields are read-only, and holders of only the change permission
        # still see the series.
        return admin.ModelAdmin.has_change_permission(self, request, obj)


class AdministratorQueueAdmin(QueueAdmin):
    """django-rq's dashboard lets its user empty queues and stop jobs: Administrators only, not every staff user."""

    def has_module_permission(self, request):
        return has_role(request.user, ADMINISTRATOR)

    def has_view_permission(self, request, obj=None):
        return has_role(request.user, ADMINISTRATOR)

    def has_change_permission(self, request, obj=None):
        return has_role(request.user, ADMINISTRATOR)

    def get_urls(self):
        patterns = super().get_urls()
        for pattern in patterns:
            pattern.callback = _administrators_only(pattern.callback)
        return patterns


def _administrators_only(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        # Anonymous users go on to the admin's own login redirect.
        if request.user.is_authenticated:
            require_role(request.user, ADMINISTRATOR)
        return view(request, *args, **kwargs)

    return guarded


desk.unregister(Dashboard)
desk.register(Dashboard, AdministratorQueueAdmin)
