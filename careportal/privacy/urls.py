"""My privacy: the client's page (privacy/views.py) and the copy of their record (record_urls)."""

from django.urls import URLPattern, URLResolver, include, path

from careportal.privacy import views

app_name = "privacy"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.my_privacy, name="my_privacy"),
    path("record/", include("careportal.privacy.record_urls")),
]
