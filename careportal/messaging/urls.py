from django.urls import path

from careportal.messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.sent, name="sent"),
    path("new/", views.compose, name="compose"),
    path("<int:pk>/", views.message_detail, name="message_detail"),
]
