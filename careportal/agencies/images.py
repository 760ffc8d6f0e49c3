"""Uploaded images (the agency's logo, caregivers' photos): checked, re-encoded, renamed.

An upload's name and declared type say nothing of what it holds, so neither is trusted:
Pillow reads the file, only PNG, JPEG and WebP are taken, the size and the pixel
dimensions are capped, and the picture is drawn again into a new file of its own format.
What is stored is that new file, free of whatever rode along (metadata, trailing bytes, a
script in a polyglot), under a random name that also makes its public address unguessable.

`ImageUploadField` is the form field that does all this; a model form uses it for the
model's ImageField (see agencies.forms and agencies.admin).
"""

from __future__ import annotations

import io
import secrets
import warnings
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_BYTES = 1024 * 1024
MAX_SIDE = 2000
# Pillow's format name: (file extension, content type).
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
# File extension: content type, for serving a stored picture.
CONTENT_TYPES = dict(FORMATS.values())


def _refuse(message: StrOrPromise, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def reencoded_image(upload: File[bytes]) -> SimpleUploadedFile:
    """Return the upload drawn again as a new PNG, JPEG or WebP file under a random name.

    Raise ValidationError, with a message for the person who chose the file, when it is
    larger than MAX_BYTES, is not a PNG, JPEG or WebP picture (whatever its name says),
    or is wider or taller than MAX_SIDE pixels.
    """
    if upload.size is not None and upload.size > MAX_BYTES:
        raise _refuse(
            _("This picture is too large: please choose one of 1 MB or less."), "too_large"
        )
    upload.seek(0)
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _refuse(
            _("This picture is too large: please choose one of 1 MB or less."), "too_large"
        )
    wrong_kind = _("Please choose a PNG, JPEG or WebP picture.")
    try:
        with warnings.catch_warnings():
            # A picture of absurd pixel count (a "decompression bomb") is refused, not read.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                width, height = probe.size
                if kind not in FORMATS:
                    raise _refuse(wrong_kind, "wrong_kind")
                if width > MAX_SIDE or height > MAX_SIDE:
                    raise _refuse(
                        _(
                            "This picture is too big: please choose one of at most "
                            "%(side)d by %(side)d pixels."
                        )
                        % {"side": MAX_SIDE},
                        "too_many_pixels",
                    )
                probe.load()
                picture = probe.copy()
    except ValidationError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise _refuse(wrong_kind, "wrong_kind") from exc
    extension, content_type = FORMATS[kind]
    out = io.BytesIO()
    if kind == "JPEG":
        picture.convert("RGB").save(out, format="JPEG", quality=88, optimize=True)
    elif kind == "WEBP":
        picture.save(out, format="WEBP", quality=88)
    else:
        if picture.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            picture = picture.convert("RGBA")
        picture.save(out, format="PNG", optimize=True)
    name = f"{secrets.token_urlsafe(18)}.{extension}"
    return SimpleUploadedFile(name, out.getvalue(), content_type=content_type)


class ImageUploadField(forms.ImageField):
    """A form's image field that stores only what reencoded_image makes of the upload."""

    default_error_messages = {
        "invalid_image": _("Please choose a PNG, JPEG or WebP picture."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", _("PNG, JPEG or WebP, up to 1 MB and 2000 by 2000 pixels."))
        super().__init__(*args, **kwargs)

    def to_python(self, data: File[Any] | None) -> File[Any] | None:
        # FileField's own checks (empty, name) only: the size is checked before Pillow
        # reads anything, and Pillow's reading is reencoded_image's.
        upload = forms.FileField.to_python(self, data)
        if upload is None:
            return None
        return reencoded_image(upload)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        if isinstance(widget, forms.FileInput) and "accept" not in widget.attrs:
            attrs["accept"] = ",".join(content_type for _ext, content_type in FORMATS.values())
        return attrs
