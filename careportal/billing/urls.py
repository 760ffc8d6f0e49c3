from django.urls import path

from careportal.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.invoice_list, name="invoice_list"),
    path("<str:number>/", views.invoice_detail, name="invoice_detail"),
    path("<str:number>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
