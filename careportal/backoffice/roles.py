"""What each staff role may do in the back office: the one place that decides it.

The back office does not use Django's permission tables: a staff member's role in their
agency (StaffMembership.role) is the whole answer, read from the map below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from careportal.agencies.models import StaffRole

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from careportal.accounts.models import User
    from careportal.agencies.models import StaffMembership

FULL = frozenset({"view", "add", "change", "delete"})
READ = frozenset({"view"})
EDIT = frozenset({"view", "change"})

PEOPLE = (
    "people.client",
    "people.emergencycontact",
    "people.payer",
    "people.payerperson",
    "people.community",
    "people.communityperson",
    "people.clientpayer",
    "people.residence",
)
SCHEDULING = ("scheduling.caregiver", "scheduling.visit", "scheduling.visitschedule")
CALENDAR_FEEDS = ("scheduling.calendarfeed",)
CARE_PLANS = ("careplans.serviceplan", "careplans.goal", "careplans.plantask")
BILLING = ("billing.invoice", "billing.invoiceline", "billing.payment")
# Family messages are written to the owner: the owner and administrators read them
# (issue 11, item 10), and each one opened is an audit event (messaging.admin).
MESSAGES = ("messaging.message",)
AUDIT = ("audit.auditevent",)
STAFF = ("agencies.staffmembership",)
# Invitations are made by saving a person; "change" is the Resend action.
INVITATIONS = ("invitations.invitation",)
# The agency's other emails (resets, notices, messages) and their delivery: read only.
EMAILS = ("emails.agencyemail",)
AGENCY_SETTINGS = ("agencies.agency",)
# Importing clients from CSV (and exporting them): "change" is Import all.
IMPORTS = ("imports.clientimport",)


def _grant(actions: frozenset[str], *groups: tuple[str, ...]) -> dict[str, frozenset[str]]:
    return {label: actions for group in groups for label in group}


CAPABILITIES: dict[str, dict[str, frozenset[str]]] = {
    StaffRole.OWNER: {
        **_grant(FULL, SCHEDULING, CARE_PLANS, BILLING),
        # The owner alone unlocks a locked login (DESIGN.md: "the owner in the back office"),
        # resets the two-step sign-in of a login whose phone is lost, and requires a new
        # password at the next sign-in.
        **_grant(FULL | {"unlock", "reset_two_factor", "require_password_change"}, PEOPLE, STAFF),
        **_grant(READ, CALENDAR_FEEDS, MESSAGES, AUDIT, EMAILS),
        **_grant(EDIT, AGENCY_SETTINGS, INVITATIONS),
        **_grant(EDIT | {"add"}, IMPORTS),
    },
    # Everything but the agency's settings (issue 2). Administrators add staff and change
    # their name and role, but never give or take the owner role, touch an owner's row or
    # change their own role (the staff-row rules below); removing staff, unlocking,
    # resetting two-step sign-in and the audit trail stay the owner's.
    StaffRole.ADMINISTRATOR: {
        **_grant(FULL, PEOPLE, SCHEDULING, CARE_PLANS, BILLING),
        **_grant(READ, CALENDAR_FEEDS, MESSAGES, EMAILS),
        **_grant(EDIT, INVITATIONS),
        **_grant(EDIT | {"add"}, STAFF, IMPORTS),
    },
    # Schedulers read the clients they plan for; they never see money nor family messages.
    StaffRole.SCHEDULER: {
        **_grant(FULL, SCHEDULING, CARE_PLANS),
        **_grant(READ, PEOPLE),
    },
    # Billing reads what an invoice points at (clients, payers, caregivers, visits) and
    # never sees service plans: protected health information it has no need for; nor
    # family messages, which are the owner's.
    StaffRole.BILLING: {
        **_grant(FULL, BILLING),
        **_grant(READ, PEOPLE, SCHEDULING),
    },
}


def membership_of(user: User | AnonymousUser | None) -> StaffMembership | None:
    """Return the user's staff membership, or None for anyone who is not agency staff."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "kind", None) != "staff":
        return None
    return getattr(user, "staff_membership", None)


def capabilities(user: User | AnonymousUser | None, model_label: str) -> frozenset[str]:
    """Return what the user may do with the model ("view", "add", "change", "delete")."""
    membership = membership_of(user)
    if membership is None:
        return frozenset()
    return CAPABILITIES.get(membership.role, {}).get(model_label, frozenset())


def can(user: User | AnonymousUser | None, action: str, model_label: str) -> bool:
    return action in capabilities(user, model_label)


# The owner and the staff rows -----------------------------------------------------------
# Beyond the map: administrators add staff and change their name and role, but only the
# owner touches an owner's row or gives the owner role, and nobody changes their own role
# or removes themselves (an owner cannot leave the agency without one).


def is_owner(user: User | AnonymousUser | None) -> bool:
    """Return whether the user is an active staff login and their agency's owner."""
    membership = membership_of(user)
    return membership is not None and membership.role == StaffRole.OWNER


def may_change_staff_row(user: User | AnonymousUser | None, membership: StaffMembership) -> bool:
    """Return whether the user may edit this staff row: an owner's row is the owner's alone
    (an administrator reads it). The role map still decides whether staff rows change."""
    return membership.role != StaffRole.OWNER or is_owner(user)


def may_remove_staff_row(user: User | AnonymousUser, membership: StaffMembership) -> bool:
    """Return whether the user may remove this staff row: never their own, and an owner's
    only if they are the owner. The role map still decides whether staff rows go."""
    return membership.user_id != user.pk and may_change_staff_row(user, membership)


def may_change_role_of(user: User | AnonymousUser, membership: StaffMembership) -> bool:
    """Return whether the user may change this staff row's role: anyone's but their own."""
    return membership.user_id != user.pk


def may_give_role(user: User | AnonymousUser | None, role: str) -> bool:
    """Return whether the user may give a staff member this role: the owner role is the
    owner's to give."""
    return role != StaffRole.OWNER or is_owner(user)
