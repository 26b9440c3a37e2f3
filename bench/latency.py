"""Benchmark: seconds from "the order becomes eligible in Billbee" to "voucher and payment in
sevDesk", with the product running as ``bin/run`` runs it (web, worker, beat).

    .venv/bin/python bench/latency.py                  # both modes, SQLite + file broker
    .venv/bin/python bench/latency.py --mode webhooks  # one mode
    DATABASE_URL=postgres://root@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/latency.py                  # PostgreSQL + Redis

For each mode (``webhooks``: Billbee notifies us; ``polling``: webhooks off, the sync's own
interval) it builds a throw-away installation (a temp ``DATA_DIR`` with SQLite and the
file-system broker, or a fresh database ``bench_sync_<pid>`` on the PostgreSQL server of
``DATABASE_URL`` and Redis on ``REDIS_URL`` with a private queue), then:

1. Setup: a sandbox Billbee with ``--orders`` paid orders in state "Bezahlt" that have no invoice
   yet (and the generator's other orders, moved to "Abgeschlossen", which the connection does
   not send), a sandbox sevDesk answering every call after ``--sevdesk-latency-ms``, the
   merchant's Billbee account, and a connection sending state "Bezahlt" with the standard
   offline account assigned.
2. gunicorn (4 workers) serving the app and both sandboxes, the sandbox Billbee answering every
   call after ``--billbee-latency-ms`` (``SANDBOX_BILLBEE_LATENCY_MS``); a Celery worker
   (``--concurrency=2``, as ``Procfile.dev``) and Celery beat, all on loopback.
3. Warm-up: the first sync (sent as ``bootstrap_demo`` sends it), and in ``webhooks`` mode the
   webhook registered through the product's own ``webhook_enable`` (the sandbox checks our echo).
4. The run: one order after another is invoiced in the sandbox Billbee (``order_invoice_issue``,
   which also notifies the sandbox's webhooks), evenly over ``--minutes``. That is the moment it
   becomes eligible. A voucher counts once the sandbox sevDesk holds it with the invoice number
   as description, status "paid" and its payment. An order the product refuses to book and
   puts in "needs action" (the generator makes a few whose positions do not add up to the
   total) is counted apart, with its message, not as a latency. The run waits ``--tail``
   seconds after the last order at most.
5. Billbee calls: those counted in ``BillbeeApiUsage`` during the run, and a simulated idle
   month. The product's own scheduling (``accounts_due_for_sync``, the sync task, the
   webhook check at its schedule's interval) runs minute by minute over two simulated days
   with no orders changing (``django.utils.timezone.now`` patched; the calls go over HTTP to
   the sandbox); the second day times 30 is the idle month. Worker and beat are stopped for it.

Prints one JSON document per mode and a summary table; exits 1 if an order did not arrive, or
arrived as more than one voucher. The same file is the child processes' entry point.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_orders as harness

ROOT = harness.ROOT
PYTHON = harness.PYTHON
PAID = 3  # Billbee's state "Bezahlt"
FINISHED = 7  # "Abgeschlossen": not sent by the bench connection
POLL_SECONDS = 0.25


# --- Child processes (run with the throw-away installation's environment) --------------------


def setup(count: int, sevdesk_latency_ms: int, token: str) -> dict:
    harness._django()
    from datetime import date
    from decimal import Decimal

    from django.db import transaction

    from accounts_mapping.models import AccountAssignment
    from connections.models import Connection
    from merchants.models import MerchantAccount
    from orders.models import BillbeeAccount
    from sandbox.billbee.models import SandboxOrder
    from sandbox.billbee.services import account_get_or_create, order_payment_add, orders_generate
    from sandbox.sevdesk.models import CheckAccount
    from sandbox.sevdesk.services import fault_inject, sandbox_account_create

    billbee, _ = account_get_or_create(name="Latency Billbee")
    orders_generate(account=billbee, count=count * 2, seed=7)
    candidates = list(billbee.orders.exclude(state__in=(6, 8)).order_by("pk")[:count])
    if len(candidates) < count:
        raise SystemExit(f"the generator made only {len(candidates)} orders not cancelled")
    for order in candidates:  # not invoiced yet: the run invoices them one by one
        order.invoice_date = None
        order.data.update(
            InvoiceNumberPrefix=None, InvoiceNumber=None, InvoiceNumberPostfix=None,
            InvoiceDate=None,
        )  # fmt: skip
        order.save(update_fields=["invoice_date", "data"])
    for order in candidates:  # paid in full (before any webhook exists), invoiced in the run
        order.refresh_from_db()
        if order.paid_at is None:
            open_amount = Decimal(str(order.data["TotalCost"])) - Decimal(
                str(order.data.get("PaidAmount") or 0)
            )
            order_payment_add(
                order=order, amount=open_amount, payment_type=order.data.get("PaymentMethod") or 3,
                mark_paid=True,
            )  # fmt: skip
    candidates = [order.pk for order in candidates]
    with transaction.atomic():
        for order in SandboxOrder.objects.filter(account=billbee).select_for_update():
            order.state = PAID if order.pk in candidates else FINISHED
            order.data["State"] = order.state
            order.save(update_fields=["state", "data"])
    merchant = MerchantAccount.objects.create(name="Latency GmbH")
    account = BillbeeAccount.objects.create(
        merchant=merchant, api_key=billbee.api_key, username=billbee.username,
        api_password=billbee.api_password,
    )  # fmt: skip
    sevdesk = sandbox_account_create(name="Latency sevDesk", token=token)
    if sevdesk_latency_ms:
        fault_inject(account=sevdesk, kind="latency", count=10**9, latency_ms=sevdesk_latency_ms)
    clearing = CheckAccount.objects.get(account=sevdesk, type="offline")
    connection = Connection.objects.create(
        merchant=merchant, name="Latency", start_date=date(2000, 1, 1), order_states=[PAID],
        include_manual_orders=True, api_token=token, api_token_last4=token[-4:],
        status=Connection.Status.OK, bookkeeping_version="2.0", book_unassigned_as_standard=True,
    )  # fmt: skip
    AccountAssignment.objects.create(
        merchant=merchant, connection=connection, payment_method=None,
        check_account_id=clearing.pk, check_account_name=clearing.name,
    )  # fmt: skip
    return {
        "account_id": account.pk,
        "merchant_id": merchant.pk,
        "connection_id": connection.pk,
        "billbee_id": billbee.pk,
        "sevdesk_id": sevdesk.pk,
        "candidates": candidates,
    }


def warm_up(account_id: int, connection_id: int, webhooks: bool, timeout: float) -> dict:
    """The first sync through the worker; the connection gets the shops it found; webhooks."""
    harness._django()
    from connections.models import Connection
    from orders.models import BillbeeAccount, Shop, SyncRun
    from orders.tasks import sync_account
    from orders.webhooks import webhook_enable

    started = time.monotonic()
    sync_account.delay(account_id)
    while not SyncRun.objects.filter(account_id=account_id, status="succeeded").exists():
        if time.monotonic() - started > timeout:
            raise SystemExit("the first sync did not finish")
        time.sleep(0.5)
    account = BillbeeAccount.objects.get(pk=account_id)
    connection = Connection.objects.get(pk=connection_id)
    connection.shops.set(Shop.objects.filter(merchant_id=account.merchant_id))
    if webhooks:
        webhook_enable(account=account)
        account.refresh_from_db()
    return {
        "first_sync_s": round(time.monotonic() - started, 1),
        "webhook_registered": bool(account.webhook_id),
    }


def drive(setup_result: dict, minutes: float, tail: float) -> dict:
    harness._django()
    from django.db.models import Count, Sum

    from exports.models import OrderExport
    from orders.models import BillbeeApiUsage
    from sandbox.billbee.models import SandboxOrder
    from sandbox.billbee.services import order_invoice_issue
    from sandbox.sevdesk.models import Voucher, VoucherPayment

    candidates = setup_result["candidates"]
    spacing = minutes * 60 / len(candidates)
    calls_before = BillbeeApiUsage.objects.aggregate(n=Sum("calls"))["n"] or 0
    eligible_at: dict[str, float] = {}
    arrived_at: dict[str, float] = {}
    start = time.time()
    next_index = 0
    deadline = start + minutes * 60 + tail
    refused: dict[str, str] = {}  # the product stopped and asked the merchant (needs action)
    while time.time() < deadline and len(arrived_at) + len(refused) < len(candidates):
        while next_index < len(candidates) and time.time() >= start + next_index * spacing:
            order = order_invoice_issue(order=SandboxOrder.objects.get(pk=candidates[next_index]))
            number = "{InvoiceNumberPrefix}{InvoiceNumber}{InvoiceNumberPostfix}".format(
                **order.data
            )  # the voucher's description: the full invoice number
            eligible_at[number] = time.time()
            next_index += 1
        waiting = [n for n in eligible_at if n not in arrived_at and n not in refused]
        refused.update(
            OrderExport.objects.filter(
                connection_id=setup_result["connection_id"],
                document=None,
                status=OrderExport.Status.NEEDS_ACTION,
                order__invoice_number__in=waiting,
            ).values_list("order__invoice_number", "message")
        )
        paid = Voucher.objects.filter(
            account_id=setup_result["sevdesk_id"],
            description__in=waiting,
            status=Voucher.Status.PAID,
            pk__in=VoucherPayment.objects.values("voucher_id"),
        ).values_list("description", flat=True)
        now = time.time()
        for number in paid:
            arrived_at.setdefault(number, now)
        time.sleep(POLL_SECONDS)
    duplicates = (
        Voucher.objects.filter(account_id=setup_result["sevdesk_id"])
        .values("description")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    latencies = sorted(arrived_at[n] - eligible_at[n] for n in arrived_at)
    calls = (BillbeeApiUsage.objects.aggregate(n=Sum("calls"))["n"] or 0) - calls_before
    return {
        "orders": len(candidates),
        "made_eligible": len(eligible_at),
        "arrived": len(arrived_at),
        "needs_action": len(refused),
        "needs_action_messages": sorted(set(refused.values())),
        "duplicates": duplicates,
        "latency_s": _percentiles(latencies),
        "run_s": round(time.time() - start, 1),
        "billbee_calls_during_run": calls,
    }


def idle(account_id: int, days: int) -> dict:
    """Billbee calls the product's schedule makes with nothing changing, minute by minute over
    ``days`` simulated days; the last day's count is the idle day."""
    harness._django()
    from datetime import timedelta
    from unittest import mock

    from django.db.models import Sum
    from django.utils import timezone

    from core.ratelimit import limiter_reset
    from core.schedules import declared_schedules
    from orders.models import BillbeeAccount, BillbeeApiUsage
    from orders.services import accounts_due_for_sync
    from orders.tasks import sync_account, webhooks_check

    check_every = next(
        s.every_seconds // 60 for s in declared_schedules() if s.task == "orders.webhooks_check"
    )
    real_now = timezone.now
    clock = {"now": real_now()}
    per_day = []
    with mock.patch("django.utils.timezone.now", lambda: clock["now"]):
        for _day in range(days):
            before = BillbeeApiUsage.objects.aggregate(n=Sum("calls"))["n"] or 0
            for minute in range(24 * 60):
                clock["now"] += timedelta(minutes=1)
                limiter_reset()  # the simulated minutes pass faster than the real throttles
                for due in accounts_due_for_sync(now=clock["now"]):
                    sync_account(due)
                if minute % check_every == 0:
                    webhooks_check()
            per_day.append((BillbeeApiUsage.objects.aggregate(n=Sum("calls"))["n"] or 0) - before)
    account = BillbeeAccount.objects.get(pk=account_id)
    return {
        "calls_per_simulated_day": per_day,
        "calls_per_idle_month": per_day[-1] * 30,
        "webhook_on": bool(account.webhook_id),
    }


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    p95 = values[min(len(values) - 1, max(0, round(0.95 * len(values)) - 1))]
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(p95, 1),
        "max": round(values[-1], 1),
        "min": round(values[0], 1),
    }


# --- Orchestration ---------------------------------------------------------------------------


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _child(env: dict, *args: str) -> dict:
    done = subprocess.run(
        [PYTHON, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"child {args[0]} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_mode(args: argparse.Namespace, mode: str) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-latency-{mode}-"))
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
        SANDBOX_BILLBEE_LATENCY_MS=str(args.billbee_latency_ms),
        LOG_LEVEL="INFO",
    )
    redis_url = os.environ.get("REDIS_URL", "")
    if postgres and redis_url:
        env.update(REDIS_URL=redis_url, CELERY_TASK_DEFAULT_QUEUE=f"bench-latency-{os.getpid()}")
    else:
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
    token = secrets.token_hex(16)
    processes: dict[str, subprocess.Popen] = {}
    failed = True
    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
        )
        prepared = _child(
            env, "--setup", "--orders", str(args.orders),
            "--sevdesk-latency-ms", str(args.sevdesk_latency_ms), "--token", token,
        )  # fmt: skip
        bin_dir = Path(PYTHON).parent
        processes["web"] = _start(
            [str(bin_dir / "gunicorn"), "billbee_sevdesk.wsgi", "-b", f"127.0.0.1:{port}",
             "-w", "4", "--log-level", "warning"],
            env, data_dir / "web.log",
        )  # fmt: skip
        harness._wait_until_up(f"http://127.0.0.1:{port}/accounts/login/", processes["web"])
        processes["worker"] = _start(
            [str(bin_dir / "celery"), "-A", "billbee_sevdesk", "worker", "--loglevel=INFO",
             "--concurrency=2"],
            env, data_dir / "worker.log",
        )  # fmt: skip
        processes["beat"] = _start(
            [str(bin_dir / "celery"), "-A", "billbee_sevdesk", "beat", "--loglevel=INFO"],
            env, data_dir / "beat.log",
        )  # fmt: skip
        warm = _child(env, "--warm-up", json.dumps(prepared), "--mode", mode, "--timeout", "300")
        run = _child(
            env, "--drive", json.dumps(prepared),
            "--minutes", str(args.minutes), "--tail", str(args.tail),
        )  # fmt: skip
        _stop(processes.pop("beat"))
        _stop(processes.pop("worker"))
        idle_env = {k: v for k, v in env.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
        quiet = (
            _child(idle_env, "--idle", json.dumps(prepared), "--days", str(args.idle_days))
            if args.idle_days
            else {}
        )
        orders_per_day = 1000
        per_order = run["billbee_calls_during_run"] / max(run["made_eligible"], 1)
        result = {
            "mode": mode,
            "database": "postgresql + redis" if postgres else "sqlite + file broker",
            "billbee_latency_ms": args.billbee_latency_ms,
            "sevdesk_latency_ms": args.sevdesk_latency_ms,
            "warm_up": warm,
            "run": run,
            "idle": quiet,
            "billbee_calls_per_order_in_run": round(per_order, 2),
        }
        if quiet:
            result["billbee_calls_per_month_at_1000_orders_a_day"] = round(
                quiet["calls_per_idle_month"] + per_order * orders_per_day * 30
            )
        failed = run["arrived"] + run["needs_action"] != run["orders"] or run["duplicates"]
        return result
    finally:
        for process in processes.values():
            _stop(process)
        if postgres:
            harness._postgres_drop(server_url, pg_name)
        if failed or args.keep:
            print(f"logs kept in {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("webhooks", "polling", "both"), default="both")
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--tail", type=float, default=600, help="seconds to wait after the last")
    parser.add_argument("--billbee-latency-ms", type=int, default=150)
    parser.add_argument("--sevdesk-latency-ms", type=int, default=100)
    parser.add_argument("--idle-days", type=int, default=2, help="simulated idle days (0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", help=argparse.SUPPRESS)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--idle", help=argparse.SUPPRESS)
    parser.add_argument("--days", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        print(json.dumps(setup(args.orders, args.sevdesk_latency_ms, args.token)))
    elif args.warm_up:
        prepared = json.loads(args.warm_up)
        result = warm_up(
            prepared["account_id"], prepared["connection_id"], args.mode == "webhooks",
            args.timeout,
        )  # fmt: skip
        print(json.dumps(result))
    elif args.drive:
        print(json.dumps(drive(json.loads(args.drive), args.minutes, args.tail)))
    elif args.idle:
        print(json.dumps(idle(json.loads(args.idle)["account_id"], args.days)))
    else:
        modes = ("webhooks", "polling") if args.mode == "both" else (args.mode,)
        results = [run_mode(args, mode) for mode in modes]
        print(json.dumps(results, indent=2))
        for r in results:
            run, lat = r["run"], r["run"]["latency_s"]
            print(
                f"{r['mode']:9} {r['database']:22} arrived {run['arrived']}/{run['orders']}"
                f" (needs action {run['needs_action']})"
                f" dup {run['duplicates']}  p50 {lat['p50']} s  p95 {lat['p95']} s"
                f"  max {lat['max']} s  calls/idle month {r['idle'].get('calls_per_idle_month')}"
                f"  at 1000/day {r.get('billbee_calls_per_month_at_1000_orders_a_day')}"
            )
        if any(
            r["run"]["arrived"] + r["run"]["needs_action"] != r["run"]["orders"]
            or r["run"]["duplicates"]
            for r in results
        ):
            raise SystemExit(1)


if __name__ == "__main__":
    main()
