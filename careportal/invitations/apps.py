from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvitationsConfig(AppConfig):
    name = "careportal.invitations"
    label = "invitations"
    verbose_name = _("Invitations")

    def ready(self) -> None:
        # The invitation outbox's steps in each pass of the worker (emails.delivery).
        from careportal.emails.delivery import register_step
        from careportal.invitations import outbox, services
        from careportal.invitations.models import NewInvitationRequest

        # Before the invitations step, so an invitation asked for goes out in the same pass.
        register_step(
            "new_invitation_requests",
            services.process_new_invitation_requests,
            waiting=NewInvitationRequest.objects.exists,
        )
        register_step("invitations", outbox.deliver_invitations, waiting=outbox.invitations_waiting)
        register_step("expired", outbox.expire_invitations)
