"""Security questions: the answer is hashed like a password, compared ignoring case and spacing.

The question is only ever asked after an emailed link has proved control of the mailbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.hashers import check_password, make_password
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from careportal.accounts.models import User

QUESTIONS = [
    ("first_street", _("What was the name of the first street you lived on?")),
    ("first_teacher", _("What was the name of your first school teacher?")),
    ("childhood_friend", _("What was the name of your best friend as a child?")),
    ("first_pet", _("What was the name of your first pet?")),
    ("parents_met", _("In what town did your parents meet?")),
    ("first_job", _("What was your first job?")),
    ("favourite_book", _("What is the title of your favorite book?")),
    ("wedding_town", _("In what town or city were you married?")),
    ("grandmother_first_name", _("What is your grandmother's first name?")),
]


def normalise_answer(answer: str) -> str:
    return " ".join(answer.split()).casefold()


def set_security_answer(user: User, question: str, answer: str) -> None:
    """Set the question and the hashed answer on the login (the caller saves it)."""
    user.security_question = question
    user.security_answer_hash = make_password(normalise_answer(answer))


def check_security_answer(user: User, answer: str) -> bool:
    if not user.security_answer_hash:
        return False
    return check_password(normalise_answer(answer), user.security_answer_hash)


def question_text(key: str) -> str:
    return str(dict(QUESTIONS).get(key, ""))
