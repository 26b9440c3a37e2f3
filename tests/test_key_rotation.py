"""Key rotation (`rotate_encryption_keys`) and rows whose secret no configured key opens."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection as db
from django.urls import reverse

from connections.models import Connection
from orders.models import BillbeeAccount
from tests.connections_factories import GOOD_TOKEN, ConnectionFactory
from tests.orders_factories import BillbeeAccountFactory, ShopFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
UNREADABLE_DE = "nicht lesbar – bitte neu eingeben"


def stored(model, field: str, pk: int) -> str:
    """The ciphertext as it is in the table, bypassing the field's decryption."""
    table, column = model._meta.db_table, model._meta.get_field(field).column
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def rotate(**options) -> str:
    """What the command printed, its warnings (on stderr) included."""
    out, err = StringIO(), StringIO()
    call_command("rotate_encryption_keys", stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


@pytest.fixture
def written_with_the_old_key(db, settings, merchant):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    account = BillbeeAccountFactory(merchant=merchant, api_key="key-1", api_password="pw-1")
    connection = ConnectionFactory(merchant=merchant)
    return account, connection


@pytest.fixture
def lost_key(db, settings, merchant):
    """The merchant's Billbee secrets and sevDesk token were written with a key now gone."""
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    account = BillbeeAccountFactory(merchant=merchant)
    shop = ShopFactory(merchant=merchant)
    connection = ConnectionFactory(merchant=merchant, shops=[shop])
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    return account, connection, shop


# --- The command ---------------------------------------------------------------------------


def test_rotation_re_encrypts_every_secret_with_the_newest_key(written_with_the_old_key, settings):
    account, connection = written_with_the_old_key
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    report = rotate()

    new_only = Fernet(NEW_KEY)
    for model, field, pk in [
        (BillbeeAccount, "api_key", account.pk),
        (BillbeeAccount, "api_password", account.pk),
        (Connection, "api_token", connection.pk),
    ]:
        assert new_only.decrypt(stored(model, field, pk).encode())
    assert "orders.BillbeeAccount.api_key: 1 rotated, 0 already current, 0 unreadable" in report
    assert "connections.Connection.api_token: 1 rotated, 0 already current, 0 unreadable" in report


def test_after_rotation_the_old_key_can_be_dropped(written_with_the_old_key, settings):
    account, connection = written_with_the_old_key
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    rotate()

    settings.ENCRYPTION_KEYS = [NEW_KEY]

    reloaded = BillbeeAccount.objects.get(pk=account.pk)
    assert (reloaded.api_key, reloaded.api_password) == ("key-1", "pw-1")
    assert Connection.objects.get(pk=connection.pk).api_token == GOOD_TOKEN


def test_rotation_is_idempotent(written_with_the_old_key, settings):
    account, _ = written_with_the_old_key
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    rotate()
    ciphertext = stored(BillbeeAccount, "api_key", account.pk)

    report = rotate()

    assert stored(BillbeeAccount, "api_key", account.pk) == ciphertext  # nothing rewritten
    assert "orders.BillbeeAccount.api_key: 0 rotated, 1 already current, 0 unreadable" in report


def test_rotation_counts_an_unreadable_secret_and_leaves_it_alone(lost_key):
    account, _, _ = lost_key
    before = stored(BillbeeAccount, "api_key", account.pk)

    report = rotate()

    assert stored(BillbeeAccount, "api_key", account.pk) == before
    assert "orders.BillbeeAccount.api_key: 0 rotated, 0 already current, 1 unreadable" in report
    assert f"orders.BillbeeAccount #{account.pk}" in report  # which rows need a new secret


def test_a_dry_run_counts_and_changes_nothing(written_with_the_old_key, settings):
    account, _ = written_with_the_old_key
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    before = stored(BillbeeAccount, "api_key", account.pk)

    report = rotate(dry_run=True)

    assert stored(BillbeeAccount, "api_key", account.pk) == before
    assert "orders.BillbeeAccount.api_key: 1 rotated" in report
    with pytest.raises(InvalidToken):
        Fernet(NEW_KEY).decrypt(before.encode())


def test_rotation_does_not_overwrite_a_secret_saved_meanwhile(written_with_the_old_key, settings):
    """The row is rewritten only if it still holds the ciphertext that was rotated."""
    from core.management.commands.rotate_encryption_keys import rotate_value

    account, _ = written_with_the_old_key
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    old_ciphertext = stored(BillbeeAccount, "api_key", account.pk)
    account.api_key = "typed-meanwhile"
    account.save()

    outcome = rotate_value(
        model=BillbeeAccount, field="api_key", pk=account.pk, ciphertext=old_ciphertext
    )

    assert outcome == "changed meanwhile"
    assert BillbeeAccount.objects.get(pk=account.pk).api_key == "typed-meanwhile"


# --- Pages with an unreadable secret -------------------------------------------------------


def test_the_connection_list_opens_with_an_unreadable_token(member_client, lost_key):
    response = member_client.get(reverse("connections:connection_list"))

    assert response.status_code == 200


def test_the_connection_page_says_the_token_is_unreadable(member_client, lost_key):
    _, connection, _ = lost_key

    response = member_client.get(connection.get_absolute_url())

    assert response.status_code == 200
    assert UNREADABLE_DE in response.content.decode()
    assert response.context["form"].fields["api_token"].required


def test_the_merchant_can_enter_the_token_again(member_client, lost_key):
    """sevDesk is not reachable here (the test settings point at a closed port): the token is
    saved all the same, as after any save whose test could not reach sevDesk."""
    _, connection, shop = lost_key
    new_token = "ab" * 16

    response = member_client.post(
        connection.get_absolute_url(),
        {
            "name": connection.name,
            "start_date": "2026-01-01",
            "shops": [shop.pk],
            "order_states": ["3"],
            "payment_reconciliation": "billbee",
            "api_token": new_token,
            "voucher_date_basis": "invoice",
            "action": "save",
        },
    )

    assert response.status_code == 302
    assert Connection.objects.get(pk=connection.pk).api_token == new_token


def test_the_connection_form_refuses_to_keep_an_unreadable_token(member_client, lost_key):
    _, connection, shop = lost_key

    response = member_client.post(
        connection.get_absolute_url(),
        {
            "name": connection.name,
            "start_date": "2026-01-01",
            "shops": [shop.pk],
            "order_states": ["3"],
            "payment_reconciliation": "billbee",
            "api_token": "",
            "voucher_date_basis": "invoice",
            "action": "save",
        },
    )

    assert response.status_code == 200
    assert "api_token" in response.context["form"].errors


def test_the_billbee_page_says_the_secrets_are_unreadable(member_client, lost_key):
    response = member_client.get(reverse("orders:billbee_account"))

    assert response.status_code == 200
    assert response.content.decode().count(UNREADABLE_DE) >= 2  # API key and API password


def test_the_merchant_can_enter_the_billbee_secrets_again(member_client, merchant, lost_key):
    response = member_client.post(
        reverse("orders:billbee_account"),
        {
            "api_key": "typed-again-key",
            "username": "shop@example.com",
            "api_password": "typed-again-password",
            "action": "save",
        },
    )

    assert response.status_code == 302
    account = BillbeeAccount.objects.for_merchant(merchant).get()
    assert (account.api_key, account.api_password) == ("typed-again-key", "typed-again-password")


def test_the_billbee_form_refuses_to_keep_unreadable_secrets(member_client, lost_key):
    response = member_client.post(
        reverse("orders:billbee_account"),
        {"api_key": "", "username": "shop@example.com", "api_password": "", "action": "save"},
    )

    assert response.status_code == 200
    assert {"api_key", "api_password"} <= response.context["form"].errors.keys()


def test_the_admin_opens_a_row_with_an_unreadable_secret(admin_client, lost_key):
    account, _, _ = lost_key

    assert admin_client.get("/admin/orders/billbeeaccount/").status_code == 200
    change = admin_client.get(f"/admin/orders/billbeeaccount/{account.pk}/change/")
    assert change.status_code == 200
