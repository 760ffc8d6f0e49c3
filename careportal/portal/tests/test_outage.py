"""The 503 page while the database is down."""

from django.db import OperationalError, connection
from django.test import RequestFactory

from careportal.portal.outage import DatabaseUnavailableMiddleware


def _down(*args, **kwargs):
    raise OperationalError("connection refused")


def test_it_answers_503_we_will_be_right_back_while_the_database_is_down(
    client, monkeypatch, django_assert_num_queries, db
):
    with django_assert_num_queries(0):
        monkeypatch.setattr(connection, "ensure_connection", _down)
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
        monkeypatch.undo()

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "We'll be right back" in response.content.decode()


def test_it_answers_in_the_browsers_language(client, monkeypatch):
    monkeypatch.setattr(connection, "ensure_connection", _down)

    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 503
    assert 'lang="es"' in response.content.decode()


def test_it_turns_a_database_error_in_a_view_into_the_503_page():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/invoices/")

    response = middleware.process_exception(request, OperationalError("server closed"))

    assert response.status_code == 503


def test_it_leaves_other_errors_to_the_500_handler():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/invoices/")

    assert middleware.process_exception(request, ValueError("a bug")) is None
