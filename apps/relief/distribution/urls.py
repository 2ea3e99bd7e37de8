from django.urls import path, re_path

from relief.distribution import views

app_name = "distribution"

urlpatterns = [
    path("scan/", views.scan, name="scan"),
    path("scan/pin/", views.approval_pin, name="pin"),
    path("scan/sw.js", views.scan_service_worker, name="scan-sw"),
    path("scan/manifest.webmanifest", views.scan_manifest, name="scan-manifest"),
    path("distribution/events/", views.events, name="events"),
    path("distribution/events/<int:event_id>/", views.event_report, name="event"),
    re_path(r"^distribution/events/(?P<event_id>[0-9]+)/export\.(?P<fmt>csv|xlsx)$", views.event_export,
            name="event-export"),
    path("distribution/events/<int:event_id>/close/", views.event_close_out, name="event-close"),
    path("distribution/events/<int:event_id>/issues/<int:issue_id>/resolve/", views.sync_issue_resolve,
         name="issue-resolve"),
    path("distribution/cycles/<int:cycle_id>/generate/", views.cycle_generate, name="cycle-generate"),
    path("distribution/cards/print/", views.print_cards, name="print"),
    path("distribution/cards/<uuid:job_id>.pdf", views.cards_pdf, name="cards-pdf"),
    re_path(r"^distribution/cards/(?P<serial>[A-Z0-9]{2,6}-[0-9]{4,10})/card\.pdf$", views.card_pdf, name="card-pdf"),
]
