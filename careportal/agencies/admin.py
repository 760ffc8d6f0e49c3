"""Django's own /admin/ is the platform operators' site: they create agencies here."""

from django.contrib import admin

from careportal.agencies.models import Agency


@admin.register(Agency)
class AgencyOperatorAdmin(admin.ModelAdmin):
    list_display = ("name", "owner_name", "owner_email", "time_zone", "created_at")
    search_fields = ("name", "owner_name", "owner_email")
