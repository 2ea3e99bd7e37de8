"""Background jobs of the registry: imports and duplicate scans. Arguments are ids and paths, never objects."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _

from relief.core.files import prune_older_than
from relief.core.jobs import job_progress
from relief.core.models import Job
from relief.households import convoy, duplicates
from relief.households.access import site_ids_for
from relief.households.importer import Mapping, files_dir, run_import

SHOWN = 100


def import_job(*, job: Job, file: str, mapping: str, mode: str, dry_run: bool, default_site: str | None = None
               ) -> dict:
    """Validate (``dry_run``) or import an uploaded file; the review page shows the outcome."""
    user = get_user_model().objects.get(pk=job.created_by_id) if job.created_by_id else None
    site_ids = site_ids_for(user) if user is not None else None

    def progress(stage: str, done: int, total: int) -> None:
        job_progress(job, done=done, total=total or None, message=stage)

    result = run_import(path=files_dir() / file, mapping=Mapping.load(mapping), user=user, site_ids=site_ids,
                        mode=mode, dry_run=dry_run, default_site=default_site, progress=progress)
    outcome = result.as_dict()
    # The first problems for the page; the report file has them all. Messages quote no personal value.
    outcome["first_problems"] = [[p.sheet, p.row, p.column, p.message] for p in result.problems[:SHOWN]]
    if result.committed:
        job.message = _("Imported: %(new)s new and %(updated)s updated households.") % {
            "new": outcome["households_new"], "updated": outcome["households_updated"]}
    elif dry_run:
        job.message = _("Checked: %(valid)s valid households, %(problems)s problems.") % {
            "valid": outcome["households_valid"], "problems": outcome["problems"]}
    else:
        job.message = _("Nothing imported: %(problems)s problems.") % {"problems": outcome["problems"]}
    job.result_file = outcome["report"] or ""
    if result.committed:
        # The retention period runs from the commit: touched now, pruned upload_retention_days later.
        (files_dir() / file).touch()
    outcome["next"] = reverse("households:import-review", args=[job.pk])
    return outcome


def duplicate_scan_job(*, job: Job, threshold: float = duplicates.THRESHOLD) -> dict:
    def progress(done: int, total: int) -> None:
        job_progress(job, done=done, total=total, message=_("comparing households"))

    job_progress(job, done=0, total=0, message=_("loading households"))
    result = duplicates.scan(threshold=threshold, progress=progress)
    job.message = _("%(pairs)s pairs compared, %(new)s new candidates.") % {
        "pairs": result["pairs_compared"], "new": result["candidates_new"]}
    result["next"] = reverse("households:duplicates")
    return result


def imports_prune_job(*, job: Job) -> dict:
    """Uploaded registration files (and their mappings and reports) hold personal data: each is deleted
    ``upload_retention_days`` after its import was committed, or after its upload if it never was."""
    removed = prune_older_than(files_dir(), days=settings.RELIEF_LIMITS["upload_retention_days"])
    return {"removed": len(removed)}


def convoy_job(*, job: Job, file: str, mode: str, dry_run: bool) -> dict:
    """Check (``dry_run``) or carry out a convoy manifest; the convoy page shows the outcome and the report."""
    user = get_user_model().objects.get(pk=job.created_by_id) if job.created_by_id else None
    site_ids = site_ids_for(user) if user is not None else None

    def progress(stage: str, done: int, total: int) -> None:
        job_progress(job, done=done, total=total or None, message=stage)

    result = convoy.run_convoy(path=convoy.files_dir() / file, user=user, site_ids=site_ids, mode=mode,
                               dry_run=dry_run, progress=progress)
    outcome = result.as_dict()
    outcome["first_problems"] = [list(p) for p in result.problems[:SHOWN]]
    if result.committed:
        job.message = _("%(n)s households moved on.") % {"n": result.processed}
    elif dry_run:
        job.message = _("Checked: %(valid)s valid rows, %(problems)s problems.") % {
            "valid": result.valid, "problems": len(result.problems)}
    else:
        job.message = _("Nothing done: %(problems)s problems.") % {"problems": len(result.problems)}
    job.result_file = result.report or ""
    outcome["next"] = reverse("households:convoy-review", args=[job.pk])
    return outcome
