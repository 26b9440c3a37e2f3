"""The demo (bin/run) comes with a ready sevDesk connection to the sandbox: a newcomer sees
vouchers arrive without configuring anything, and can still create connections of their own."""

from unittest import mock

import pytest

from accounts_mapping.models import AccountAssignment, RevenueAccountAssignment
from connections.models import Connection
from exports.models import OrderExport
from orders.models import BillbeeAccount, Shop
from sandbox.billbee.services import account_get_or_create, orders_generate
from sandbox.demo import demo_connection_setup
from sandbox.sevdesk.models import CheckAccount, Voucher
from sandbox.sevdesk.services import sandbox_account_create
from sandbox.tasks import demo_setup
from tests.exports_fixtures import run_export


@pytest.fixture
def demo(merchant, sandbox_http):
    billbee, _ = account_get_or_create(name="Demo Billbee")
    orders_generate(account=billbee, count=40, seed=1)
    account = BillbeeAccount.objects.create(
        merchant=merchant, api_key=billbee.api_key, username=billbee.username,
        api_password=billbee.api_password,
    )  # fmt: skip
    return account, sandbox_account_create(name="Demo sevDesk")


def test_the_demo_connection_is_ready_and_its_first_run_books_vouchers(
    demo, merchant, django_capture_on_commit_callbacks
):
    account, sevdesk = demo
    with (
        mock.patch("exports.tasks.run_connection.delay") as first_run,
        django_capture_on_commit_callbacks(execute=True),
    ):
        connection = demo_connection_setup(account=account, sevdesk=sevdesk)

    assert connection.status == Connection.Status.OK
    assert set(connection.shops.all()) == set(Shop.objects.filter(merchant=merchant))
    assert connection.shops.exists()
    standard = AccountAssignment.objects.get(connection=connection, payment_method=None)
    assert standard.check_account_id == CheckAccount.objects.get(account=sevdesk, type="offline").pk
    assert RevenueAccountAssignment.objects.filter(connection=connection).exists()
    first_run.assert_called_once_with(connection.pk)

    run_export(connection)

    booked = OrderExport.objects.filter(connection=connection, voucher_id__isnull=False)
    assert booked.exists()
    assert Voucher.objects.filter(account=sevdesk).count() == booked.count()
    assert not OrderExport.objects.filter(
        connection=connection, status=OrderExport.Status.NEEDS_ACTION
    ).exists(), list(
        OrderExport.objects.filter(status=OrderExport.Status.NEEDS_ACTION).values_list(
            "message", flat=True
        )
    )


def test_a_merchant_with_a_connection_of_their_own_gets_no_demo_connection(demo, merchant):
    account, sevdesk = demo
    demo_setup.run(account.pk, sevdesk.pk)
    demo_setup.run(account.pk, sevdesk.pk)  # again: nothing more

    assert Connection.objects.filter(merchant=merchant).count() == 1


@pytest.mark.django_db
def test_bootstrap_asks_the_worker_for_the_demo_set_up_once(settings, tmp_path):
    from django.core.management import call_command

    settings.DATA_DIR = tmp_path
    with mock.patch("sandbox.tasks.demo_setup.delay") as setup:
        call_command("bootstrap_demo")
        call_command("bootstrap_demo")

    account = BillbeeAccount.objects.get()
    sevdesk_id = setup.call_args.args[1]
    setup.assert_called_once_with(account.pk, sevdesk_id)
