from django.urls import path

from relief.shelter import views

app_name = "shelter"

urlpatterns = [
    path("shelter/", views.sites, name="sites"),
    path("shelter/plans/<str:number>/", views.plan, name="plan"),
    path("shelter/<str:code>/", views.site, name="site"),
    path("shelter/<str:code>/map.svg", views.site_map, name="map"),
    path("shelter/<str:code>/waiting/", views.waiting, name="waiting"),
    path("shelter/<str:code>/plan/", views.plan_start, name="plan-start"),
    path("shelter/<str:code>/plots/<str:plot_code>/", views.plot, name="plot"),
]
