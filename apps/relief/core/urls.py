from django.urls import path

from relief.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/sample/", views.job_sample, name="job-sample"),
    path("jobs/<uuid:job_id>/", views.job_page, name="job"),
    path("jobs/<uuid:job_id>/status/", views.job_status, name="job-status"),
    path("health/", views.health, name="health"),
    path("tls/ca.crt", views.lan_ca_certificate, name="lan-ca"),
]
