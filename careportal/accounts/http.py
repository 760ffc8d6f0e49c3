"""The request type of a view behind sign-in: its `user` is our User, never AnonymousUser.

Django types `request.user` as `User | AnonymousUser`; a view that only signed-in people
reach (the portal's middleware, `login_required`, the back office's site) annotates its
request as `AuthenticatedHttpRequest` and reads `request.user.agency` with types that check.
"""

from __future__ import annotations

from django.http import HttpRequest

from careportal.accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
