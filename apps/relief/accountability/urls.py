from django.urls import path, re_path

from relief.accountability import views

app_name = "accountability"

urlpatterns = [
    path("feedback/", views.cases, name="cases"),
    path("feedback/new/", views.case_new, name="case-new"),
    path("feedback/import/", views.cases_import, name="cases-import"),
    path("feedback/<str:number>/", views.case, name="case"),
    path("reports/reached/", views.reach, name="reach"),
    re_path(r"^reports/4w\.(?P<fmt>csv|xlsx)$", views.four_w, name="four-w"),
    path("reports/donor-values/", views.donor_values, name="donor-values"),
    path("pdm/events/<int:event_id>/", views.pdm, name="pdm"),
    path("pdm/<str:number>/sample.xlsx", views.pdm_sample_xlsx, name="pdm-sample"),
    path("pdm/<str:number>/answers/", views.pdm_import, name="pdm-import"),
]
