"""URL map: the portal at the root, sign-in under accounts/, staff at backoffice/."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from careportal.backoffice.site import backoffice_site

urlpatterns = [
    path("accounts/setup/", include("careportal.invitations.urls")),
    path("accounts/", include("careportal.accounts.urls")),
    path("backoffice/", backoffice_site.urls),
    # Django's own admin is for platform operators only.
    path("admin/", admin.site.urls),
    path("invoices/", include("careportal.billing.urls")),
    path("calendar/", include("careportal.scheduling.urls")),
    path("care-plan/", include("careportal.careplans.urls")),
    path("messages/", include("careportal.messaging.urls")),
    path("", include("careportal.portal.urls")),
]

if settings.DEBUG:
    from django.contrib.auth.decorators import login_not_required

    urlpatterns += [
        path(
            "media/<path:path>",
            login_not_required(serve),
            {"document_root": settings.MEDIA_ROOT},
        )
    ]
