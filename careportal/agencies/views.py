"""The agency's logo, served by the app: the portal's frame and emails show it.

Its address is the stored file's random name (agencies.images), never the agency's id:
a sequential id would let anyone list every agency on the platform.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from careportal.agencies.images import CONTENT_TYPES
from careportal.agencies.models import LOGO_FOLDER, Agency

# The address names the stored file, so a new logo gets a new address: cache for a year.
LOGO_MAX_AGE = 365 * 24 * 60 * 60


@login_not_required
@require_safe
def logo(request: HttpRequest, name: str) -> FileResponse:
    """Stream the logo stored under this name; public branding, so no sign-in (emails show it).

    Only an agency's current logo is served, and only as the picture type its name says
    (the upload was re-encoded into that type); anything else is a download.
    """
    agency = Agency.objects.filter(logo=f"{LOGO_FOLDER}/{name}").first()
    if agency is None or PurePosixPath(agency.logo.name or "").name != name:
        raise Http404
    try:
        file = agency.logo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = CONTENT_TYPES.get(PurePosixPath(name).suffix.lstrip(".").lower())
    response = FileResponse(
        file,
        content_type=content_type or "application/octet-stream",
        as_attachment=content_type is None,
    )
    patch_cache_control(response, public=True, max_age=LOGO_MAX_AGE, immutable=True)
    return response


@login_not_required
@require_safe
def old_logo_address(request: HttpRequest, agency_id: int, name: str) -> HttpResponse:
    """An address of the former kind (in emails already sent): to today's, if the name fits.

    Only when the name is that of the agency's current logo, so the ids cannot be walked.
    """
    agency = get_object_or_404(Agency, pk=agency_id)
    if not agency.logo.name or PurePosixPath(agency.logo.name).name != name:
        raise Http404
    return redirect(agency.logo_link)
