"""The sandbox is a development tool: each merchant sees only its own sandbox accounts, and
without SANDBOX_ENABLED its apps, tables, pages and admin do not exist at all.

(That production refuses SANDBOX_ENABLED=true is in test_settings_production.py.)
"""

import os
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from sandbox.billbee.models import SandboxAccount as BillbeeSandbox
from sandbox.billbee.services import orders_generate
from sandbox.sevdesk.models import SandboxAccount as SevdeskSandbox
from sandbox.sevdesk.models import Voucher
from sandbox.sevdesk.services import sandbox_account_create, temp_file_create
from tests.factories import MembershipFactory, UserFactory
from tests.sandbox_sevdesk_support import pdf_bytes

SEVDESK_PAGE = reverse("sandbox:sevdesk:voucher_list")
BILLBEE_PAGE = reverse("sandbox:billbee:order_list")


def sevdesk_of(merchant, name="Muster sevDesk") -> SevdeskSandbox:
    account = sandbox_account_create(name=name)
    account.owner = merchant
    account.save(update_fields=["owner"])
    return account


def billbee_of(merchant, name="Muster Billbee") -> BillbeeSandbox:
    return BillbeeSandbox.objects.create(
        name=name, username=f"{name.lower().replace(' ', '.')}@example.com", owner=merchant
    )


def voucher_with_file(account: SevdeskSandbox, description: str) -> Voucher:
    upload = SimpleUploadedFile(f"{description}.pdf", pdf_bytes(), content_type="application/pdf")
    return Voucher.objects.create(
        account=account,
        description=description,
        status=Voucher.Status.OPEN,
        credit_debit=Voucher.CreditDebit.DEBIT,
        file=temp_file_create(account=account, upload=upload),
    )


@pytest.fixture
def other_client(db) -> Client:
    """A member of another merchant account."""
    client = Client()
    client.force_login(MembershipFactory().user)
    return client


# --- sevDesk sandbox -----------------------------------------------------------------------


def test_a_merchant_sees_its_own_sandbox_sevdesk_account_and_its_token(member_client, merchant):
    account = sevdesk_of(merchant)
    voucher_with_file(account, "RN-OWN-1")

    page = member_client.get(SEVDESK_PAGE).content.decode()

    assert account.token in page
    assert "RN-OWN-1" in page


def test_another_merchant_sees_neither_the_token_nor_the_vouchers(other_client, merchant):
    account = sevdesk_of(merchant)
    voucher_with_file(account, "RN-OWN-1")

    response = other_client.get(SEVDESK_PAGE)

    assert response.status_code == 200
    page = response.content.decode()
    assert account.token not in page
    assert "RN-OWN-1" not in page


def test_an_account_without_owner_is_on_nobodys_page(member_client, db):
    """Accounts made on the command line (or by the benchmarks) belong to no merchant; staff
    find them in the admin."""
    account = sandbox_account_create(name="Nobody's")

    assert account.token not in member_client.get(SEVDESK_PAGE).content.decode()


def test_the_voucher_pdf_is_only_for_the_accounts_merchant(member_client, other_client, merchant):
    voucher = voucher_with_file(sevdesk_of(merchant), "RN-OWN-2")
    url = reverse("sandbox:sevdesk:voucher_file", args=[voucher.pk])

    assert member_client.get(url).status_code == 200
    assert other_client.get(url).status_code == 404


def test_a_login_without_merchant_account_gets_404(client, merchant):
    sevdesk_of(merchant)
    client.force_login(UserFactory())

    assert client.get(SEVDESK_PAGE).status_code == 404
    assert client.get(BILLBEE_PAGE).status_code == 404


def test_the_sandbox_sevdesk_api_still_answers_by_token_alone(client, merchant):
    account = sevdesk_of(merchant)

    response = client.get(
        "/sandbox/sevdesk/api/v1/Tools/bookkeepingSystemVersion",
        headers={"Authorization": account.token},
    )

    assert response.status_code == 200


# --- Billbee sandbox -----------------------------------------------------------------------


def test_a_merchant_sees_its_own_sandbox_billbee_credentials_and_orders(member_client, merchant):
    account = billbee_of(merchant)
    orders_generate(account=account, count=3, seed=7)

    page = member_client.get(BILLBEE_PAGE).content.decode()

    assert account.api_key in page and account.api_password in page
    number = account.orders.order_by("-last_modified_at").first().order_number
    assert number in page


def test_another_merchant_sees_no_sandbox_billbee_credentials_or_orders(
    other_client, member_client, merchant
):
    account = billbee_of(merchant)
    orders_generate(account=account, count=3, seed=7)
    number = account.orders.first().order_number

    page = other_client.get(BILLBEE_PAGE).content.decode()

    assert account.api_key not in page and account.api_password not in page
    assert number not in page


# --- Demo bootstrap ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_merchant_owns_the_demo_sandbox_accounts(settings, tmp_path, monkeypatch):
    from django.core.management import call_command

    from merchants.models import MerchantAccount
    from sandbox.management.commands import bootstrap_demo

    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(bootstrap_demo.demo_setup, "delay", lambda *ids: None)  # not the point
    call_command("bootstrap_demo")

    demo = MerchantAccount.objects.get()
    assert BillbeeSandbox.objects.get().owner == demo
    assert SevdeskSandbox.objects.get().owner == demo


# --- Without SANDBOX_ENABLED ---------------------------------------------------------------

PROBE = """
import django
django.setup()
from django.apps import apps
from django.contrib import admin
from django.urls import Resolver404, resolve
installed = [a for a in ("sandbox", "sandbox.sevdesk", "sandbox.billbee") if apps.is_installed(a)]
in_admin = [m._meta.label for m in admin.site._registry if m._meta.app_label.startswith("sandbox")]
try:
    resolve("/sandbox/sevdesk/")
    routed = True
except Resolver404:
    routed = False
print(installed, in_admin, routed)
"""


def probe(**env) -> str:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "billbee_sevdesk.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_sandbox_enabled_there_are_no_sandbox_apps_urls_or_admin():
    assert probe(APP_ENV="test", SANDBOX_ENABLED="false") == "[] [] False"


def test_with_sandbox_enabled_the_sandbox_is_installed():
    installed, _, _ = probe(APP_ENV="test", SANDBOX_ENABLED="true").partition("]")
    assert "sandbox.sevdesk" in installed
    assert probe(APP_ENV="test", SANDBOX_ENABLED="true").endswith("True")


# --- Admin ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/sandbox_billbee/sandboxaccount/",
        "/admin/sandbox_billbee/sandboxorder/",
        "/admin/sandbox_sevdesk/sandboxaccount/",
    ],
)
def test_staff_find_every_sandbox_account_in_the_admin(admin_client, url, db):
    account = BillbeeSandbox.objects.create(name="CLI account", username="cli@example.com")
    orders_generate(account=account, count=1, seed=3)
    sandbox_account_create(name="CLI sevDesk")

    response = admin_client.get(url)

    assert response.status_code == 200


def test_staff_can_give_a_sandbox_account_an_owner(admin_client, merchant):
    account = BillbeeSandbox.objects.create(name="CLI account", username="cli@example.com")

    page = admin_client.get(f"/admin/sandbox_billbee/sandboxaccount/{account.pk}/change/")

    assert 'name="owner"' in page.content.decode()
