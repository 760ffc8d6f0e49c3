"""Logos uploaded before the upload checks: checked, drawn again and stored under a random name.

A logo's address is its file name (agencies.views.logo), so an old, guessable name
("sunrise.png") would let agencies be found by trying names. Each one goes through the same
checks as a new upload; a file that fails them (not a PNG, JPEG or WebP picture, too large)
or is missing is taken off, and the owner uploads the logo again.
"""

import re
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.db import migrations

# The names that agencies.images gives: 18 random bytes, URL-safe base64 (24 characters).
RANDOM_NAME = re.compile(r"\A[A-Za-z0-9_-]{24}\.(png|jpg|webp)\Z")


def rename_logos(apps, schema_editor):
    from careportal.agencies.images import reencoded_image

    Agency = apps.get_model("agencies", "Agency")
    for agency in Agency.objects.exclude(logo=""):
        old = agency.logo.name
        if RANDOM_NAME.match(PurePosixPath(old).name):
            continue
        storage = agency.logo.storage
        try:
            with storage.open(old, "rb") as file:
                picture = reencoded_image(file)
        except (OSError, ValidationError):
            picture = None
        if picture is None:
            agency.logo = ""
        else:
            agency.logo.save(picture.name, picture, save=False)
        agency.save(update_fields=["logo"])
        if storage.exists(old):
            storage.delete(old)


class Migration(migrations.Migration):
    dependencies = [("agencies", "0001_initial")]

    operations = [migrations.RunPython(rename_logos, migrations.RunPython.noop)]
