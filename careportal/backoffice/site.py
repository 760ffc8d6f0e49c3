"""The agency back office: an admin site where staff see only their own agency."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class BackOfficeSite(admin.AdminSite):
    site_header = _("CarePortal back office")
    site_title = _("Back office")
    index_title = _("Your agency")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_authenticated
            and getattr(user, "kind", None) == "staff"
            and hasattr(user, "staff_membership")
        )


backoffice_site = BackOfficeSite(name="backoffice")
