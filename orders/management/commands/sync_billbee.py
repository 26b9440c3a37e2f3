"""Sync Billbee orders now, from the shell, with a progress bar.

python manage.py sync_billbee [--merchant ID] [--since YYYY-MM-DD]
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.billbee_client import BillbeeError, OrdersPage
from orders.models import BillbeeAccount, SyncRun
from orders.services import (
    SyncAlreadyRunning,
    billbee_error_message,
    documents_sync,
    orders_sync,
)


class Command(BaseCommand):
    help = "Fetch the orders changed in Billbee for every enabled account (or one merchant)."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, help="Only this merchant account (id).")
        parser.add_argument(
            "--since",
            type=date.fromisoformat,
            help="Start over: fetch every order placed since this date (YYYY-MM-DD); it also "
            "becomes the account's start date.",
        )

    def handle(self, *args, merchant=None, since=None, **options):
        accounts = BillbeeAccount.objects.filter(sync_enabled=True).select_related("merchant")
        if merchant is not None:
            accounts = BillbeeAccount.objects.filter(merchant_id=merchant)
            if not accounts.exists():
                raise CommandError(f"Merchant {merchant} has no Billbee account.")
        failures = sum(not self._sync(account, since) for account in accounts)
        if failures:
            raise CommandError(f"{failures} account(s) failed; see the messages above.")

    def _sync(self, account: BillbeeAccount, since: date | None) -> bool:
        if since is not None:
            # A new start date means a first sync again: forget the cursor.
            BillbeeAccount.objects.filter(pk=account.pk).update(
                sync_since=since, sync_cursor=None, documents_cursor=None
            )
            account.refresh_from_db()
        with tqdm(desc=str(account.merchant), unit="page", disable=None) as bar:
            try:
                run = orders_sync(account=account, progress=_progress(bar))
            except SyncAlreadyRunning as exc:
                self.stderr.write(f"{account.merchant}: {exc}")
                return False
            except BillbeeError as exc:
                self.stderr.write(f"{account.merchant}: {billbee_error_message(exc)}")
                return False
        self.stdout.write(
            f"{account.merchant}: {run.orders_created} created, {run.orders_updated} updated, "
            f"{run.orders_rejected} rejected in {run.pages_done} pages"
        )
        if run.errors:
            self.stderr.write(run.errors)
        try:
            documents = documents_sync(account=account)
        except BillbeeError as exc:
            self.stderr.write(f"{account.merchant}: documents: {billbee_error_message(exc)}")
            return False
        self.stdout.write(
            f"{account.merchant}: {documents.stored} invoices and credit notes read in "
            f"{documents.pages} pages"
        )
        for line in documents.rejected:
            self.stderr.write(f"{account.merchant}: document skipped: {line}")
        return True


def _progress(bar: tqdm):
    def update(run: SyncRun, page: OrdersPage) -> None:
        bar.total = page.total_pages
        bar.update(1)
        bar.set_postfix(
            orders=run.orders_created + run.orders_updated, rejected=run.orders_rejected
        )

    return update
