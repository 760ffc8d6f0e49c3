"""URL map: the portal at the root, sign-in under accounts/, staff at backoffice/."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language
from django.views.static import serve

from careportal.backoffice.site import backoffice_site

urlpatterns = [
    path("accounts/setup/", include("careportal.invitations.urls")),
    path("accounts/", include("careportal.accounts.urls")),
    path("backoffice/", backoffice_site.urls),
    # The integration API for the agency's own systems: a key per call, no session.
    path("api/v1/", include("careportal.api.urls")),
    # Django's own admin is for platform operators only.
    path("admin/", admin.site.urls),
    path("invoices/", include("careportal.billing.urls")),
    path("calendar/", include("careportal.scheduling.urls")),
    path("care-plan/", include("careportal.careplans.urls")),
    path("messages/", include("careportal.messaging.urls")),
    path("my-privacy/", include("careportal.privacy.urls")),
    # Public branding: the agency's logo, for the portal's frame and for emails.
    path("agency-logo/", include("careportal.agencies.urls")),
    # The language form in every page's frame; it works before sign-in too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("", include("careportal.portal.urls")),
]

# A development convenience (the admin's file links); pages use the apps' own views.
if settings.DEBUG:
    urlpatterns += [
        path(
            "media/<path:path>",
            login_not_required(serve),
            {"document_root": settings.MEDIA_ROOT},
        )
    ]
