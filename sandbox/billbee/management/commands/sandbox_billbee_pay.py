"""Record one more payment on a sandbox Billbee order (a part, the rest, a gift card...).

manage.py sandbox_billbee_pay --order 300000000042 --amount 12.34 --type 3 [--mark-paid]
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sandbox.billbee.models import SandboxOrder
from sandbox.billbee.services import order_payment_add


class Command(BaseCommand):
    help = "Add a payment to a sandbox Billbee order, as Billbee records a payment."

    def add_arguments(self, parser):
        parser.add_argument("--order", type=int, required=True, help="the order's Billbee id")
        parser.add_argument("--amount", required=True, help="e.g. 12.34 (negative: a refund)")
        parser.add_argument(
            "--type", type=int, default=3, help="Billbee payment type (3 PayPal, 6 gift card)"
        )
        parser.add_argument(
            "--account", type=int, help="the sandbox account's id, to make sure of the order"
        )
        parser.add_argument(
            "--when", help="the pay date, ISO 8601 (e.g. 2026-11-02T10:30); default now"
        )
        parser.add_argument(
            "--mark-paid", action="store_true", help="set PayedAt even if not fully paid"
        )

    def handle(self, *args, order: int, amount: str, type: int, **options):
        found = self._order(order, options["account"])
        try:
            found = order_payment_add(
                order=found,
                amount=_amount(amount),
                payment_type=type,
                when=_moment(options["when"]),
                mark_paid=True if options["mark_paid"] else None,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        data = found.data
        self.stdout.write(
            f"Order {order}: {amount} booked (type {type}), paid {data['PaidAmount']} of "
            f"{data['TotalCost']}, PayedAt {data['PayedAt'] or '-'}"
        )

    def _order(self, billbee_id: int, account_id: int | None) -> SandboxOrder:
        orders = SandboxOrder.objects.filter(billbee_id=billbee_id)
        if account_id is not None:
            orders = orders.filter(account_id=account_id)
        found = orders.first()
        if found is None:
            where = f" in sandbox account {account_id}" if account_id is not None else ""
            raise CommandError(f"No sandbox order with Billbee id {billbee_id}{where}.")
        return found


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
        in_cents = value.is_finite() and value == value.quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise CommandError(f"Not an amount: {text!r}") from error
    if not in_cents:
        raise CommandError(f"Not an amount in cents: {text!r}")
    return value


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"Not an ISO 8601 date: {text!r}") from error
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
