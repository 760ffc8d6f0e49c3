"""The password policy: the agency's preset, tightened never loosened."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import (
    CommonPasswordValidator,
    MinimumLengthValidator,
    UserAttributeSimilarityValidator,
)
from django.core.exceptions import ValidationError


class AgencyPolicyValidator:
    """Apply the agency's preset (to be completed by the accounts issue)."""

    def validate(self, password: str, user: Any = None) -> None:
        errors: list[ValidationError] = []
        for validator in (
            MinimumLengthValidator(12),
            UserAttributeSimilarityValidator(("username", "first_name", "last_name", "email")),
            CommonPasswordValidator(),
        ):
            try:
                validator.validate(password, user)
            except ValidationError as exc:
                errors.extend(exc.error_list)
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        return "At least 12 characters."
