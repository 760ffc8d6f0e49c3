"""Service plans (care plans): protected health information, seen by the client alone."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from careportal.agencies.models import (
    AgencyScoped,
    external_id_field,
    external_id_unique,
    updated_at_field,
    updated_index,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from careportal.accounts.models import User


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class ServicePlanQuerySet(models.QuerySet["ServicePlan"]):
    def visible_to(self, user: User | AnonymousUser) -> ServicePlanQuerySet:
        """Return the service plans a portal login may see: its own client's, never others'."""
        from careportal.people import access
        from careportal.people.models import Client

        if not access.is_portal_login(user):
            return self.none()
        clients = Client.objects.filter(access.service_plan_client_filter(user)).values("pk")
        return (
            self.filter(agency_id=user.agency_id, client__in=clients)
            .exclude(status=PlanStatus.DRAFT)
            .prefetch_related("goals", "tasks")
        )


class ServicePlan(AgencyScoped):
    client = models.ForeignKey(
        "people.Client",
        on_delete=models.CASCADE,
        related_name="service_plans",
        verbose_name=_("client"),
    )
    title = models.CharField(_("title"), max_length=200)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=PlanStatus, default=PlanStatus.DRAFT
    )
    authorized_hours_per_week = models.DecimalField(
        _("authorized hours a week"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    coordinator_name = models.CharField(_("care coordinator"), max_length=200, blank=True)
    coordinator_phone = models.CharField(_("care coordinator's phone"), max_length=40, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    external_id = external_id_field()
    updated_at = updated_at_field()

    objects = ServicePlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("care plan")
        verbose_name_plural = _("care plans")
        ordering = ["-start_date"]
        indexes = [
            models.Index(fields=["agency", "client", "status"]),
            # The API's list, by the time a plan changed.
            updated_index("careplans_plan_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="careplans_plan_ends_after_start",
            ),
            external_id_unique("careplans_plan_external_id"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The end date cannot be before the start date.")})


class Goal(AgencyScoped):
    plan = models.ForeignKey(ServicePlan, on_delete=models.CASCADE, related_name="goals")
    description = models.CharField(_("goal"), max_length=300)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["id"]
        indexes = [models.Index(fields=["agency", "plan"])]
        constraints = [
            external_id_unique("careplans_goal_external_id"),
        ]

    def __str__(self) -> str:
        return self.description


class Activity(models.TextChoices):
    BATHING = "bathing", _("Bathing")
    DRESSING = "dressing", _("Dressing")
    EATING = "eating", _("Eating")
    TOILETING = "toileting", _("Toileting")
    TRANSFERRING = "transferring", _("Moving from bed or chair")
    CONTINENCE = "continence", _("Continence")
    MEDICATION = "medication", _("Medication reminders")
    MEALS = "meals", _("Preparing meals")
    HOUSEKEEPING = "housekeeping", _("Light housekeeping")
    COMPANIONSHIP = "companionship", _("Companionship")
    ERRANDS = "errands", _("Errands and appointments")
    OTHER = "other", _("Other")


class PlanTask(AgencyScoped):
    plan = models.ForeignKey(ServicePlan, on_delete=models.CASCADE, related_name="tasks")
    activity = models.CharField(_("activity"), max_length=16, choices=Activity)
    frequency = models.CharField(_("how often"), max_length=120)
    instructions = models.TextField(_("instructions"), blank=True)
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["id"]
        indexes = [models.Index(fields=["agency", "plan"])]
        constraints = [
            external_id_unique("careplans_task_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_activity_display()} ({self.frequency})"
