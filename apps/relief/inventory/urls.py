from django.urls import path

from relief.inventory import views

app_name = "inventory"

urlpatterns = [
    path("inventory/stock/", views.stock_summary, name="stock-summary"),
    path("inventory/stock-card/", views.stock_card, name="stock-card"),
    path("inventory/expiring/", views.expiring, name="expiring"),
    path("inventory/donor-report/", views.donor_report, name="donor-report"),
    path("inventory/entries/<str:number>/pdf/", views.entry_pdf, name="entry-pdf"),
    path("inventory/waybills/<str:number>/pdf/", views.waybill_pdf, name="waybill-pdf"),
    path("inventory/waybills/<str:number>/receive/", views.waybill_receive, name="waybill-receive"),
    path("inventory/counts/<int:pk>/sheet/", views.count_sheet, name="count-sheet"),
    path("inventory/counts/<int:pk>/upload/", views.count_upload, name="count-upload"),
]
