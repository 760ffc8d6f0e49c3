"""The line an emergency contact reads where a client keeps something from them."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from careportal.people import access

register = template.Library()


@register.inclusion_tag("privacy/_client_chose.html", takes_context=True)
def client_chose(context: dict[str, Any], *kinds: str) -> dict[str, Any]:
    """Say, for each of the login's clients who keeps their "calendar" or "invoices" from
    it (My privacy), that the client chose it. From the relationships read for the frame:
    no query."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not access.is_portal_login(user):
        return {"lines": []}
    rels = access.relationship_ids(user)
    names = {client.pk: client.full_name for client in rels.care_clients}
    lines = []
    for kind in kinds:
        withheld = rels.calendar_withheld_ids if kind == "calendar" else rels.invoices_withheld_ids
        for pk in withheld:
            name = names.get(pk, "")
            if kind == "calendar":
                lines.append(_("%(name)s chose not to share visits with you.") % {"name": name})
            else:
                lines.append(_("%(name)s chose not to share invoices with you.") % {"name": name})
    return {"lines": lines}
