"""Tiny background tasks for the worker's tests (django-tasks finds them by their path)."""

from django_tasks import task

from careportal.emails.queue import queue_email


@task()
def add(a, b):
    return a + b


@task()
def fail():
    raise ValueError("this task always fails")


@task()
def tell(address):
    """Queue an email, as an export will once its file is ready."""
    queue_email(name="email_changed_old", to=address, context={"party_name": "June Park"})
    return address
