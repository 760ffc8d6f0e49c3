from django.urls import path

from careportal.invitations import views

app_name = "invitations"

urlpatterns = [
    path("new/", views.new, name="new"),
    path("<str:token>/", views.setup, name="setup"),
    path("<str:token>/renew/", views.renew, name="renew"),
]
