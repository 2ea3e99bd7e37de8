from django.urls import path

from relief.replenishment import views

app_name = "replenishment"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("replenishment/plans/", views.plans, name="plans"),
    path("replenishment/plans/<str:number>/", views.plan, name="plan"),
    path("replenishment/plans/<str:number>/xlsx/", views.plan_xlsx, name="plan-xlsx"),
]
