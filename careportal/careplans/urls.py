from django.urls import path

from careportal.careplans import views

app_name = "careplans"

urlpatterns = [
    path("", views.care_plan, name="care_plan"),
]
