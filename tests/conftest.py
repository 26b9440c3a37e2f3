import pytest
from django.test import Client
from django.utils import translation

from merchants.models import Membership
from tests.factories import MembershipFactory

# Fixtures for the whole suite: spec-checked HTTP mocks of both APIs and a real browser.
pytest_plugins = [
    "tests.contracts.sevdesk",
    "tests.contracts.billbee",
    "tests.browser",
    "tests.sandbox_http",
    "tests.exports_fixtures",
]


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (German): LocaleMiddleware leaves the language
    of the last request (say English) active in the thread, and Billbee's state and payment
    names follow the active language."""
    translation.deactivate()
    yield
    translation.deactivate()


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
    """A browser session logged in as an owner of `merchant` (MembershipFactory's default role):
    the tests that change settings use it. `plain_member_client` is a member without that
    right."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def plain_member(merchant):
    """A second user of `merchant` with the role "member" (not owner)."""
    return MembershipFactory(merchant=merchant, role=Membership.Role.MEMBER)


@pytest.fixture
def plain_member_client(plain_member) -> Client:
    """A browser session of a member (not an owner) of `merchant`: may export, not configure."""
    client = Client()
    client.force_login(plain_member.user)
    return client
