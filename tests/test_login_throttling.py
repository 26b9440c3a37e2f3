"""Password guessing is throttled (django-axes): per user name and IP address, on the login page
and the admin's, with a German message, lifted after a successful login or the cool-off."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

PASSWORD = "correct horse battery"  # what UserFactory sets
LOGIN = reverse("login")
ADMIN_LOGIN = "/admin/login/"
LOCKED_DE = "Zu viele fehlgeschlagene Anmeldeversuche"


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def staff(db):
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


def log_in(client, url, username, password, ip="203.0.113.7"):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )


def guess(client, url, username, times, ip="203.0.113.7"):
    return [log_in(client, url, username, "wrong-guess", ip).status_code for _ in range(times)]


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_limit_is_five_failures_by_default():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


def test_after_five_wrong_passwords_the_right_one_is_refused(client, alice):
    statuses = guess(client, LOGIN, "alice", 5)

    response = log_in(client, LOGIN, "alice", PASSWORD)

    assert statuses[:4] == [200] * 4  # the form again, with the usual error
    assert statuses[4] == 429  # the fifth failure locks
    assert response.status_code == 429
    assert not logged_in(client)


def test_the_lockout_page_says_so_in_german(client, alice):
    guess(client, LOGIN, "alice", 5)

    page = log_in(client, LOGIN, "alice", PASSWORD).content.decode()

    assert LOCKED_DE in page
    assert "15 Minuten" in page


def test_the_lockout_page_speaks_english_to_english_browsers(client, alice):
    guess(client, LOGIN, "alice", 5)

    response = client.post(
        LOGIN,
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
        headers={"Accept-Language": "en"},
    )

    assert "Too many failed login attempts" in response.content.decode()


def test_another_user_from_the_same_address_is_not_locked(client, alice):
    UserFactory(username="bob")
    guess(client, LOGIN, "alice", 5)

    response = log_in(client, LOGIN, "bob", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_the_same_user_from_another_address_is_not_locked(client, alice):
    guess(client, LOGIN, "alice", 5, ip="203.0.113.7")

    response = log_in(client, LOGIN, "alice", PASSWORD, ip="198.51.100.23")

    assert response.status_code == 302


def test_a_successful_login_resets_the_count(client, alice):
    guess(client, LOGIN, "alice", 4)
    assert log_in(client, LOGIN, "alice", PASSWORD).status_code == 302
    client.logout()

    statuses = guess(client, LOGIN, "alice", 4)

    assert statuses == [200] * 4
    assert log_in(client, LOGIN, "alice", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, alice):
    guess(client, LOGIN, "alice", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    response = log_in(client, LOGIN, "alice", PASSWORD)

    assert response.status_code == 302


def test_the_admin_login_is_throttled_too(client, staff):
    statuses = guess(client, ADMIN_LOGIN, "operator", 5)

    response = log_in(client, ADMIN_LOGIN, "operator", PASSWORD)

    assert statuses[4] == 429
    assert response.status_code == 429
    assert not logged_in(client)


def test_failures_on_both_login_pages_add_up(client, staff):
    guess(client, LOGIN, "operator", 3)
    guess(client, ADMIN_LOGIN, "operator", 2)

    assert log_in(client, ADMIN_LOGIN, "operator", PASSWORD).status_code == 429


def test_the_admin_login_works_with_the_right_password(client, staff):
    response = log_in(client, ADMIN_LOGIN, "operator", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_the_test_clients_login_helpers_keep_working(client, alice):
    """`force_login` skips authentication; `login()` goes through it, and axes wants the
    request there, as every login view passes it (a call without one is refused loudly)."""
    assert client.login(request=HttpRequest(), username="alice", password=PASSWORD)
    client.logout()
    client.force_login(alice)
    assert logged_in(client)


def test_behind_a_proxy_the_forwarded_address_counts(client, alice, settings):
    settings.LOGIN_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    for _ in range(5):
        client.post(
            LOGIN,
            {"username": "alice", "password": "wrong-guess"},
            REMOTE_ADDR=proxy,
            headers={"X-Forwarded-For": "192.0.2.1, 203.0.113.7"},  # forged left, real right
        )
    elsewhere = client.post(
        LOGIN,
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR=proxy,
        headers={"X-Forwarded-For": "198.51.100.23"},
    )

    assert elsewhere.status_code == 302  # another client behind the same proxy
    client.logout()
    again = client.post(
        LOGIN,
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR=proxy,
        headers={"X-Forwarded-For": "192.0.2.99, 203.0.113.7"},  # forging does not help
    )
    assert again.status_code == 429
