from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "careportal.invitations"
    label = "invitations"
