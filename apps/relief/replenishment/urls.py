from django.urls import path

from relief.replenishment import views

app_name = "replenishment"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("replenishment/plans/", views.plans, name="plans"),
    path("replenishment/plans/<str:number>/", views.plan, name="plan"),
    path("replenishment/plans/<str:number>/xlsx/", views.plan_xlsx, name="plan-xlsx"),
    path("replenishment/purchase-requests/<str:number>/", views.purchase_request, name="purchase-request"),
    path("replenishment/purchase-requests/<str:number>/pdf/", views.purchase_request_pdf,
         name="purchase-request-pdf"),
]
