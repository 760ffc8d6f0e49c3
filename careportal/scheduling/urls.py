from django.urls import path

from careportal.scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("feed/", views.feed_settings, name="feed_settings"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
    path("caregiver-photo/<int:caregiver_id>/", views.caregiver_photo, name="caregiver_photo"),
]
