"""Benchmark: the sevDesk export against the sandbox sevDesk over real HTTP, with latency.

    .venv/bin/python bench/export_orders.py [--orders 10000] [--latency-ms 100] [--rate 5]
    DATABASE_URL=postgres://root@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/export_orders.py --workers 4 --orders 600 --rate 1000

Builds a throw-away installation like ``bench/sync_orders.py`` (a temp SQLite file, or a fresh
database on the PostgreSQL server named by DATABASE_URL), creates ``--orders`` invoiced, paid
orders with their invoice PDFs (on PostgreSQL then ANALYZEs the fresh tables, unless
``--no-analyze``), and serves the app (and so the sandbox sevDesk, which adds ``--latency-ms``
to every call) with gunicorn on a free loopback port. Then one scheduled export run:

- ``--workers 0``: inline, ``export_run_execute`` without ``dispatch`` in one separate
  process, one order after the other (works on SQLite);
- ``--workers N``: N real Celery worker processes (``--pool=solo``) on a private queue, fed
  through Redis; a driver process sends ``exports.run_connection`` and polls the run until it
  is finished. Needs a PostgreSQL DATABASE_URL and REDIS_URL.

Every child is bounded by a time-out (``--timeout``) and stopped when the benchmark ends or
fails; worker logs go to files in the temp directory, kept when the run failed. Reports orders
exported per minute, sevDesk calls per order, the peak RSS of the exporting process(es)
(``VmHWM`` of each worker just before it is stopped) and checks that every order became
exactly one voucher with one payment (the exit code is 1 otherwise).

The same file is the child processes' entry point (``--setup`` / ``--export`` / ``--drive``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_orders as harness

ROOT = harness.ROOT
PYTHON = harness.PYTHON
POLL_SECONDS = 0.5
WORKER_STOP_SECONDS = 30


# --- Child processes (run with the throw-away installation's environment) --------------------


def setup(count: int, latency_ms: int, token: str) -> dict:
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
    sevdesk = sandbox_account_create(name="Bench sevDesk", token=token)
    if latency_ms:
        fault_inject(account=sevdesk, kind="latency", count=10**9, latency_ms=latency_ms)
    clearing = CheckAccount.objects.get(account=sevdesk, type="offline")
    connection = Connection.objects.create(
        merchant=merchant, name="Bench", start_date=date(2026, 1, 1), order_states=[3],
        api_token=token, api_token_last4=token[-4:], status=Connection.Status.OK,
        bookkeeping_version="2.0",
    )  # fmt: skip
    connection.shops.set([shop])
    AccountAssignment.objects.create(
        merchant=merchant, connection=connection, payment_method=3,
        check_account_id=clearing.pk, check_account_name=clearing.name,
    )  # fmt: skip
    return {
        "connection_id": connection.pk,
        "sandbox_id": sevdesk.pk,
        "setup_s": time.perf_counter() - started,
    }


def export(connection_id: int, sandbox_id: int, orders: int) -> dict:
    """``--workers 0``: the run delivered inline in this process, one order after the other."""
    harness._django()
    from connections.models import Connection
    from exports.models import ExportRun
    from exports.services import export_run_create, export_run_execute

    connection = Connection.objects.get(pk=connection_id)
    rss_before = harness._peak_rss_mb()
    run = export_run_create(connection=connection, kind=ExportRun.Kind.SCHEDULED)
    started, started_at = time.perf_counter(), time.time()
    run = export_run_execute(run=run)
    elapsed = time.perf_counter() - started
    return {
        **_figures(connection_id, sandbox_id, orders, run, elapsed, started_at),
        "peak_rss_mb_before": round(rss_before, 1),
        "peak_rss_mb": round(harness._peak_rss_mb(), 1),
    }


def drive(args: argparse.Namespace) -> dict:
    """``--workers N``: wait for the workers, send ``exports.run_connection``, poll the run.

    Between the workers answering and the run being sent, this process writes ``ready`` into
    ``--handshake`` and waits for ``go`` from the orchestrator (which reads the workers'
    memory at rest in between).
    """
    harness._django()
    from billbee_sevdesk.celery import app
    from exports.models import ExportRun
    from exports.tasks import run_connection

    ordered = args.hostnames.split(",")
    hostnames = set(ordered)
    deadline = time.monotonic() + 120
    answered: set[str] = set()
    while answered != hostnames:
        if time.monotonic() > deadline:
            raise SystemExit(f"workers did not answer a ping: {sorted(hostnames - answered)}")
        for reply in app.control.ping(destination=sorted(hostnames), timeout=1.0):
            answered.update(reply)
    handshake = Path(args.handshake)
    handshake.write_text("ready")
    deadline = time.monotonic() + 60
    while handshake.read_text() != "go":
        if time.monotonic() > deadline:
            raise SystemExit("no go from the orchestrator")
        time.sleep(0.05)

    runs = ExportRun.objects.filter(connection_id=args.connection)
    sent_at = time.time()
    run_connection.delay(args.connection)
    deadline = time.monotonic() + args.timeout
    last_report = 0.0
    final = {ExportRun.Status.FINISHED, ExportRun.Status.STOPPED, ExportRun.Status.FAILED}
    while True:
        run = runs.order_by("-pk").first()
        if run is not None and run.status in final:
            break
        now = time.monotonic()
        if now > deadline:
            state = f"{run.status}, {run.processed} of {run.total} counted" if run else "no run"
            raise SystemExit(f"the run did not finish within {args.timeout:.0f} s ({state})")
        if run is not None and now - last_report >= 30:
            last_report = now
            sys.stderr.write(
                f"  … {run.processed}/{run.total} counted after {time.time() - sent_at:.0f} s\n"
            )
        time.sleep(POLL_SECONDS)
    seen_at = time.time()
    end = run.finished_at.timestamp() if run.finished_at else seen_at
    result = _figures(args.connection, args.sandbox, args.orders, run, end - sent_at, sent_at)
    result["run_started_after_s"] = (
        round(run.started_at.timestamp() - sent_at, 2) if run.started_at else None
    )
    # From the workers themselves: the tasks each ran (which one did the fan-out) and its
    # own peak RSS (solo pool: getrusage of the worker process, to check VmHWM against).
    stats = app.control.inspect(destination=ordered, timeout=2.0).stats() or {}
    result["worker_tasks"] = [stats.get(name, {}).get("total", {}) for name in ordered]
    result["worker_peak_rss_mb_rusage"] = [
        round(stats[name]["rusage"]["maxrss"] / 1024, 1) if name in stats else None
        for name in ordered
    ]
    return result


def _figures(
    connection_id: int, sandbox_id: int, orders: int, run, elapsed: float, started_at: float
) -> dict:
    """What the run did, from our tables and the sandbox sevDesk's, and whether it is right.

    `started_at` (epoch seconds) is when the run was started; the first attempt's start
    after it is the time the fan-out took before the first order went out.
    """
    from django.db.models import Count, Sum

    from exports.models import ExportAttempt, OrderExport
    from sandbox.sevdesk.models import Voucher, VoucherPayment

    exports = OrderExport.objects.filter(connection_id=connection_id)
    calls = exports.aggregate(total=Sum("request_count"))["total"] or 0
    by_calls = dict(
        exports.values_list("request_count").annotate(n=Count("pk")).order_by("request_count")
    )
    attempts = ExportAttempt.objects.filter(export__connection_id=connection_id)
    first, first_started = attempts.order_by("started_at", "pk").values_list(
        "export_id", "started_at"
    ).first() or (None, None)
    first_calls = exports.filter(pk=first).values_list("request_count", flat=True).first() or 0
    counted = exports.count()
    vouchers = Voucher.objects.filter(account_id=sandbox_id)
    voucher_count = vouchers.count()
    descriptions = vouchers.values("description").distinct().count()
    payments = VoucherPayment.objects.filter(account_id=sandbox_id).count()
    not_one_payment = vouchers.annotate(n=Count("payments")).exclude(n=1).count()
    export_vouchers = set(exports.exclude(voucher_id=None).values_list("voucher_id", flat=True))
    paid = exports.filter(status=OrderExport.Status.PAID).count()
    problems = []
    if run.status != "finished":
        problems.append(f"run ended {run.status}: {run.message}")
    if counted != orders or paid != orders:
        problems.append(f"{paid} of {orders} orders paid ({counted} export rows)")
    if voucher_count != orders or descriptions != orders:
        problems.append(f"{voucher_count} vouchers for {descriptions} invoices, {orders} orders")
    if export_vouchers != set(vouchers.values_list("pk", flat=True)):
        problems.append("the exports' voucher ids are not the sandbox's vouchers")
    if payments != orders or not_one_payment:
        problems.append(f"{payments} payments; {not_one_payment} vouchers without exactly one")
    if run.processed != run.total or run.total != orders:
        problems.append(f"run counted {run.processed} of total {run.total} ({orders} orders)")
    return {
        "run_status": run.status,
        "run_total": run.total,
        "exported": run.done,
        "failed": run.failed,
        "skipped": run.skipped,
        "seconds": round(elapsed, 1),
        "first_delivery_after_s": (
            round(first_started.timestamp() - started_at, 2) if first_started else None
        ),
        "orders_per_minute": round(run.done / elapsed * 60, 1) if elapsed else None,
        "sevdesk_calls": calls,
        "sevdesk_calls_per_order": round(calls / max(counted, 1), 3),
        "sevdesk_calls_per_order_after_first": (
            round((calls - first_calls) / (counted - 1), 3) if counted > 1 else None
        ),
        "first_order_calls": first_calls,
        "orders_by_calls_made": {str(k): v for k, v in by_calls.items()},
        "attempts": attempts.count(),
        "export_statuses": dict(
            exports.values_list("status").annotate(n=Count("pk")).order_by("status")
        ),
        "vouchers": voucher_count,
        "duplicate_vouchers": voucher_count - descriptions,
        "payments": payments,
        "ok": not problems,
        "problems": problems,
    }


# --- Orchestration ---------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In a child, before exec: SIGTERM when the benchmark process dies (even by SIGKILL)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(process: subprocess.Popen | None, seconds: float = WORKER_STOP_SECONDS) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _memory_mb(pid: int) -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident set of a running process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in {"VmHWM", "VmRSS"}:
            values[key] = round(int(rest.split()[0]) / 1024, 1)  # kB
    return values


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _run(command: list[str], env: dict, timeout: float, what: str) -> dict | None:
    """A child to its end (bounded): its last stdout line is its JSON result."""
    try:
        done = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
            check=False, preexec_fn=_die_with_parent,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise SystemExit(f"{what} did not finish within {timeout:.0f} s") from None
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{what} failed with exit code {done.returncode}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def _child(env: dict, timeout: float, *args: str) -> dict:
    return _run([PYTHON, __file__, *args], env, timeout, f"child {args[0]}")


def _analyze(database_url: str) -> None:
    """Statistics for the fresh tables, as autovacuum gives a live database within a minute.

    Without them PostgreSQL plans the run's fan-out query on "1 row" estimates: a nested loop
    over orders and exports that took 60 s for 1,000 orders (see bench/README.md).
    """
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def _worker_start(env: dict, queue: str, hostname: str, log: Path) -> subprocess.Popen:
    """One Celery worker process (solo pool: this very process runs the tasks), logging to
    a file: an unread pipe would block it once full."""
    command = [
        PYTHON, "-m", "celery", "-A", "billbee_sevdesk", "worker", "--pool=solo",
        "--queues", queue, "--hostname", hostname, "--loglevel=WARNING",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )  # fmt: skip


def _redis_clean(redis_url: str, token: str, queue: str) -> None:
    """Forget the limiter's windows, pauses and back-offs of our token, and our private queue.

    Only our token's keys (those with its digest) go: `core.ratelimit.limiter_reset()` would
    also wipe the limits of anything else using this Redis, e.g. a second benchmark.
    """
    import redis

    sys.path.insert(0, str(ROOT))
    from core.ratelimit import KEY_PREFIX, secret_digest

    client = redis.Redis.from_url(redis_url)
    try:
        names = list(client.scan_iter(match=f"{KEY_PREFIX}:*{secret_digest(token)}*", count=500))
        client.delete(*names, queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()


def _default_timeout(args: argparse.Namespace) -> float:
    """Generous: twice what the limit and the latency alone make it, plus our own cost."""
    per_order = 0.1 + 2 * 3 / args.rate + 2 * 3 * args.latency_ms / 1000 / max(args.workers, 1)
    return 300 + args.orders * per_order


def orchestrate(args: argparse.Namespace) -> dict:
    server_url = os.environ.get("DATABASE_URL", "")
    postgres = server_url.startswith(("postgres://", "postgresql://"))
    redis_url = os.environ.get("REDIS_URL", "")
    if args.workers and not (postgres and redis_url.startswith(("redis://", "rediss://"))):
        raise SystemExit("--workers N needs a PostgreSQL DATABASE_URL and REDIS_URL")
    timeout = args.timeout or _default_timeout(args)
    load_at_start = os.getloadavg()[0]  # 1 minute: others' load on the cores shows here
    data_dir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    port = harness._free_port()
    database_url, pg_name = (
        harness._postgres_database(server_url)
        if postgres
        else (f"sqlite:///{data_dir}/bench.sqlite3", "")
    )
    queue = f"bench-export-{os.getpid()}"
    # A token of its own: the limiter's keys (per token) are not shared with another run.
    token = secrets.token_hex(16)
    env = harness._environment(data_dir, port, database_url)
    env.update(
        SEVDESK_API_BASE_URL=f"http://127.0.0.1:{port}/sandbox/sevdesk/api/v1",
        SEVDESK_REQUESTS_PER_SECOND=str(args.rate),
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    server = None
    workers: list[subprocess.Popen] = []
    driver = None
    succeeded = False
    try:
        _run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env, 600, "migrate")
        prepared = _child(
            env, 600 + args.orders * 0.1,
            "--setup", "--orders", str(args.orders), "--latency-ms", str(args.latency_ms),
            "--token", token,
        )  # fmt: skip
        if postgres and not args.no_analyze:
            _analyze(database_url)
        gunicorn = str(Path(PYTHON).with_name("gunicorn"))
        server = subprocess.Popen(
            [gunicorn, "billbee_sevdesk.wsgi", "-b", f"127.0.0.1:{port}",
             "-w", str(args.gunicorn_workers), "--log-level", "warning"],
            env=env, cwd=ROOT, preexec_fn=_die_with_parent,
            stdout=(data_dir / "gunicorn.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        harness._wait_until_up(f"http://127.0.0.1:{port}/accounts/login/", server)
        if redis_url:
            _redis_clean(redis_url, token, queue)
        ids = ["--connection", str(prepared["connection_id"]), "--sandbox",
               str(prepared["sandbox_id"]), "--orders", str(args.orders)]  # fmt: skip
        if not args.workers:
            result = _child(env, timeout, "--export", *ids)
            memory = {
                "process_peak_rss_mb": [result.pop("peak_rss_mb")],
                "process_peak_rss_mb_before_run": [result.pop("peak_rss_mb_before")],
            }
        else:
            hostnames = [f"bench{n}-{os.getpid()}@127.0.0.1" for n in range(args.workers)]
            for n, hostname in enumerate(hostnames):
                workers.append(_worker_start(env, queue, hostname, data_dir / f"worker-{n}.log"))
            handshake = data_dir / "handshake"
            handshake.write_text("")
            out = (data_dir / "driver.out").open("w")
            driver = subprocess.Popen(
                [PYTHON, __file__, "--drive", *ids, "--hostnames", ",".join(hostnames),
                 "--handshake", str(handshake), "--timeout", str(timeout)],
                env=env, cwd=ROOT, stdout=out, preexec_fn=_die_with_parent,
            )  # fmt: skip
            at_rest = None
            deadline = time.monotonic() + timeout + 240
            while driver.poll() is None:
                if time.monotonic() > deadline:
                    raise SystemExit("the driver did not end in time")
                dead = [n for n, w in enumerate(workers) if w.poll() is not None]
                if dead:
                    for n in dead:
                        sys.stderr.write(_tail(data_dir / f"worker-{n}.log") + "\n")
                    raise SystemExit(f"worker(s) {dead} exited during the run")
                if at_rest is None and handshake.read_text() == "ready":
                    at_rest = [_memory_mb(w.pid) for w in workers]
                    handshake.write_text("go")
                time.sleep(0.1)
            out.close()
            peaks = [_memory_mb(w.pid) for w in workers]  # before stopping them
            cpu = [_cpu_seconds(w.pid) for w in workers]
            if driver.returncode:
                for n in range(len(workers)):
                    sys.stderr.write(f"--- worker {n}\n{_tail(data_dir / f'worker-{n}.log')}\n")
                raise SystemExit(f"the driver failed with exit code {driver.returncode}")
            result = json.loads((data_dir / "driver.out").read_text().strip().splitlines()[-1])
            memory = {
                "worker_peak_rss_mb": [m["VmHWM"] for m in peaks],
                "worker_rss_mb_at_end": [m["VmRSS"] for m in peaks],
                "worker_peak_rss_mb_before_run": [m["VmHWM"] for m in at_rest or []],
                "worker_cpu_s": [round(c, 1) for c in cpu],
            }
        succeeded = True
        return {
            "database": "postgresql" if postgres else "sqlite",
            "redis": bool(redis_url),
            "orders": args.orders,
            "workers": args.workers,
            "mode": f"{args.workers} celery workers (solo pool)" if args.workers else "inline",
            "gunicorn_workers": args.gunicorn_workers,
            "latency_ms_per_sevdesk_call": args.latency_ms,
            "client_rate_limit_per_s": args.rate,
            "setup_s": round(prepared["setup_s"], 1),
            "load_average_at_start": round(load_at_start, 2),
            "load_average_at_end": round(os.getloadavg()[0], 2),
            **result,
            **memory,
        }
    finally:
        _stop(driver, 5)
        for worker in workers:  # all at once (a warm shutdown each), then wait for each
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            _stop(worker)
        _stop(server)
        if redis_url:
            try:
                _redis_clean(redis_url, token, queue)
            except Exception as error:  # cleaning up: say so and go on
                sys.stderr.write(f"could not clean up Redis: {error}\n")
        if pg_name:
            harness._postgres_drop(server_url, pg_name)
        if succeeded and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            sys.stderr.write(f"logs kept in {data_dir}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5, help="client requests/s per token")
    parser.add_argument(
        "--workers", type=int, default=0, help="Celery worker processes (0: inline, one process)"
    )
    parser.add_argument("--gunicorn-workers", type=int, default=4, help="serving the sandbox")
    parser.add_argument("--timeout", type=float, help="seconds the run may take (default: ample)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory and logs")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="PostgreSQL: skip ANALYZE after the set-up (the run then plans on empty statistics)",
    )
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--export", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--connection", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sandbox", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hostnames", help=argparse.SUPPRESS)
    parser.add_argument("--handshake", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workers < 0:
        parser.error("--workers must be 0 (inline) or more")
    if args.setup:
        print(json.dumps(setup(args.orders, args.latency_ms, args.token)))
    elif args.export:
        print(json.dumps(export(args.connection, args.sandbox, args.orders)))
    elif args.drive:
        print(json.dumps(drive(args)))
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the clean-up runs
        result = orchestrate(args)
        print(json.dumps(result, indent=2))
        if not result["ok"]:
            sys.exit(1)


if __name__ == "__main__":
    main()
