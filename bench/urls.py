"""The project's URLs with the two floor views of the benchmark in front of them."""

from django.urls import include, path

from bench import floors

urlpatterns = [
    path("bench/floor/", floors.bare, name="bench_floor"),
    path("bench/floor-table/", floors.table, name="bench_floor_table"),
    path("", include("careportal.urls")),
]
