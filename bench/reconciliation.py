"""Benchmark: the monthly reconciliation report against the sandbox sevDesk over real HTTP.

    .venv/bin/python bench/reconciliation.py [--invoices 10000] [--rate 5]
    DATABASE_URL=postgres://root@127.0.0.1:5432/test .venv/bin/python bench/reconciliation.py

Builds a throw-away installation like ``bench/sync_orders.py`` (a temp SQLite file, or a fresh
database on the PostgreSQL server named by DATABASE_URL), then in bulk: ``--invoices`` invoiced
orders of March 2026 with their Billbee invoice list entries (two rates each), our exports of
them (booked, paid, with the payload they sent) and their vouchers in the sandbox sevDesk, with
a few deviations planted (vouchers missing, changed, duplicated, unknown; invoices not yet
exported). Serves the app with gunicorn on a free loopback port and runs
``reconciliation_run`` in a separate process, the client at ``--rate`` requests/s (sevDesk's
real-world spacing by default). Reports the seconds, the sevDesk calls (counted as they leave
the process), the pages, the rows and the peak RSS of the reporting process, and checks that
each planted deviation was found (exit code 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_orders as harness

ROOT = harness.ROOT
PYTHON = harness.PYTHON
PLANTED = 25  # of each kind of deviation


def setup(count: int, token: str) -> dict:
    harness._django()
    from datetime import UTC, date, datetime, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from connections.models import Connection
    from exports.mapping import berlin_date
    from exports.models import OrderExport, PaymentBooking
    from merchants.models import MerchantAccount
    from orders.models import BillbeeDocument, Order, Shop
    from sandbox.sevdesk.models import Voucher
    from sandbox.sevdesk.services import sandbox_account_create

    started = time.perf_counter()
    D = Decimal
    account = sandbox_account_create(name="Bench sevDesk", token=token)
    merchant = MerchantAccount.objects.create(name="Bench GmbH")
    shop = Shop.objects.create(merchant=merchant, billbee_id=1, name="Bench-Shop")
    connection = Connection.objects.create(
        merchant=merchant,
        name="Bench",
        start_date=date(2026, 1, 1),
        order_states=[3, 4, 7],
        api_token=token,
        api_token_last4=token[-4:],
        status=Connection.Status.OK,
        bookkeeping_version="2.0",
    )
    connection.shops.set([shop])
    now = timezone.now()

    def moment(n: int) -> datetime:
        return datetime(2026, 3, 1, 8, tzinfo=UTC) + timedelta(minutes=(n * 4) % (30 * 24 * 60))

    orders = Order.objects.bulk_create(
        Order(
            merchant=merchant,
            billbee_id=100_000 + n,
            order_number=f"B-{n}",
            state=3,
            shop=shop,
            order_date=moment(n),
            invoice_number=f"RE-B-{n:06d}",
            invoice_date=moment(n),
            paid_at=moment(n),
            payment_method=3,
            currency="EUR",
            total_gross=D("226.00"),
            paid_amount=D("226.00"),
            tax_rate_regular=D(19),
            tax_rate_reduced=D(7),
            synced_at=now,
        )
        for n in range(count)
    )
    positions = [
        {"billbee_id": None, "total_gross": "119.00", "vat_rate": "19"},
        {"billbee_id": None, "total_gross": "107.00", "vat_rate": "7"},
    ]
    BillbeeDocument.objects.bulk_create(
        BillbeeDocument(
            merchant=merchant,
            order=order,
            billbee_order_id=order.billbee_id,
            type=BillbeeDocument.Type.INVOICE,
            number=order.invoice_number,
            invoice_date=order.invoice_date,
            currency="EUR",
            total_net=D("200.00"),
            total_gross=D("226.00"),
            vat_mode=0,
            positions=positions,
            synced_at=now,
        )
        for order in orders
    )
    not_exported = orders[-PLANTED:]
    exported = orders[:-PLANTED]
    missing = exported[:PLANTED]
    with_voucher = exported[PLANTED:]
    vouchers = Voucher.objects.bulk_create(
        Voucher(
            account=account,
            description=order.invoice_number,
            voucher_date=berlin_date(order.invoice_date),
            status=1000,
            credit_debit="D",
            sum_net=D("200.00"),
            sum_tax=D("26.00"),
            sum_gross=D("226.00"),
            paid_amount=D("226.00"),
        )
        for order in with_voucher
    )
    voucher_ids = {
        order.pk: voucher.pk for order, voucher in zip(with_voucher, vouchers, strict=True)
    }
    payload = {
        "voucherPosSave": [
            {"taxRate": 19, "sumGross": 119.0, "net": False},
            {"taxRate": 7, "sumGross": 107.0, "net": False},
        ]
    }
    exports = OrderExport.objects.bulk_create(
        OrderExport(
            merchant=merchant,
            connection=connection,
            order=order,
            status=OrderExport.Status.PAID,
            voucher_id=voucher_ids.get(order.pk, 9_000_000 + i),
            voucher_description=order.invoice_number,
            voucher_gross=D("226.00"),
            voucher_date=berlin_date(order.invoice_date),
            voucher_currency="EUR",
            frozen_payload=payload,
            frozen_order_total=D("226.00"),
            exported_at=now,
        )
        for i, order in enumerate(exported)
    )
    PaymentBooking.objects.bulk_create(
        PaymentBooking(
            export=export,
            key="order",
            pay_date=date(2026, 3, 2),
            amount=D("226.00"),
            booking_type="FULL_PAYMENT",
            paid_before=D(0),
            status=PaymentBooking.Status.BOOKED,
        )
        for export in exports
    )
    changed = vouchers[:PLANTED]
    Voucher.objects.filter(pk__in=[v.pk for v in changed]).update(sum_gross=D("225.00"))
    Voucher.objects.bulk_create(
        [
            Voucher(
                account=account,
                description=v.description,
                voucher_date=v.voucher_date,
                status=100,
                credit_debit="D",
                sum_gross=D("226.00"),
            )
            for v in vouchers[PLANTED : 2 * PLANTED]
        ]
        + [
            Voucher(
                account=account,
                description=f"FREMD-{n}",
                voucher_date=date(2026, 3, 15),
                status=100,
                credit_debit="D",
                sum_gross=D("10.00"),
            )
            for n in range(PLANTED)
        ]
    )
    OrderExport.objects.filter(order__in=not_exported).delete()
    return {
        "connection": connection.pk,
        "setup_s": round(time.perf_counter() - started, 1),
        "vouchers_in_sevdesk": Voucher.objects.filter(account=account).count(),
        "missing_planted": len(missing),
    }


def report(connection_id: int) -> dict:
    harness._django()
    import requests

    from connections.models import Connection
    from reconciliation.services import reconciliation_report_create, reconciliation_run

    calls: list[str] = []
    original = requests.Session.request

    def counted(session, method, url, *args, **kwargs):
        calls.append(f"{method} {url.split('/api/v1')[-1]}")
        return original(session, method, url, *args, **kwargs)

    requests.Session.request = counted
    connection = Connection.objects.get(pk=connection_id)
    import datetime

    made = reconciliation_report_create(
        connection=connection, start=datetime.date(2026, 3, 1), end=datetime.date(2026, 3, 31)
    )
    started = time.perf_counter()
    done = reconciliation_run(made.pk)
    seconds = time.perf_counter() - started
    return {
        "status": done.status,
        "message": done.message,
        "seconds": round(seconds, 2),
        "sevdesk_calls": len(calls),
        "calls_by_kind": sorted(set(call.split("?")[0] for call in calls)),
        "pages_read": done.pages_read,
        "vouchers_read": done.vouchers_read,
        "documents": done.documents,
        "rows": done.rows_total,
        "deviations": done.deviations,
        "flags": done.summary.get("flags", {}),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _child(env: dict, *args: str) -> dict:
    done = subprocess.run(
        [PYTHON, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"child {args[0]} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def orchestrate(args: argparse.Namespace) -> dict:
    import secrets

    data_dir = Path(tempfile.mkdtemp(prefix="bench-reconciliation-"))
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
    token = secrets.token_hex(16)
    server = None
    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
        )
        prepared = _child(env, "--setup", "--invoices", str(args.invoices), "--token", token)
        gunicorn = str(Path(PYTHON).with_name("gunicorn"))
        server = subprocess.Popen(
            [gunicorn, "billbee_sevdesk.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
             "--timeout", "120", "--log-level", "warning"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        harness._wait_until_up(f"http://127.0.0.1:{port}/accounts/login/", server)
        result = _child(env, "--report", "--connection", str(prepared["connection"]))
        flags = result["flags"]
        expected = {
            "missing": PLANTED, "amount": PLANTED, "duplicate": PLANTED, "unknown": PLANTED,
            "not_exported": PLANTED, "date": 0, "payment": 0,
        }  # fmt: skip
        return {
            "ok": result["status"] == "done" and flags == expected,
            "database": "postgresql" if postgres else "sqlite",
            "invoices": args.invoices,
            "client_requests_per_second": args.rate,
            "setup": prepared,
            "report": result,
            "expected_flags": expected,
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if postgres:
            harness._postgres_drop(server_url, pg_name)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=5, help="client requests/s per token")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--report", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--connection", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        print(json.dumps(setup(args.invoices, args.token)))
    elif args.report:
        print(json.dumps(report(args.connection)))
    else:
        result = orchestrate(args)
        print(json.dumps(result, indent=2))
        if not result["ok"]:
            sys.exit(1)


if __name__ == "__main__":
    main()
