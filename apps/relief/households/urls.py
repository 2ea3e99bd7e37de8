from django.urls import path

from relief.households import views

app_name = "households"

urlpatterns = [
    path("households/", views.search, name="search"),
    path("households/register/", views.register, name="register"),
    path("households/summary/", views.summary, name="summary"),
    path("households/export/partners/", views.partner_export, name="partner-export"),
    path("households/import/", views.import_upload, name="import"),
    path("households/import/<uuid:job_id>/", views.import_review, name="import-review"),
    path("households/import/<uuid:job_id>/report/", views.import_report, name="import-report"),
    path("households/convoy/", views.convoy_upload, name="convoy"),
    path("households/convoy/<uuid:job_id>/", views.convoy_review, name="convoy-review"),
    path("households/convoy/<uuid:job_id>/report/", views.convoy_report, name="convoy-report"),
    path("households/duplicates/", views.duplicate_list, name="duplicates"),
    path("households/duplicates/<int:candidate_id>/", views.duplicate_decide, name="duplicate-decide"),
    path("households/<str:number>/", views.card, name="card"),
    path("households/<str:number>/change/", views.change, name="change"),
    path("households/<str:number>/status/", views.set_status, name="status"),
    path("households/<str:number>/moves-on/", views.lifecycle, name="lifecycle"),
    path("households/<str:number>/members/", views.member_add, name="member-add"),
    path("households/<str:number>/members/<int:member_id>/<str:action>/", views.member_action,
         name="member-action"),
    path("households/<str:number>/collectors/", views.collector_add, name="collector-add"),
    path("households/<str:number>/collectors/<int:collector_id>/remove/", views.collector_remove,
         name="collector-remove"),
]
