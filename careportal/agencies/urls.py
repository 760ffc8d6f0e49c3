from django.urls import path

from careportal.agencies import views

app_name = "agencies"

urlpatterns = [
    path("<str:name>/", views.logo, name="logo"),
    path("<int:agency_id>/<str:name>/", views.old_logo_address, name="old_logo_address"),
]
