"""A copy of my record: asked for, built in the background, downloaded by the client."""

from django.urls import URLPattern, path

from careportal.privacy import record_views

urlpatterns: list[URLPattern] = [
    path("", record_views.ask, name="record_ask"),
    path("<int:pk>/progress/", record_views.progress, name="record_progress"),
    path("<int:pk>/pdf/", record_views.download, {"kind": "pdf"}, name="record_pdf"),
    path("<int:pk>/fhir/", record_views.download, {"kind": "fhir"}, name="record_fhir"),
    path("<int:pk>/csv/", record_views.download, {"kind": "csv"}, name="record_csv"),
]
