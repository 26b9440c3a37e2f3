"""Fill the sandbox Billbee with orders and print the credentials to connect with."""

from django.conf import settings
from django.core.management.base import BaseCommand

from sandbox.billbee.services import (
    account_get_or_create,
    orders_generate,
    orders_mutate,
    orders_refund,
)


class Command(BaseCommand):
    help = "Create a sandbox Billbee account (if missing) and generate orders for it."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=200, help="how many orders to create")
        parser.add_argument("--seed", type=int, default=0, help="same seed, same orders")
        parser.add_argument("--account-name", default="Demo-Shop", help="sandbox account name")
        parser.add_argument(
            "--mutate", type=int, default=0, help="afterwards, move this many orders on a step"
        )
        parser.add_argument(
            "--refunds",
            type=int,
            default=0,
            help="afterwards, cancel this many invoiced orders, each with a credit note",
        )

    def handle(
        self, *args, orders: int, seed: int, account_name: str, mutate: int, refunds: int, **options
    ):
        account, created = account_get_or_create(name=account_name)
        made = orders_generate(account=account, count=orders, seed=seed)
        changed = len(orders_mutate(account=account, count=mutate, seed=seed)) if mutate else 0
        verb = "Created" if created else "Used existing"
        self.stdout.write(f"{verb} sandbox account {account.name!r}: {made} orders generated")
        if changed:
            self.stdout.write(f"{changed} orders changed")
        if refunds:
            refunded = orders_refund(account=account, count=refunds, seed=seed)
            self.stdout.write(f"{len(refunded)} orders cancelled with a credit note")
        self.stdout.write(f"  API base URL:  {settings.SITE_URL}/sandbox/billbee/api/v1")
        self.stdout.write(f"  API key:       {account.api_key}")
        self.stdout.write(f"  User name:     {account.username}")
        self.stdout.write(f"  API password:  {account.api_password}")
