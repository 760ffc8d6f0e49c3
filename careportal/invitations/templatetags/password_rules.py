"""{% password_rules_context as rules %}: what templates/accounts/_password_rules.html shows.

The partial is included by Change Password and by the accounts pages (reset, change), which
do not all pass the rules: this finds the agency from the form's login when they are absent.
"""

from __future__ import annotations

from typing import Any

from django import template

from careportal.accounts.passwords import policy_for, rules_for

register = template.Library()


@register.simple_tag(takes_context=True)
def password_rules_context(context: Any) -> dict[str, Any]:
    form = context.get("form")
    rules = context.get("password_rules")
    policy = context.get("password_policy")
    if rules is None or policy is None:
        user = getattr(form, "user", None)
        if user is None and getattr(form, "invitation", None) is not None:
            user = form.invitation.user
        if user is None:
            user = context.get("user")
        agency = getattr(user, "agency", None)
        rules, policy = rules_for(agency), policy_for(agency)
    field = context.get("field")
    field_id = context.get("field_id") or (field.id_for_label if field else "id_new_password")
    confirm_id = context.get("confirm_id")
    if confirm_id is None and form is not None and "confirm_password" in form.fields:
        confirm_id = form["confirm_password"].id_for_label
    return {"rules": rules, "policy": policy, "field_id": field_id, "confirm_id": confirm_id}
