import pytest
from django.test import Client

from tests.factories import MembershipFactory

# Fixtures for the whole suite: spec-checked HTTP mocks of both APIs and a real browser.
pytest_plugins = [
    "tests.contracts.sevdesk",
    "tests.contracts.billbee",
    "tests.browser",
    "tests.sandbox_http",
    "tests.exports_fixtures",
]


@pytest.fixture
def membership(db):
    return MembershipFactory()


@pytest.fixture
def merchant(membership):
    return membership.merchant


@pytest.fixture
def user(membership):
    return membership.user


@pytest.fixture
def member_client(user) -> Client:
    """A browser session logged in as a member of `merchant`."""
    client = Client()
    client.force_login(user)
    return client
