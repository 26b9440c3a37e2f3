"""Record one more payment on a sandbox Billbee order (a part, the rest, a gift card...)."""

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from sandbox.billbee.models import SandboxOrder
from sandbox.billbee.services import order_payment_add


class Command(BaseCommand):
    help = "Add a payment to a sandbox Billbee order, as Billbee records a payment."

    def add_arguments(self, parser):
        parser.add_argument("--order", type=int, required=True, help="the order's Billbee id")
        parser.add_argument("--amount", required=True, help="e.g. 12.34")
        parser.add_argument("--type", type=int, default=3, help="Billbee payment type (3 PayPal)")
        parser.add_argument(
            "--mark-paid", action="store_true", help="set PayedAt even if not fully paid"
        )

    def handle(self, *args, order: int, amount: str, type: int, mark_paid: bool, **options):
        found = SandboxOrder.objects.filter(billbee_id=order).first()
        if found is None:
            raise CommandError(f"No sandbox order with Billbee id {order}.")
        try:
            value = Decimal(amount)
        except InvalidOperation as error:
            raise CommandError(f"Not an amount: {amount!r}") from error
        found = order_payment_add(
            order=found, amount=value, payment_type=type, mark_paid=True if mark_paid else None
        )
        paid = found.data["PaidAmount"]
        self.stdout.write(
            f"Order {order}: {value} booked, paid {paid} of {found.data['TotalCost']}"
        )
