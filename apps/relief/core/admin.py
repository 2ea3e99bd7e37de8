"""The desk: Django's admin, branded Relief, as one more guarded front door.

Every desk page of a model is a ``DeskAdmin`` (the matrix in tests/core/test_desk_matrix.py fails otherwise):

* **scope** — ``scope_queryset`` limits what a user is shown to their sites and warehouses, through the
  package's access helpers; list, change, delete, history and every list action read ``get_queryset``, so
  nothing out of scope is listed, opened, counted, deleted or shown in history;
* **writes** — ``check_write`` is the same access helper the API calls with ``for_write=True``; a change,
  delete or list action on an object it refuses is refused. List actions declare ``allowed_permissions``
  (an action without is never offered) and run per object through ``run_each``, which calls the package's
  service: a refused object is a message, never a change;
* **lookups** — only the declared ``list_filter`` fields and ``date_hierarchy`` may be filtered on (a
  ``?code__regex=`` is refused), so no hidden field becomes a yes/no oracle;
* **secrets** — ``secret_fields`` (card codes, token hashes) appear in no list, filter, search, form or
  history page;
* **history** — the audit trail is read-only: it is shown within scope and can never be posted back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, ClassVar

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin
from axes.admin import AccessLogAdmin as AxesAccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog
from axes.models import AccessLog as AxesAccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import SimpleListFilter
from django.contrib.admin.utils import display_for_field, unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard
from simple_history.admin import SimpleHistoryAdmin

from relief.core import services, signing
from relief.core.documents import DocStatus, Document, DocumentError
from relief.core.models import AccessLog, ApiToken, Block, Job, NamingSeries, Site, StaffProfile
from relief.core.roles import ADMINISTRATOR, CANCEL_ROLES, has_role, require_role

desk = admin.site
desk.site_header = _("Relief")
desk.site_title = _("Relief desk")
desk.index_title = _("Your work")
desk.index_template = "admin/relief/index.html"

# What a declared filter may add to its field path: the parameters Django's own list filters send.
FILTER_SUFFIXES = frozenset({
    "exact", "iexact", "in", "isnull", "gte", "gt", "lte", "lt", "year", "month", "day",
    "id__exact", "id__in", "pk__exact",
})

#: What a service or access helper raises to refuse; the desk shows it as a message and changes nothing.
REFUSALS = (PermissionDenied, ObjectDoesNotExist, ValidationError, DocumentError, ValueError)


def refusal_text(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or _("refused")


class DeskAdmin(SimpleHistoryAdmin):
    """The base of every desk page of a model: scope, write check, allow-listed lookups, secrets, history."""

    #: Fields never shown on any desk page (list, filter, search, form, history).
    secret_fields: ClassVar[tuple[str, ...]] = ()
    object_history_form_template = "admin/relief/history_record.html"

    # --- scope ---------------------------------------------------------------------------------------------

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """The rows this user may see; packages narrow it to the user's sites or warehouses."""
        return queryset

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scope_queryset(request, super().get_queryset(request))

    def check_write(self, request: HttpRequest, obj: Model) -> None:
        """Raise PermissionDenied unless the user may change this object (the package's access helper)."""

    def can_write(self, request: HttpRequest, obj: Model) -> bool:
        try:
            self.check_write(request, obj)
        except (PermissionDenied, ObjectDoesNotExist):
            return False
        return True

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or self.can_write(request, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or self.can_write(request, obj))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        # One by one, so each object's scope and its own delete() guards apply; a refused one stays.
        self.run_each(request, queryset, lambda obj: self.delete_model(request, obj),
                      done=lambda obj, _result: _("%(object)s deleted.") % {"object": obj})

    # --- list actions --------------------------------------------------------------------------------------

    def _filter_actions_by_permissions(self, request, actions):
        # Fail closed: an action that does not say which permission it needs is not offered to anyone.
        declared = [a for a in actions if getattr(a[0], "allowed_permissions", None)]
        return super()._filter_actions_by_permissions(request, declared)

    def run_each(self, request: HttpRequest, queryset: Iterable[Model], act: Callable[[Model], Any], *,
                 done: Callable[[Model, Any], str]) -> int:
        """Run ``act`` (a service call) on each object the user may change; each refusal is a message."""
        changed = 0
        for obj in queryset:
            try:
                self.check_write(request, obj)
                result = act(obj)
            except REFUSALS as exc:
                self.message_user(request, f"{obj}: {refusal_text(exc)}", messages.ERROR)
            else:
                changed += 1
                self.message_user(request, done(obj, result), messages.SUCCESS)
        return changed

    # --- lookups and secrets -------------------------------------------------------------------------------

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        for spec in self.list_filter:
            if isinstance(spec, type) and issubclass(spec, SimpleListFilter):
                if lookup == spec.parameter_name:
                    return True
                continue
            field_path = spec[0] if isinstance(spec, (tuple, list)) else spec
            if field_path.split("__")[0] in self.secret_fields:
                continue
            if lookup == field_path or (lookup.startswith(f"{field_path}__")
                                        and lookup[len(field_path) + 2:] in FILTER_SUFFIXES):
                return True
        if self.date_hierarchy:
            return lookup in {f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day", "gte", "lt")}
        return False

    def _without_secrets(self, names: Iterable[Any]) -> list[Any]:
        return [n for n in names if not (isinstance(n, str) and n.split("__")[0] in self.secret_fields)]

    def get_exclude(self, request: HttpRequest, obj: Model | None = None):
        return [*(super().get_exclude(request, obj) or ()), *self.secret_fields] or None

    def get_fields(self, request: HttpRequest, obj: Model | None = None):
        return self._without_secrets(super().get_fields(request, obj))

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        return self._without_secrets(super().get_readonly_fields(request, obj))

    def get_list_display(self, request: HttpRequest):
        return self._without_secrets(super().get_list_display(request))

    def get_search_fields(self, request: HttpRequest):
        return self._without_secrets(super().get_search_fields(request))

    # --- the audit trail, read-only ------------------------------------------------------------------------

    def revert_disabled(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True

    def _missing(self, request: HttpRequest, object_id: str) -> HttpResponse:
        # Out of scope looks exactly like absent: the same redirect Django's change view gives.
        return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)

    def _has_history(self) -> bool:
        return hasattr(self.model._meta, "simple_history_manager_attribute")

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None) -> HttpResponse:
        if not self._has_history():
            raise Http404(_("This record keeps no audit trail."))
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._missing(request, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True) -> None:
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(current, excluded_fields=self._secret_history_fields(),
                                              foreign_keys_are_objs=foreign_keys_are_objs)
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current

    def _secret_history_fields(self) -> list[str]:
        tracked = {f.name for f in self.model.history.model._meta.fields}
        return [name for name in self.secret_fields if name in tracked]

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context=None) -> HttpResponse:
        """One past version of the record, shown read-only; nothing is ever saved from here."""
        if request.method != "GET":
            raise PermissionDenied(_("The audit trail is read-only: nothing can be saved or reverted from it."))
        if not self._has_history():
            raise Http404(_("This record keeps no audit trail."))
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._missing(request, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        history_model = self.model.history.model
        try:
            record = history_model.objects.select_related("history_user").get(
                **{self.opts.pk.attname: obj.pk, "history_id": int(version_id)})
        except (ValueError, history_model.DoesNotExist):
            raise Http404(_("No such version.")) from None
        tracked = {f.name for f in history_model._meta.fields}
        rows = []
        for field in self.model._meta.concrete_fields:
            if field.name in self.secret_fields or field.name not in tracked:
                continue
            try:
                value = getattr(record, field.name)
            except ObjectDoesNotExist:
                value = getattr(record, field.attname)
            rows.append((field.verbose_name, display_for_field(value, field, "—")))
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(object)s as it was on %(date)s") % {"object": obj, "date": record.history_date},
            "opts": self.opts, "original": obj, "record": record, "rows": rows,
            "history_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_history", args=[obj.pk]),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_form_template, context)


class ReadOnlyAdminMixin:
    """Rows that only services write (postings, logs, jobs): the desk shows them but offers no add, change or
    delete. Put it before the DeskAdmin base; a class that allows one of the three overrides just that method."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why is it cancelled?"), max_length=200, widget=forms.Textarea(
        attrs={"rows": 3, "cols": 60}))

    def clean_reason(self) -> str:
        try:
            return services.cancel_reason_clean(self.cleaned_data["reason"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class DocumentAdmin(DeskAdmin):
    """Admin for a lifecycle document: a draft is editable; submitted and cancelled are read-only.

    Submit and cancel run the package's service (``submit_document`` / ``cancel_document``), after the same
    write check as the API; cancelling is a confirmation page that says what will be reversed and asks why.
    """

    change_form_template = "admin/relief/document_change_form.html"
    actions = ["submit_selected"]
    #: Who may cancel (reverse) a submitted document: README "Who does what".
    cancel_roles: ClassVar[tuple[str, ...]] = CANCEL_ROLES

    def submit_document(self, request: HttpRequest, obj: Document) -> Document:
        """The package's submit service for this document."""
        return services.document_submit(document=obj, user=request.user)

    def cancel_document(self, request: HttpRequest, obj: Document, reason: str) -> Document:
        """The package's cancel service for this document."""
        return services.document_cancel(document=obj, user=request.user, reason=reason)

    def cancel_effects(self, obj: Document) -> list[str]:
        """What cancelling will reverse, in the user's words, for the confirmation page."""
        return [str(_("Everything %(number)s posted is reversed with new rows; the document stays, marked "
                      "cancelled, with your reason.") % {"number": obj.number})]

    def get_readonly_fields(self, request, obj=None):
        base = list(super().get_readonly_fields(request, obj))
        lifecycle = ["number", "status", "created_at", "created_by", "submitted_at", "submitted_by",
                     "cancelled_at", "cancelled_by", "cancel_reason"]
        if obj is not None and obj.status != DocStatus.DRAFT:
            return self._without_secrets([f.name for f in obj._meta.fields] + base)
        return base + [f for f in lifecycle if f not in base]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != DocStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def has_submit_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return self.has_change_permission(request, obj)

    def has_cancel_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return has_role(request.user, *self.cancel_roles) and super().has_change_permission(request, obj) and (
            obj is None or self.can_write(request, obj))

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [path("<path:object_id>/cancel/", self.admin_site.admin_view(self.cancel_view),
                     name=f"{info[0]}_{info[1]}_cancel"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return super().change_view(request, object_id, form_url, extra_context)
        if request.method == "POST" and "_submit" in request.POST:
            if not self.has_submit_permission(request, obj):
                raise PermissionDenied
            if obj.status != DocStatus.DRAFT:
                self.message_user(request, _("%(number)s is %(status)s; only a draft can be submitted.") % {
                    "number": obj.number, "status": obj.get_status_display()}, messages.ERROR)
            else:
                self._submit(request, obj)
            return HttpResponseRedirect(request.path)
        if obj.status != DocStatus.DRAFT:
            if request.method == "POST":
                # A posted document's form is read-only: nothing on it is saved, whatever is posted.
                self.message_user(request, _("%(number)s is %(status)s and cannot be changed.") % {
                    "number": obj.number, "status": obj.get_status_display()}, messages.ERROR)
                return HttpResponseRedirect(request.path)
            extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                             "show_save_and_add_another": False, "show_delete_link": False,
                             "can_cancel": self.has_cancel_permission(request, obj)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _submit(self, request, obj) -> None:
        try:
            self.check_write(request, obj)
            self.submit_document(request, obj)
        except REFUSALS as exc:
            self.message_user(request, f"{obj.number}: {refusal_text(exc)}", messages.ERROR)
        else:
            self.message_user(request, _("%(number)s submitted.") % {"number": obj.number})

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._missing(request, object_id)
        if not self.has_cancel_permission(request, obj):
            raise PermissionDenied(_("Only %(roles)s may cancel a submitted document.") % {
                "roles": ", ".join(str(r) for r in self.cancel_roles)})
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        if obj.status != DocStatus.SUBMITTED:
            self.message_user(request, _("%(number)s is %(status)s; only a submitted document can be cancelled.")
                              % {"number": obj.number, "status": obj.get_status_display()}, messages.ERROR)
            return HttpResponseRedirect(change_url)
        form = CancelForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                self.check_write(request, obj)
                self.cancel_document(request, obj, form.cleaned_data["reason"])
            except REFUSALS as exc:
                form.add_error(None, refusal_text(exc))
            else:
                self.message_user(request, _("%(number)s cancelled; what it posted was reversed.") % {
                    "number": obj.number})
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cancel %(number)s?") % {"number": obj.number},
            "opts": self.opts, "original": obj, "form": form, "effects": self.cancel_effects(obj),
            "change_url": change_url,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/relief/document_cancel.html", context)

    @admin.action(description=_("Submit selected drafts"), permissions=["submit"])
    def submit_selected(self, request, queryset):
        self.run_each(request, queryset.filter(status=DocStatus.DRAFT), lambda obj: self.submit_document(request, obj),
                      done=lambda obj, _result: _("%(number)s submitted.") % {"number": obj.number})


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


class AdministratorsOnly:
    """Pages for Administrators only, whatever model permissions a role's patterns happen to grant."""

    def has_module_permission(self, request):
        return has_role(request.user, ADMINISTRATOR)

    def has_view_permission(self, request, obj=None):
        return has_role(request.user, ADMINISTRATOR)

    def has_add_permission(self, request, *args):
        return has_role(request.user, ADMINISTRATOR) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return has_role(request.user, ADMINISTRATOR) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return has_role(request.user, ADMINISTRATOR) and super().has_delete_permission(request, obj)


@admin.register(Site)
class SiteAdmin(DeskAdmin):
    list_display = ["code", "name", "kind", "region", "planned_capacity", "language"]
    search_fields = ["code", "name"]


@admin.register(Block)
class BlockAdmin(DeskAdmin):
    list_display = ["__str__", "site", "community_leader"]
    list_filter = ["site"]
    search_fields = ["code"]


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    filter_horizontal = ["sites"]


desk.unregister(User)
desk.unregister(Group)


@admin.register(User)
class ReliefUserAdmin(AdministratorsOnly, DeskAdmin, UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "first_name", "last_name", "is_active", "roles"]
    list_filter = ["groups", "is_active"]

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return ", ".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(Group)
class RoleAdmin(AdministratorsOnly, DeskAdmin, GroupAdmin):
    """Roles are synced from each package's roles.py; the desk shows them to Administrators."""


@admin.register(ApiToken)
class ApiTokenAdmin(AdministratorsOnly, DeskAdmin):
    list_display = ["name", "user", "prefix", "event_id", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    secret_fields = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Tokens are issued through the API or `relief token`, which shows the secret once.
        return False

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        self.run_each(request, queryset, lambda token: services.api_token_revoke(token=token),
                      done=lambda token, _result: _("%(token)s revoked.") % {"token": token})


@admin.action(description=_("Retire the signing key of the selected cards (it may have leaked)"),
              permissions=["retire_key"])
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
class JobAdmin(AdministratorsOnly, ReadOnlyAdminMixin, DeskAdmin):
    """Every job, its arguments and result: operations work. Whoever started a job follows it on its own page."""

    list_display = ["kind", "status", "percent", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_delete_permission(self, request, obj=None):
        # Administrators may clear old jobs.
        return has_role(request.user, ADMINISTRATOR) and DeskAdmin.has_delete_permission(self, request, obj)


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, DeskAdmin):
    list_display = ["at", "user", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    readonly_fields = ["at", "user", "action", "object_type", "object_id"]


@admin.register(NamingSeries)
class NamingSeriesAdmin(ReadOnlyAdminMixin, DeskAdmin):
    list_display = ["name", "current"]
    readonly_fields = ["name", "current"]

    def has_change_permission(self, request, obj=None):
        # Kept as Django grants it: both fields are read-only, and holders of only the change permission
        # still see the series.
        return DeskAdmin.has_change_permission(self, request, obj)


# django-axes' login-attempt logs hold usernames (sometimes passwords typed as usernames) and addresses:
# they are operations data for Administrators, not the business record Auditors read.
for _axes_model, _axes_admin in ((AccessAttempt, AccessAttemptAdmin), (AxesAccessLog, AxesAccessLogAdmin),
                                 (AccessFailureLog, AccessFailureLogAdmin)):
    desk.unregister(_axes_model)
    desk.register(_axes_model, type(f"Administrators{_axes_admin.__name__}",
                                    (AdministratorsOnly, DeskAdmin, _axes_admin),
                                    {"__module__": __name__, "actions": []}))


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
