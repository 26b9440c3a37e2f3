"""The demo's ready sevDesk connection: a newcomer running ``bin/run`` sees vouchers arrive in
the sandbox sevDesk without configuring anything (and can still create connections of their
own). Runs in the worker, once the web server (which serves the sandboxes) is up."""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from accounts_mapping.models import AccountAssignment
from connections.models import Connection
from connections.services import connection_test
from orders.models import BillbeeAccount, Order, Shop
from orders.services import orders_sync

from .sevdesk.models import CheckAccount, SandboxAccount

logger = logging.getLogger(__name__)

DEMO_CONNECTION = "Demo sevDesk"
# Bezahlt, Versendet, Abgeschlossen: the states a shop usually books from.
DEMO_STATES = [3, 4, 7]


def demo_connection_setup(*, account: BillbeeAccount, sevdesk: SandboxAccount) -> Connection | None:
    """The first sync, then a connection to the sandbox sevDesk with every synced shop and
    manual orders, the sandbox's offline account as the standard account (unassigned payments
    booked to it), tested (which reads the revenue accounts), and its first export run.

    Nothing happens for a merchant who already has a connection (or when run again)."""
    from exports.tasks import run_connection

    if Connection.objects.filter(merchant=account.merchant).exists():
        return None
    if account.sync_cursor is None:
        orders_sync(account=account)
    first_order = (
        Order.objects.filter(merchant=account.merchant)
        .order_by("order_date")
        .values_list("order_date", flat=True)
        .first()
    )
    start = timezone.localdate(first_order) if first_order else timezone.localdate()
    clearing = CheckAccount.objects.filter(account=sevdesk, type="offline").order_by("pk").first()
    with transaction.atomic():
        connection = Connection(
            merchant=account.merchant,
            name=DEMO_CONNECTION,
            start_date=start - datetime.timedelta(days=1),
            order_states=DEMO_STATES,
            include_manual_orders=True,
            book_unassigned_as_standard=True,
        )
        connection.set_token(sevdesk.token)
        connection.save()
        connection.shops.set(Shop.objects.filter(merchant=account.merchant))
        if clearing is not None:
            AccountAssignment.objects.create(
                merchant=account.merchant,
                connection=connection,
                payment_method=None,
                check_account_id=clearing.pk,
                check_account_name=clearing.name,
            )
    result = connection_test(connection=connection)
    if not result.ok:
        logger.warning("Demo connection %s not usable: %s", connection.pk, result)
        return connection
    transaction.on_commit(lambda: run_connection.delay(connection.pk))
    return connection
