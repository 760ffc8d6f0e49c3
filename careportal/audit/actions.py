"""Every action the audit trail records: its stored value and how the back office names it.

The values are the strings the trail has always stored (`invoice.viewed`): a new action is
a new member here, and an existing one never changes its value, or older events would lose
their meaning. TextChoices rather than a plain StrEnum for its labels: the back office's
audit trail shows each action in plain words, and its filter offers this fixed list
rather than reading the trail for its distinct values. The model's field takes no
choices: an action added here needs no migration, and an event whose action Action no
longer has still shows it as stored.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    # Sign-in, passwords and two-factor.
    SIGNIN_SUCCESS = "signin.success", _("Signed in")
    SIGNIN_FAILURE = "signin.failure", _("Sign-in failed")
    SIGNIN_ONE_TIME_PASSWORD = "signin.one_time_password", _("Signed in with a one-time password")
    SIGNIN_TWO_FACTOR = "signin.two_factor", _("Second sign-in step passed")
    SIGNIN_TWO_FACTOR_FAILURE = "signin.two_factor_failure", _("Second sign-in step failed")
    ACCOUNT_LOCKED = "account.locked", _("Login locked")
    ACCOUNT_UNLOCKED = "account.unlocked", _("Login unlocked")
    ADDRESS_THROTTLED = "address.throttled", _("Too many tries from one address")
    PASSWORD_CHANGE = "password.change", _("Password changed")
    PASSWORD_RESET = "password.reset", _("Password reset")
    PASSWORD_SET = "password.set", _("Password set")
    PASSWORD_CHANGE_REQUIRED = "password.change_required", _("New password required")
    PASSWORD_EXPIRED = "password.expired", _("Password expired")
    PASSWORD_RECHECK_FAILURE = "password.recheck_failure", _("Password check failed")
    PASSWORD_RESET_REQUESTED = "password_reset.requested", _("Password reset asked for")
    PASSWORD_RESET_RATE_LIMITED = (
        "password_reset.rate_limited",
        _("Password reset refused: asked for too often"),
    )
    PASSWORD_RESET_WRONG_ANSWER = (
        "password_reset.wrong_answer",
        _("Password reset: wrong security answer"),
    )
    PASSWORD_RESET_LOCKED = "password_reset.locked", _("Password reset locked")
    SECURITY_QUESTION_CHANGE = "security_question.change", _("Security question changed")
    EMAIL_CHANGE_REQUESTED = "email.change_requested", _("Email change asked for")
    EMAIL_CHANGED = "email.changed", _("Email changed")
    SESSION_SIGNED_OUT_EVERYWHERE = (
        "session.signed_out_everywhere",
        _("Signed out everywhere"),
    )
    TWO_FACTOR_ENROLLED = "two_factor.enrolled", _("Two-step sign-in turned on")
    TWO_FACTOR_REMOVED = "two_factor.removed", _("Two-step sign-in turned off")
    TWO_FACTOR_RECOVERY_CODES_RENEWED = (
        "two_factor.recovery_codes_renewed",
        _("New recovery codes made"),
    )
    TWO_FACTOR_RESET = "two_factor.reset", _("Two-step sign-in reset by the agency")

    # Portal accounts and their invitations.
    PORTAL_ACCOUNT_LINKED = "portal_account.linked", _("Portal account linked")
    PORTAL_ACCOUNT_DEACTIVATED = "portal_account.deactivated", _("Portal account turned off")
    PORTAL_ACCOUNT_REACTIVATED = "portal_account.reactivated", _("Portal account turned on again")
    PORTAL_ACCOUNT_DEMO_RESET = "portal_account.demo_reset", _("Demo portal account reset")
    INVITATION_QUEUED = "invitation.queued", _("Invitation queued")
    INVITATION_RESENT = "invitation.resent", _("Invitation sent again")
    INVITATION_BULK_QUEUED = "invitation.bulk_queued", _("Invitations queued together")
    INVITATION_SENT = "invitation.sent", _("Invitation sent")
    INVITATION_FAILED = "invitation.failed", _("Invitation could not be sent")
    INVITATION_EXPIRED = "invitation.expired", _("Invitation expired")
    INVITATION_ACCEPTED = "invitation.accepted", _("Invitation accepted")
    INVITATION_ENDED_BY_WRONG_TRIES = (
        "invitation.ended_by_wrong_tries",
        _("Invitation ended after wrong tries"),
    )

    # Clients, their contacts, payers and communities.
    CLIENT_VIEWED = "client.viewed", _("Client viewed")
    PARTY_CREATED = "party.created", _("Person or organisation added")
    PARTY_CHANGED = "party.changed", _("Person or organisation changed")
    PARTY_DELETED = "party.deleted", _("Person or organisation deleted")
    PARTY_EMAIL_CHANGED = "party.email_changed", _("Email of a person changed")
    CONSENT_CHANGED = "consent.changed", _("Consent changed")
    RECORD_COPY_ASKED = "record_copy.asked", _("Copy of a record asked for")
    RECORD_COPY_DOWNLOADED = "record_copy.downloaded", _("Copy of a record downloaded")
    DASHBOARD_VIEWED = "dashboard.viewed", _("Dashboard viewed")
    DASHBOARD_VIEWED_FOR_CLIENT = (
        "dashboard.viewed_for_client",
        _("Dashboard viewed (one of several clients)"),
    )

    # Visits, caregivers and the calendar.
    CAREGIVER_CREATED = "caregiver.created", _("Caregiver added")
    CAREGIVER_CHANGED = "caregiver.changed", _("Caregiver changed")
    VISIT_CREATED = "visit.created", _("Visit added")
    VISIT_CHANGED = "visit.changed", _("Visit changed")
    VISIT_STATUS_CHANGED = "visit.status_changed", _("Visit status changed")
    VISIT_SCHEDULE_VISITS_CREATED = (
        "visit_schedule.visits_created",
        _("Visits made from a schedule"),
    )
    CALENDAR_VIEWED = "calendar.viewed", _("Calendar viewed")
    CALENDAR_VIEWED_FOR_CLIENT = (
        "calendar.viewed_for_client",
        _("Calendar viewed (one of several clients)"),
    )
    CALENDAR_FEED_CREATED = "calendar_feed.created", _("Calendar feed made")
    CALENDAR_FEED_CLIENT_ADDED = "calendar_feed.client_added", _("Client added to a calendar feed")
    CALENDAR_FEED_CLIENT_REMOVED = (
        "calendar_feed.client_removed",
        _("Client removed from a calendar feed"),
    )
    CALENDAR_FEED_REVOKED = "calendar_feed.revoked", _("Calendar feed stopped")
    CALENDAR_FEED_FETCHED = "calendar_feed.fetched", _("Calendar feed read by a calendar app")
    CALENDAR_FEED_FETCHED_FOR_CLIENT = (
        "calendar_feed.fetched_for_client",
        _("Calendar feed read (one of several clients)"),
    )

    # Care plans.
    SERVICE_PLAN_CREATED = "service_plan.created", _("Care plan added")
    SERVICE_PLAN_CHANGED = "service_plan.changed", _("Care plan changed")
    SERVICE_PLAN_VIEWED = "service_plan.viewed", _("Care plan viewed")
    SERVICE_PLAN_LIST_VIEWED = "service_plan.list_viewed", _("Care plans listed")

    # Invoices and payments.
    INVOICE_CREATED = "invoice.created", _("Invoice added")
    INVOICE_CHANGED = "invoice.changed", _("Invoice changed")
    INVOICE_DELETED = "invoice.deleted", _("Invoice deleted")
    INVOICE_ISSUED = "invoice.issued", _("Invoice issued")
    INVOICE_VOIDED = "invoice.voided", _("Invoice voided")
    INVOICE_VIEWED = "invoice.viewed", _("Invoice viewed")
    INVOICE_PDF_DOWNLOADED = "invoice.pdf_downloaded", _("Invoice downloaded as a PDF")
    INVOICE_LIST_VIEWED = "invoice.list_viewed", _("Invoices listed")
    INVOICE_LIST_VIEWED_FOR_CLIENT = (
        "invoice.list_viewed_for_client",
        _("Invoices listed (one of several clients)"),
    )
    INVOICE_LINE_CREATED = "invoice_line.created", _("Invoice line added")
    INVOICE_LINE_CHANGED = "invoice_line.changed", _("Invoice line changed")
    INVOICE_LINE_DELETED = "invoice_line.deleted", _("Invoice line deleted")
    PAYMENT_RECORDED = "payment.recorded", _("Payment recorded")
    PAYMENT_CHANGED = "payment.changed", _("Payment changed")
    PAYMENT_DELETED = "payment.deleted", _("Payment deleted")

    # Messages to the agency.
    MESSAGE_SENT = "message.sent", _("Message sent")
    MESSAGE_VIEWED = "message.viewed", _("Message read")

    # Imports and exports of CSV files.
    CLIENT_IMPORT_IMPORTED = "client_import.imported", _("File imported")
    LINK_CREATED = "link.created", _("Link to a payer or community added")
    LINK_CHANGED = "link.changed", _("Link to a payer or community changed")
    CLIENTS_EXPORTED = "clients.exported", _("Clients exported")
    PAYERS_EXPORTED = "payers.exported", _("Payers exported")
    COMMUNITIES_EXPORTED = "communities.exported", _("Communities exported")
    LINKS_EXPORTED = "links.exported", _("Links to payers and communities exported")
    VISITS_EXPORTED = "visits.exported", _("Visits exported")

    # The platform's operators.
    OPERATOR_VIEWED = "operator.viewed", _("Viewed by a platform operator")

    # The integration API: its keys, then `api.<record>.<verb>` for each record it offers.
    API_KEY_CREATED = "api_key.created", _("API key made")
    API_KEY_REVOKED = "api_key.revoked", _("API key stopped")
    API_CLIENT_LISTED = "api.client.listed", _("API: clients listed")
    API_CLIENT_VIEWED = "api.client.viewed", _("API: client viewed")
    API_CLIENT_CREATED = "api.client.created", _("API: client added")
    API_CLIENT_CHANGED = "api.client.changed", _("API: client changed")
    API_EMERGENCY_CONTACT_LISTED = (
        "api.emergency_contact.listed",
        _("API: emergency contacts listed"),
    )
    API_EMERGENCY_CONTACT_VIEWED = (
        "api.emergency_contact.viewed",
        _("API: emergency contact viewed"),
    )
    API_EMERGENCY_CONTACT_CREATED = (
        "api.emergency_contact.created",
        _("API: emergency contact added"),
    )
    API_EMERGENCY_CONTACT_CHANGED = (
        "api.emergency_contact.changed",
        _("API: emergency contact changed"),
    )
    API_PAYER_LISTED = "api.payer.listed", _("API: payers listed")
    API_PAYER_VIEWED = "api.payer.viewed", _("API: payer viewed")
    API_PAYER_CREATED = "api.payer.created", _("API: payer added")
    API_PAYER_CHANGED = "api.payer.changed", _("API: payer changed")
    API_PAYER_PERSON_LISTED = "api.payer_person.listed", _("API: payers' people listed")
    API_PAYER_PERSON_VIEWED = "api.payer_person.viewed", _("API: payer's person viewed")
    API_PAYER_PERSON_CREATED = "api.payer_person.created", _("API: payer's person added")
    API_PAYER_PERSON_CHANGED = "api.payer_person.changed", _("API: payer's person changed")
    API_COMMUNITY_LISTED = "api.community.listed", _("API: communities listed")
    API_COMMUNITY_VIEWED = "api.community.viewed", _("API: community viewed")
    API_COMMUNITY_CREATED = "api.community.created", _("API: community added")
    API_COMMUNITY_CHANGED = "api.community.changed", _("API: community changed")
    API_COMMUNITY_PERSON_LISTED = (
        "api.community_person.listed",
        _("API: communities' people listed"),
    )
    API_COMMUNITY_PERSON_VIEWED = "api.community_person.viewed", _("API: community's person viewed")
    API_COMMUNITY_PERSON_CREATED = (
        "api.community_person.created",
        _("API: community's person added"),
    )
    API_COMMUNITY_PERSON_CHANGED = (
        "api.community_person.changed",
        _("API: community's person changed"),
    )
    API_CLIENT_PAYER_LISTED = "api.client_payer.listed", _("API: clients' payers listed")
    API_CLIENT_PAYER_VIEWED = "api.client_payer.viewed", _("API: client's payer viewed")
    API_CLIENT_PAYER_CREATED = "api.client_payer.created", _("API: client's payer added")
    API_CLIENT_PAYER_CHANGED = "api.client_payer.changed", _("API: client's payer changed")
    API_RESIDENCE_LISTED = "api.residence.listed", _("API: residences listed")
    API_RESIDENCE_VIEWED = "api.residence.viewed", _("API: residence viewed")
    API_RESIDENCE_CREATED = "api.residence.created", _("API: residence added")
    API_RESIDENCE_CHANGED = "api.residence.changed", _("API: residence changed")
    API_CAREGIVER_LISTED = "api.caregiver.listed", _("API: caregivers listed")
    API_CAREGIVER_VIEWED = "api.caregiver.viewed", _("API: caregiver viewed")
    API_CAREGIVER_CREATED = "api.caregiver.created", _("API: caregiver added")
    API_CAREGIVER_CHANGED = "api.caregiver.changed", _("API: caregiver changed")
    API_VISIT_LISTED = "api.visit.listed", _("API: visits listed")
    API_VISIT_VIEWED = "api.visit.viewed", _("API: visit viewed")
    API_VISIT_CREATED = "api.visit.created", _("API: visit added")
    API_VISIT_CHANGED = "api.visit.changed", _("API: visit changed")
    API_SERVICE_PLAN_LISTED = "api.service_plan.listed", _("API: care plans listed")
    API_SERVICE_PLAN_VIEWED = "api.service_plan.viewed", _("API: care plan viewed")
    API_SERVICE_PLAN_CREATED = "api.service_plan.created", _("API: care plan added")
    API_SERVICE_PLAN_CHANGED = "api.service_plan.changed", _("API: care plan changed")
    API_INVOICE_LISTED = "api.invoice.listed", _("API: invoices listed")
    API_INVOICE_VIEWED = "api.invoice.viewed", _("API: invoice viewed")
    API_INVOICE_CREATED = "api.invoice.created", _("API: invoice added")
    API_INVOICE_CHANGED = "api.invoice.changed", _("API: invoice changed")
    API_INVOICE_ISSUED = "api.invoice.issued", _("API: invoice issued")
    API_INVOICE_VOIDED = "api.invoice.voided", _("API: invoice voided")
    API_PAYMENT_LISTED = "api.payment.listed", _("API: payments listed")
    API_PAYMENT_VIEWED = "api.payment.viewed", _("API: payment viewed")
    API_PAYMENT_CREATED = "api.payment.created", _("API: payment added")
    API_PAYMENT_CHANGED = "api.payment.changed", _("API: payment changed")


# The event record_for_clients writes for each client of a view of several clients' data.
FOR_CLIENT: dict[Action, Action] = {
    Action.DASHBOARD_VIEWED: Action.DASHBOARD_VIEWED_FOR_CLIENT,
    Action.CALENDAR_VIEWED: Action.CALENDAR_VIEWED_FOR_CLIENT,
    Action.CALENDAR_FEED_FETCHED: Action.CALENDAR_FEED_FETCHED_FOR_CLIENT,
    Action.INVOICE_LIST_VIEWED: Action.INVOICE_LIST_VIEWED_FOR_CLIENT,
}
