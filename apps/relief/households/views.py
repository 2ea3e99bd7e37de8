"""Registry pages in the desk. Names and numbers typed by users travel in POST bodies, never in URLs."""

from __future__ import annotations

import csv
import io
import json
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.utils import ErrorDict
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from relief.core import uploads
from relief.core.escape import sheet_row
from relief.core.files import private_file, private_write
from relief.core.jobs import job_start
from relief.core.models import Job
from relief.core.roles import ADMINISTRATOR, has_role
from relief.core.services import access_log_record
from relief.households import access, convoy, duplicates, selectors, services
from relief.households.forms import (
    CollectorForm,
    CommitForm,
    ConvoyCommitForm,
    ConvoyForm,
    HouseholdForm,
    ImportForm,
    LifecycleForm,
    MemberForm,
    SearchForm,
    StatusForm,
)
from relief.households.importer import ImportFileError, Mapping, files_dir
from relief.households.models import AlternateCollector, DuplicateCandidate, Member


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, problems in exc.message_dict.items():
            messages.error(request, f"{field}: {' '.join(problems)}")
    else:
        messages.error(request, " ".join(exc.messages))


@login_required
def search(request: HttpRequest) -> HttpResponse:
    site_ids = access.require_identity(request.user)
    personal = access.can_see_personal(request.user)
    form = SearchForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        found = selectors.household_search(query=form.cleaned_data["q"], site_ids=site_ids)
        for household in found:
            access_log_record(user=request.user, object_type="household", object_id=household.number,
                              action="search" if personal else "search-identity")
        results = [{"household": h, "identity": selectors.household_identity(h),
                    "head": next((m for m in h.members.all() if m.is_head and m.active), None)} for h in found]
    return render(request, "households/search.html", {
        "form": form, "results": results, "personal": personal, "title": _("Find a household")})


@login_required
def card(request: HttpRequest, number: str) -> HttpResponse:
    if not access.can_see_personal(request.user):
        household = access.household_for(request.user, number, personal=False)
        return render(request, "households/identity.html", {
            "identity": selectors.household_identity(household), "household": household,
            "title": household.number})
    household = access.household_for(request.user, number)
    context = selectors.household_card(household)
    context.update({
        "title": household.number, "member_form": MemberForm(), "lifecycle_form": LifecycleForm(),
        "status_form": StatusForm(
            initial={"status": household.status}), "collector_form": CollectorForm(),
        "details_form": HouseholdForm(initial=_household_initial(household)),
    })
    return render(request, "households/card.html", context)


def _household_initial(household) -> dict:
    initial = {name: getattr(household, name) for name in (
        "origin_country", "origin_province", "origin_commune", "origin_village", "language", "phone",
        "unhcr_group_id", "government_id", "registered_on", "consent_given_by", "consent_date")}
    initial.update(site=household.site.code, block=household.block.code if household.block_id else "",
                   consent_purposes=household.consent_purpose_list)
    return initial


@login_required
def register(request: HttpRequest) -> HttpResponse:
    access.require_personal(request.user)
    form = HouseholdForm(request.POST or None, prefix="household",
                         initial={"registered_on": timezone.localdate(), "consent_date": timezone.localdate()})
    head = MemberForm(request.POST or None, prefix="head", head=True)
    if request.method == "POST" and form.is_valid() and head.is_valid():
        access.require_site(request.user, form.cleaned_data["site"])
        fields = head.service_fields()
        fields["relationship"] = "head"
        try:
            household = services.household_register(user=request.user, fields=form.service_fields(),
                                                    members=[fields])
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("%(number)s registered.") % {"number": household.number})
            return redirect("households:card", number=household.number)
    return render(request, "households/register.html", {"form": form, "head": head,
                                                         "title": _("Register a household")})


def _household_for_change(request: HttpRequest, number: str):
    household = access.household_for(request.user, number, for_write=True, action="change")
    access.require_site(request.user, household.site)
    return household


@login_required
@require_POST
def change(request: HttpRequest, number: str) -> HttpResponse:
    household = _household_for_change(request, number)
    form = HouseholdForm(request.POST)
    if not form.is_valid():
        for field, problems in form.errors.items():
            messages.error(request, f"{field}: {' '.join(problems)}")
        return redirect("households:card", number=number)
    access.require_site(request.user, form.cleaned_data["site"])
    try:
        services.household_update(user=request.user, household=household, fields=form.service_fields())
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Saved."))
    return redirect("households:card", number=number)


@login_required
@require_POST
def set_status(request: HttpRequest, number: str) -> HttpResponse:
    household = _household_for_change(request, number)
    form = StatusForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"status": [_("choose a status")]})
        services.household_set_status(user=request.user, household=household, status=form.cleaned_data["status"])
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("households:card", number=number)


@login_required
@require_POST
def lifecycle(request: HttpRequest, number: str) -> HttpResponse:
    """The household leaves, moves to another site or comes back, with everything it holds."""
    household = _household_for_change(request, number)
    form = LifecycleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({k: list(v) for k, v in form.errors.items()})
        action, note = form.cleaned_data["action"], form.cleaned_data["note"]
        if action == "reactivate":
            services.household_reactivate(user=request.user, household=household)
        elif action == "transferred":
            site = form.cleaned_data["site"]
            if site is None:
                raise ValidationError({"site": [_("choose the site it moves to")]})
            access.require_site(request.user, site)
            services.household_transfer(user=request.user, household=household, site=site, note=note)
        else:
            services.households_leave(user=request.user, households=[household], reason=action,
                                      on=form.cleaned_data["date"], note=note)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Saved: the plot, card and entitlements moved with the household."))
    return redirect("households:card", number=number)


@login_required
@require_POST
def member_add(request: HttpRequest, number: str) -> HttpResponse:
    household = _household_for_change(request, number)
    form = MemberForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({k: list(v) for k, v in form.errors.items()})
        services.member_add(user=request.user, household=household, fields=form.service_fields())
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Member added."))
    return redirect("households:card", number=number)


@login_required
@require_POST
def member_action(request: HttpRequest, number: str, member_id: int, action: str) -> HttpResponse:
    household = _household_for_change(request, number)
    member = get_object_or_404(Member, pk=member_id, household=household)
    try:
        if action == "remove":
            services.member_remove(user=request.user, member=member)
        elif action == "head":
            services.member_set_head(user=request.user, member=member,
                                     former_head_relationship=request.POST.get("former_head_relationship",
                                                                               "relative"))
        else:
            raise Http404
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("households:card", number=number)


@login_required
@require_POST
def collector_add(request: HttpRequest, number: str) -> HttpResponse:
    household = _household_for_change(request, number)
    form = CollectorForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({k: list(v) for k, v in form.errors.items()})
        services.collector_add(user=request.user, household=household, fields=form.cleaned_data)
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("households:card", number=number)


@login_required
@require_POST
def collector_remove(request: HttpRequest, number: str, collector_id: int) -> HttpResponse:
    household = _household_for_change(request, number)
    collector = get_object_or_404(AlternateCollector, pk=collector_id, household=household)
    services.collector_deactivate(user=request.user, collector=collector)
    return redirect("households:card", number=number)


# --- import -------------------------------------------------------------------------------------------------


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    access.require_personal(request.user)
    if request.method == "POST":
        try:
            # Refused on its declared length, before Django reads the body.
            uploads.check_request_size(request)
        except uploads.UploadRefused as exc:
            # The body stays unread: a form bound to nothing, carrying only this error.
            form = ImportForm(data={})
            form.full_clean()
            form._errors = ErrorDict({"file": form.error_class([str(exc)])})
            return render(request, "households/import.html", {"form": form, "title": _("Import registrations")},
                          status=413)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = "." + upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if suffix not in (".xlsx", ".csv"):
            form.add_error("file", _("use an .xlsx or .csv file"))
        else:
            try:
                uploads.check_upload(upload)
            except uploads.UploadRefused as exc:
                form.add_error("file", str(exc))
        mapping = form.cleaned_data["mapping"]
        token = uuid.uuid4().hex
        if form.cleaned_data.get("mapping_file") and not form.errors:
            try:
                data = uploads.load_json(form.cleaned_data["mapping_file"].read().decode("utf-8"))
                Mapping.load(data)
            except (ValueError, UnicodeDecodeError, ImportFileError) as exc:
                form.add_error("mapping_file", str(exc))
            else:
                mapping = str(files_dir() / f"{token}-mapping.json")
                private_write(files_dir() / f"{token}-mapping.json", json.dumps(data))
        site = form.cleaned_data.get("default_site")
        if site is not None:
            access.require_site(request.user, site)
        if not form.errors:
            stored = f"{token}{suffix}"
            with private_file(files_dir() / stored) as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            job = job_start(kind="households-import-check", function="relief.households.jobs.import_job",
                            arguments={"file": stored, "mapping": mapping, "mode": "all", "dry_run": True,
                                       "default_site": site.code if site else None},
                            user=request.user, queue="long")
            return redirect("job", job_id=job.pk)
    return render(request, "households/import.html", {"form": form, "title": _("Import registrations")})


def _own_job(request: HttpRequest, job_id, *, kind: str) -> Job:
    """A registry job (import or convoy) of this user's, or of anyone's for an Administrator."""
    access.require_personal(request.user)
    job = get_object_or_404(Job, pk=job_id, kind__startswith=kind)
    if job.created_by_id != request.user.pk and not has_role(request.user, ADMINISTRATOR):
        raise PermissionDenied
    return job


def _review(request: HttpRequest, job_id, *, kind: str, form_class, template: str, title) -> HttpResponse:
    """The check job's findings; committing starts the same job again in the chosen mode, for real."""
    job = _own_job(request, job_id, kind=kind)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid() and job.kind == f"{kind}-check":
        arguments = {**job.arguments, "mode": form.cleaned_data["mode"], "dry_run": False}
        commit = job_start(kind=kind, function=job.function, arguments=arguments, user=request.user, queue="long")
        return redirect("job", job_id=commit.pk)
    return render(request, template, {"job": job, "result": job.result or {}, "form": form, "title": title})


@login_required
def import_review(request: HttpRequest, job_id) -> HttpResponse:
    return _review(request, job_id, kind="households-import", form_class=CommitForm,
                   template="households/import_review.html", title=_("Import registrations"))


@login_required
def import_report(request: HttpRequest, job_id) -> FileResponse:
    job = _own_job(request, job_id, kind="households-import")
    if not job.result_file:
        raise Http404(_("This import has no report."))
    path = files_dir() / job.result_file
    if not path.is_file():
        raise Http404(_("The report is no longer kept."))
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"import-problems-{job.pk}.xlsx")


# --- convoys ----------------------------------------------------------------------------------------------


@login_required
def convoy_upload(request: HttpRequest) -> HttpResponse:
    access.require_personal(request.user)
    title = _("Convoy manifest")
    if request.method == "POST":
        try:
            uploads.check_request_size(request)
        except uploads.UploadRefused as exc:
            form = ConvoyForm(data={})
            form.full_clean()
            form._errors = ErrorDict({"file": form.error_class([str(exc)])})
            return render(request, "households/convoy.html", {"form": form, "title": title}, status=413)
    form = ConvoyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = "." + upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if suffix not in (".xlsx", ".csv"):
            form.add_error("file", _("use an .xlsx or .csv file"))
        else:
            try:
                uploads.check_upload(upload)
            except uploads.UploadRefused as exc:
                form.add_error("file", str(exc))
        if not form.errors:
            stored = f"{uuid.uuid4().hex}{suffix}"
            with private_file(convoy.files_dir() / stored) as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            job = job_start(kind="households-convoy-check", function="relief.households.jobs.convoy_job",
                            arguments={"file": stored, "mode": "all", "dry_run": True}, user=request.user,
                            queue="long")
            return redirect("job", job_id=job.pk)
    return render(request, "households/convoy.html", {"form": form, "title": title})


@login_required
def convoy_review(request: HttpRequest, job_id) -> HttpResponse:
    return _review(request, job_id, kind="households-convoy", form_class=ConvoyCommitForm,
                   template="households/convoy_review.html", title=_("Convoy manifest"))


@login_required
def convoy_report(request: HttpRequest, job_id) -> FileResponse:
    job = _own_job(request, job_id, kind="households-convoy")
    path = convoy.files_dir() / job.result_file if job.result_file else None
    if path is None or not path.is_file():
        raise Http404(_("This convoy has no report."))
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"convoy-report-{job.pk}.xlsx")


# --- duplicates ---------------------------------------------------------------------------------------------


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    site_ids = access.require_personal(request.user)
    if request.method == "POST":
        job = job_start(kind="households-duplicate-scan", function="relief.households.jobs.duplicate_scan_job",
                        arguments={}, user=request.user, queue="long")
        return redirect("job", job_id=job.pk)
    pairs = duplicates.pending_pairs(site_ids=site_ids)
    for pair in pairs:
        for household in (pair.household_a, pair.household_b):
            access_log_record(user=request.user, object_type="household", object_id=household.number,
                              action="duplicate-review")
    today = timezone.localdate()
    rows = [{"pair": p, "sides": [_side(p.household_a, today), _side(p.household_b, today)]} for p in pairs]
    return render(request, "households/duplicates.html", {"rows": rows, "title": _("Possible duplicates")})


def _side(household, today) -> dict:
    members = sorted((m for m in household.members.all() if m.active), key=lambda m: (not m.is_head, m.date_of_birth))
    return {"household": household, "members": [(m, m.age_on(today)) for m in members]}


@login_required
@require_POST
def duplicate_decide(request: HttpRequest, candidate_id: int) -> HttpResponse:
    site_ids = access.require_personal(request.user)
    candidate = get_object_or_404(DuplicateCandidate.objects.select_related("household_a", "household_b"),
                                  pk=candidate_id)
    if site_ids is not None and not {candidate.household_a.site_id, candidate.household_b.site_id} <= site_ids:
        raise PermissionDenied(_("One of these households is in a site you do not work in."))
    try:
        if request.POST.get("decision") == "distinct":
            services.duplicate_mark_distinct(user=request.user, candidate=candidate)
            messages.success(request, _("Marked distinct: this pair will not be proposed again."))
        else:
            survivor = services.duplicate_merge(user=request.user, candidate=candidate,
                                                survivor_id=int(request.POST.get("survivor", "0") or 0))
            messages.success(request, _("Merged into %(number)s.") % {"number": survivor.number})
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            _errors(request, exc)
        else:
            messages.error(request, _("survivor: choose one of the two households"))
    return redirect("households:duplicates")


# --- summary and exports ------------------------------------------------------------------------------------


def _table(columns, rows, *, fmt: str, filename: str) -> HttpResponse:
    """CSV or XLSX with the header row, then the HXL hashtag row, then the data."""
    header = [str(label) for _key, label, _tag in columns]
    tags = [tag for _key, _label, tag in columns]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(sheet_row(header))
        writer.writerow(sheet_row(tags))
        for row in rows:
            writer.writerow(sheet_row([row[key] for key, _label, _tag in columns]))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(filename[:31])
    sheet.append(sheet_row(header))
    sheet.append(sheet_row(tags))
    for row in rows:
        sheet.append(sheet_row([row[key] for key, _label, _tag in columns]))
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


@login_required
def summary(request: HttpRequest) -> HttpResponse:
    access.require_counts(request.user)
    rows = selectors.registry_summary()
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return _table(selectors.SUMMARY_COLUMNS, rows, fmt=fmt, filename=f"registry-summary-{timezone.localdate()}")
    totals = {key: sum(r[key] for r in rows) for key, _label, _tag in selectors.SUMMARY_COLUMNS[2:]}
    return render(request, "households/summary.html", {
        "rows": rows, "totals": totals, "groups": selectors.AGE_GROUPS, "title": _("Registry summary"),
        "personal": access.can_see_personal(request.user),
        "no_sharing_consent": selectors.households_without_consent(purpose="sharing", site_ids=None)})


@login_required
def partner_export(request: HttpRequest) -> HttpResponse:
    """Household-level rows for partners: pseudonyms instead of numbers, no names, phones or ids."""
    site_ids = access.require_personal(request.user)
    rows = selectors.partner_rows(site_ids=site_ids)
    access_log_record(user=request.user, object_type="household", object_id=f"partner-export:{len(rows)}",
                      action="export")
    fmt = request.GET.get("format") if request.GET.get("format") == "csv" else "xlsx"
    return _table(selectors.PARTNER_COLUMNS, rows, fmt=fmt, filename=f"households-pseudonymised-{timezone.localdate()}")
