from django.urls import path

from careportal.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
