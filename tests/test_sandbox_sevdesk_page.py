"""The sandbox's demo page and PDF download, the account service and its command."""

import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from sandbox.sevdesk.models import CheckAccount, SandboxAccount, Voucher
from sandbox.sevdesk.services import fault_inject, sandbox_account_create, temp_file_create
from tests import sandbox_sevdesk_support as support
from tests.sandbox_sevdesk_support import (
    offline_account,
    pdf_bytes,
    position,
    save_voucher,
)

api = support.api


@pytest.fixture
def sandbox_account(merchant) -> SandboxAccount:
    """The member's own sandbox account: the page shows a merchant only the accounts it owns."""
    account = sandbox_account_create(name="Muster Shop GmbH")
    account.owner = merchant
    account.save(update_fields=["owner"])
    return account


PAGE = reverse("sandbox:sevdesk:voucher_list")


def a_booked_voucher_with_file(api, account) -> Voucher:
    upload = SimpleUploadedFile("RN-2026-0083.pdf", pdf_bytes(), content_type="application/pdf")
    temp_file = temp_file_create(account=account, upload=upload)
    voucher = save_voucher(
        api,
        filename=temp_file.filename,
        positions=[
            position(gross="119.00"),
            position(account_number="4300", rate=7, gross="10.70"),
        ],
    )
    api.put(
        f"/Voucher/{voucher['id']}/bookAmount",
        {
            "amount": 129.70,
            "date": "2026-11-03T00:00:00+01:00",
            "type": "FULL_PAYMENT",
            "checkAccount": {"id": offline_account(account).pk, "objectName": "CheckAccount"},
        },
    )
    return Voucher.objects.get(pk=voucher["id"])


# --- The page ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [PAGE, "/sandbox/sevdesk/vouchers/1/file/"])
def test_the_sandbox_pages_need_a_login(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_shows_what_arrived_with_positions_sums_status_and_payments(
    member_client, api, sandbox_account
):
    voucher = a_booked_voucher_with_file(api, sandbox_account)

    page = member_client.get(PAGE, headers={"Accept-Language": "en"}).content.decode()

    row = re.search(rf'data-voucher-id="{voucher.pk}".*?</tr>', page, re.S).group(0)
    assert "RN-2026-0083" in row
    assert "Erika Mustermann" in row
    assert "4400" in row and "4300" in row
    assert "129.70" in row
    assert "1000" in row
    assert "Verrechnungskonto PayPal" in row
    assert reverse("sandbox:sevdesk:voucher_file", args=[voucher.pk]) in row


def test_the_page_lists_vouchers_newest_first(member_client, api):
    save_voucher(api, description="RN-FIRST")
    save_voucher(api, description="RN-SECOND")

    page = member_client.get(PAGE).content.decode()

    assert page.index("RN-SECOND") < page.index("RN-FIRST")


def test_the_page_shows_the_accounts_tokens_check_accounts_and_active_faults(
    member_client, sandbox_account
):
    fault_inject(account=sandbox_account, kind="http_429", count=3, path_contains="saveVoucher")
    fault_inject(account=sandbox_account, kind="http_500", count=0)  # used up

    page = member_client.get(PAGE).content.decode()

    assert sandbox_account.token in page
    assert "Geschäftskonto" in page and "Verrechnungskonto PayPal" in page
    faults = re.search(r'<ul class="faults">.*?</ul>', page, re.S).group(0)
    assert "429" in faults and "saveVoucher" in faults
    assert "500" not in faults


def test_the_pdf_of_a_voucher_can_be_downloaded(member_client, api, sandbox_account):
    voucher = a_booked_voucher_with_file(api, sandbox_account)

    response = member_client.get(reverse("sandbox:sevdesk:voucher_file", args=[voucher.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == pdf_bytes()


def test_a_voucher_without_file_has_no_download(member_client, api):
    voucher = save_voucher(api)

    response = member_client.get(reverse("sandbox:sevdesk:voucher_file", args=[voucher["id"]]))

    assert response.status_code == 404


# --- Accounts and the command --------------------------------------------------------------


def test_a_new_sandbox_account_gets_a_sevdesk_shaped_token(db):
    account = sandbox_account_create(name="Demo")

    assert re.fullmatch(r"[0-9a-f]{32}", account.token)
    assert account.bookkeeping_version == "2.0"
    types = sorted(CheckAccount.objects.filter(account=account).values_list("type", flat=True))
    assert types == ["offline", "online"]


def test_a_sandbox_account_can_be_given_its_token(db):
    account = sandbox_account_create(name="Demo", token="ab" * 16)

    assert SandboxAccount.objects.get(token="ab" * 16) == account


def test_the_command_creates_an_account_and_prints_its_token(db):
    out = StringIO()

    call_command("sandbox_sevdesk_account", "--name", "Demo GmbH", stdout=out)

    account = SandboxAccount.objects.get()
    assert out.getvalue().strip() == account.token
    assert account.name == "Demo GmbH"


def test_the_command_reuses_the_account_of_a_known_token(db):
    token = "cd" * 16
    call_command("sandbox_sevdesk_account", "--token", token, stdout=StringIO())
    out = StringIO()

    call_command("sandbox_sevdesk_account", "--token", token, stdout=out)

    assert out.getvalue().strip() == token
    assert SandboxAccount.objects.count() == 1


def test_the_command_refuses_a_token_sevdesk_would_never_issue(db):
    with pytest.raises(CommandError):
        call_command("sandbox_sevdesk_account", "--token", "not-a-token", stdout=StringIO())


# --- Admin ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["sandboxaccount", "voucher", "faultplan", "contact", "checkaccount", "tempfile"]
)
def test_staff_see_the_sandbox_models_in_the_admin(admin_client, api, model):
    save_voucher(api)

    response = admin_client.get(f"/admin/sandbox_sevdesk/{model}/")

    assert response.status_code == 200


def test_the_admin_shows_an_account_with_its_check_accounts_and_faults(
    admin_client, sandbox_account
):
    fault_inject(account=sandbox_account, kind="http_500", path_contains="saveVoucher")

    response = admin_client.get(
        f"/admin/sandbox_sevdesk/sandboxaccount/{sandbox_account.pk}/change/"
    )

    assert response.status_code == 200
    assert "Verrechnungskonto PayPal" in response.content.decode()
    assert "saveVoucher" in response.content.decode()
