"""Export orders to sevDesk from the command line, with a progress bar."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from connections.models import Connection
from exports.models import ExportRun
from exports.selectors import orders_to_export
from exports.services import export_run_create, export_run_execute
from orders.models import Order


class Command(BaseCommand):
    help = "Exports the eligible orders of a connection (or the given ones) to sevDesk."

    def add_arguments(self, parser):
        parser.add_argument("--connection", type=int, required=True, help="connection id")
        parser.add_argument(
            "--order", type=int, action="append", default=[], help="Billbee order id (repeat)"
        )
        parser.add_argument("--tag", action="store_true", help='tag exported orders "sevDesk"')

    def handle(self, *args, connection: int, order: list[int], tag: bool, **options):
        found = Connection.objects.filter(pk=connection).first()
        if found is None:
            raise CommandError(f"No sevDesk connection with id {connection}.")
        if order:
            chosen = Order.objects.for_merchant(found.merchant).filter(billbee_id__in=order)
            missing = set(order) - set(chosen.values_list("billbee_id", flat=True))
            if missing:
                raise CommandError(f"Unknown Billbee order ids: {sorted(missing)}")
            run = export_run_create(
                connection=found, kind=ExportRun.Kind.MANUAL,
                order_ids=list(chosen.values_list("pk", flat=True)), tag_orders=tag,
            )  # fmt: skip
            total = len(order)
        else:
            run = export_run_create(connection=found, kind=ExportRun.Kind.SCHEDULED, tag_orders=tag)
            total = orders_to_export(connection=found).count()
        with tqdm(total=total, unit="order", disable=None) as bar:
            run = export_run_execute(run=run, progress=lambda _order, _outcome: bar.update())
        self.stdout.write(
            f"{run.get_status_display()}: {run.done} exported, "
            f"{run.payment_open} voucher created with the payment open, {run.failed} failed, "
            f"{run.skipped} skipped. {run.message}".strip()
        )
        if run.status == ExportRun.Status.STOPPED:
            raise CommandError(run.message or "The run stopped.")
