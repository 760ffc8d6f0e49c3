from django.urls import path

from careportal.portal import narrowing, views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("clients/", narrowing.choose_client, name="choose_client"),
]
