from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from relief.core import jobs
from relief.core.health import system_status
from relief.core.models import Job
from relief.core.roles import ADMINISTRATOR, has_role, require_role


def home(request: HttpRequest) -> HttpResponse:
    return redirect("admin:index")


def _job_for(request: HttpRequest, job_id) -> Job:
    """A job is visible to who started it, and to Administrators."""
    job = get_object_or_404(Job, pk=job_id)
    if job.created_by_id != request.user.pk and not has_role(request.user, ADMINISTRATOR):
        raise PermissionDenied
    return job


@login_required
def job_page(request: HttpRequest, job_id) -> HttpResponse:
    return render(request, "core/job.html", {"job": _job_for(request, job_id)})


@login_required
def job_status(request: HttpRequest, job_id) -> JsonResponse:
    job = _job_for(request, job_id)
    return JsonResponse({
        "id": str(job.pk), "kind": job.kind, "status": job.status, "done": job.done, "total": job.total,
        "percent": job.percent, "message": job.message, "result": job.result,
    })


@login_required
@require_POST
def job_sample(request: HttpRequest) -> HttpResponse:
    require_role(request.user, ADMINISTRATOR)
    job = jobs.job_start(kind="sample", function="relief.core.jobs.sample_job", arguments={"steps": 3},
                         user=request.user, queue="short")
    return redirect("job", job_id=job.pk)


def _may_read_health_details(request: HttpRequest) -> bool:
    token = settings.SITE_CONFIG.health_token
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
        return True
    try:
        return request.user.is_authenticated and has_role(request.user, ADMINISTRATOR)
    except DatabaseError:
        # With the database down a session cannot be read: the monitor's token still works.
        return False


def health(request: HttpRequest) -> JsonResponse:
    """For monitoring: up (200) or down (503) for anyone; the details (database, Redis and queue depth, last
    backup) only for an Administrator or a caller with the site's health token."""
    status = system_status()
    code = 200 if status["status"] == "ok" else 503
    if not _may_read_health_details(request):
        return JsonResponse({"status": status["status"]}, status=code)
    return JsonResponse(status, status=code)


def lan_ca_certificate(request):
    """The site's local certificate authority, for phones on the camp LAN to trust (``relief lan-tls``).
    Public: a phone fetches it before anyone logs in on it; it is a certificate, not a secret."""
    from django.conf import settings
    from django.http import Http404, HttpResponse

    from relief.config import ConfigError

    try:
        path = settings.SITE_CONFIG.tls_dir / "ca.crt"
    except ConfigError:
        raise Http404 from None
    if not path.exists():
        raise Http404
    response = HttpResponse(path.read_bytes(), content_type="application/x-x509-ca-cert")
    response["Content-Disposition"] = 'attachment; filename="relief-ca.crt"'
    return response
