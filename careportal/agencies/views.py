"""The agency's logo, served by the app: the portal's frame and emails show it."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from careportal.agencies.models import Agency

# The address names the stored file, so a new logo gets a new address: cache for a year.
LOGO_MAX_AGE = 365 * 24 * 60 * 60


@login_not_required
@require_safe
def logo(request: HttpRequest, agency_id: int, name: str) -> HttpResponse:
    """Stream the agency's logo; public branding, so no sign-in (emails show it)."""
    agency = get_object_or_404(Agency, pk=agency_id)
    if not agency.logo:
        raise Http404
    if name != PurePosixPath(agency.logo.name).name:
        # An older address (an email sent before the logo changed): show today's logo.
        return redirect(agency.logo_link)
    try:
        file = agency.logo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type, _encoding = mimetypes.guess_type(agency.logo.name)
    response = FileResponse(file, content_type=content_type or "application/octet-stream")
    patch_cache_control(response, public=True, max_age=LOGO_MAX_AGE, immutable=True)
    return response
