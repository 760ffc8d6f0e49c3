from django.urls import path

from careportal.agencies import views

app_name = "agencies"

urlpatterns = [
    path("<int:agency_id>/<str:name>/", views.logo, name="logo"),
]
