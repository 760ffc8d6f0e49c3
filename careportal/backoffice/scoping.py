"""Model admins that keep a staff member inside their own agency."""

from __future__ import annotations

from django.contrib import admin


class AgencyScopedAdmin(admin.ModelAdmin):
    """Base of every model admin on the back office site."""
