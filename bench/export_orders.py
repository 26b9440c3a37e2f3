"""Benchmark: the sevDesk export against the sandbox sevDesk over real HTTP, with latency.

    .venv/bin/python bench/export_orders.py [--orders 10000] [--latency-ms 100] [--rate 5]
    DATABASE_URL=postgres://root@127.0.0.1:5432/test .venv/bin/python bench/export_orders.py

Builds a throw-away installation like ``bench/sync_orders.py`` (a temp SQLite file, or a fresh
database on the PostgreSQL server named by DATABASE_URL), creates ``--orders`` invoiced, paid
orders with their invoice PDFs, serves the app (and so the sandbox sevDesk, which adds
``--latency-ms`` to every call) with gunicorn on a free loopback port, and runs one export run
in a separate process. Reports orders exported per minute, sevDesk calls per order and the
peak memory of the exporting process, and checks that every order became exactly one voucher
with one payment.

The same file is the child process's entry point (``--setup`` / ``--export``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_orders as harness

ROOT = harness.ROOT
PYTHON = harness.PYTHON
TOKEN = "be4cbe4cbe4cbe4cbe4cbe4cbe4cbe4c"  # noqa: S105 - a sandbox token


def setup(count: int, latency_ms: int) -> dict:
    harness._django()
    from datetime import UTC, date, datetime, timedelta
    from decimal import Decimal

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from accounts_mapping.models import AccountAssignment
    from connections.models import Connection
    from merchants.models import MerchantAccount
    from orders.models import InvoiceDocument, Order, OrderItem, Shop
    from sandbox.billbee.pdf import pdf_document
    from sandbox.sevdesk.models import CheckAccount
    from sandbox.sevdesk.services import fault_inject, sandbox_account_create

    started = time.perf_counter()
    merchant = MerchantAccount.objects.create(name="Bench GmbH")
    shop = Shop.objects.create(merchant=merchant, billbee_id=1, name="Bench-Shop")
    now = timezone.now()
    orders = Order.objects.bulk_create(
        Order(
            merchant=merchant, billbee_id=10_000 + n, order_number=f"B-{n}", state=3, shop=shop,
            order_date=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
            invoice_number=f"RE-B-{n:06d}", invoice_date=datetime(2026, 1, 2, tzinfo=UTC),
            paid_at=datetime(2026, 1, 2, tzinfo=UTC), payment_method=3, currency="EUR",
            total_gross=Decimal("119.00"), paid_amount=Decimal("119.00"),
            tax_rate_regular=Decimal(19), tax_rate_reduced=Decimal(7), synced_at=now,
            customer_name=f"Kunde {n}",
        )
        for n in range(count)
    )  # fmt: skip
    OrderItem.objects.bulk_create(
        OrderItem(
            merchant=merchant, order=order, position=1, title="Ware", quantity=1,
            total_price=Decimal("119.00"), tax_amount=Decimal("19.00"), tax_index=1,
        )
        for order in orders
    )  # fmt: skip
    pdf = pdf_document([("Rechnung", 14)], title="Rechnung")
    documents = []
    for order in orders:
        name = default_storage.save(f"invoices/bench/{order.invoice_number}.pdf", ContentFile(pdf))
        documents.append(
            InvoiceDocument(
                merchant=merchant,
                order=order,
                invoice_number=order.invoice_number,
                file=name,
                sha256="0" * 64,
                fetched_at=now,
            )
        )
    InvoiceDocument.objects.bulk_create(documents)
    sevdesk = sandbox_account_create(name="Bench sevDesk", token=TOKEN)
    if latency_ms:
        fault_inject(account=sevdesk, kind="latency", count=10**9, latency_ms=latency_ms)
    clearing = CheckAccount.objects.get(account=sevdesk, type="offline")
    connection = Connection.objects.create(
        merchant=merchant, name="Bench", start_date=date(2026, 1, 1), order_states=[3],
        api_token=TOKEN, api_token_last4=TOKEN[-4:], status=Connection.Status.OK,
        bookkeeping_version="2.0",
    )  # fmt: skip
    connection.shops.set([shop])
    AccountAssignment.objects.create(
        merchant=merchant, connection=connection, payment_method=3,
        check_account_id=clearing.pk, check_account_name=clearing.name,
    )  # fmt: skip
    return {"connection_id": connection.pk, "setup_s": time.perf_counter() - started}


def export(connection_id: int) -> dict:
    harness._django()
    from django.db.models import Count, Sum

    from connections.models import Connection
    from exports.models import ExportRun, OrderExport
    from exports.services import export_run_create, export_run_execute
    from sandbox.sevdesk.models import Voucher, VoucherPayment

    connection = Connection.objects.get(pk=connection_id)
    rss_before = harness._peak_rss_mb()
    run = export_run_create(connection=connection, kind=ExportRun.Kind.SCHEDULED)
    started = time.perf_counter()
    run = export_run_execute(run=run)
    elapsed = time.perf_counter() - started
    exports = OrderExport.objects.filter(connection=connection)
    requests = exports.aggregate(total=Sum("request_count"))["total"] or 0
    per_order = dict(
        exports.values_list("request_count").annotate(n=Count("pk")).order_by("request_count")
    )
    duplicates = (
        Voucher.objects.values("description").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    return {
        "run_status": run.status,
        "exported": run.done,
        "failed": run.failed,
        "elapsed_s": round(elapsed, 1),
        "orders_per_minute": round(run.done / elapsed * 60, 1) if elapsed else None,
        "sevdesk_calls_per_order": round(requests / max(run.done, 1), 3),
        "orders_by_calls_made": per_order,
        "vouchers": Voucher.objects.count(),
        "duplicate_vouchers": duplicates,
        "payments": VoucherPayment.objects.count(),
        "peak_rss_mb_before": rss_before,
        "peak_rss_mb": harness._peak_rss_mb(),
    }


def orchestrate(args: argparse.Namespace) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    port = harness._free_port()
    server_url = os.environ.get("DATABASE_URL", "")
    postgres = server_url.startswith(("postgres://", "postgresql://"))
    database_url, pg_name = (
        harness._postgres_database(server_url)
        if postgres
        else (f"sqlite:///{data_dir}/bench.sqlite3", "")
    )
    env = harness._environment(data_dir, port, database_url)
    env.update(
        SEVDESK_API_BASE_URL=f"http://127.0.0.1:{port}/sandbox/sevdesk/api/v1",
        SEVDESK_REQUESTS_PER_SECOND=str(args.rate),
    )
    server = None
    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
        )
        prepared = _child(
            env, "--setup", "--orders", str(args.orders), "--latency-ms", str(args.latency_ms)
        )
        gunicorn = str(Path(PYTHON).with_name("gunicorn"))
        server = subprocess.Popen(
            [gunicorn, "billbee_sevdesk.wsgi", "-b", f"127.0.0.1:{port}", "-w", "4",
             "--log-level", "warning"],
            env=env,
            cwd=ROOT,
        )  # fmt: skip
        harness._wait_until_up(f"http://127.0.0.1:{port}/accounts/login/", server)
        result = _child(env, "--export", "--connection", str(prepared["connection_id"]))
        return {
            "database": "postgresql" if postgres else "sqlite",
            "orders": args.orders,
            "latency_ms_per_sevdesk_call": args.latency_ms,
            "client_rate_limit_per_s": args.rate,
            "setup_s": round(prepared["setup_s"], 1),
            **result,
        }
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        if pg_name:
            harness._postgres_drop(server_url, pg_name)


def _child(env: dict, *args: str) -> dict:
    done = subprocess.run(
        [PYTHON, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"child {args[0]} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5, help="client requests/s per token")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--export", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--connection", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        print(json.dumps(setup(args.orders, args.latency_ms)))
    elif args.export:
        print(json.dumps(export(args.connection)))
    else:
        print(json.dumps(orchestrate(args), indent=2))


if __name__ == "__main__":
    main()
