"""Benchmark: the Billbee order sync against the sandbox Billbee over real HTTP.

    .venv/bin/python bench/sync_orders.py [--orders 20000] [--min-interval 0.5] [--tracemalloc]
    DATABASE_URL=postgres://root@127.0.0.1:5432/test .venv/bin/python bench/sync_orders.py

It builds a throw-away installation (a temp SQLite file, or a fresh database on the PostgreSQL
server named by DATABASE_URL, dropped afterwards), generates the sandbox orders, serves the app
with gunicorn on a free loopback port, and runs ``orders_sync`` in a separate process, so the
figures (orders/s, Billbee calls per order, peak memory) are those of the syncing process
alone. Three runs: the first full sync, an incremental run with nothing changed, and an
incremental run after changing some orders in the sandbox.

The same file is the child process's entry point (``--setup`` / ``--sync``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_USER = "bench@example.com"


# --- Child processes (run with the throw-away installation's environment) --------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billbee_sevdesk.settings")
    import django

    django.setup()


def setup(count: int, seed: int) -> dict:
    """Sandbox account with ``count`` orders, and a merchant whose Billbee account points at it."""
    _django()
    from django.utils import timezone

    from merchants.models import MerchantAccount
    from orders.services import billbee_account_save
    from sandbox.billbee.models import SandboxAccount
    from sandbox.billbee.services import orders_generate

    sandbox = SandboxAccount.objects.create(name="Bench", username=BENCH_USER)
    # One order an hour up to now, like a steady shop: the generator's default start (30 days
    # back) would pile most of 20,000 orders onto "now", all inside the overlap window.
    start = timezone.now() - timedelta(hours=count + 24)
    started = time.perf_counter()
    orders_generate(account=sandbox, count=count, seed=seed, start=start)
    generated_in = time.perf_counter() - started
    merchant = MerchantAccount.objects.create(name="Bench GmbH")
    account = billbee_account_save(
        merchant=merchant,
        username=sandbox.username,
        api_key=sandbox.api_key,
        api_password=sandbox.api_password,
    )
    return {"account_id": account.pk, "sandbox_id": sandbox.pk, "generate_s": generated_in}


def mutate(sandbox_id: int, count: int, seed: int) -> dict:
    _django()
    from sandbox.billbee.models import SandboxAccount
    from sandbox.billbee.services import orders_mutate

    changed = orders_mutate(
        account=SandboxAccount.objects.get(pk=sandbox_id), count=count, seed=seed
    )
    return {"mutated": changed if isinstance(changed, int) else len(changed)}


class CountingSession:
    """A requests session that counts the calls leaving for Billbee."""

    def __new__(cls):
        import requests

        class _Session(requests.Session):
            calls = 0

            def request(self, *args, **kwargs):
                type(self).calls += 1
                return super().request(*args, **kwargs)

        return _Session()


def sync(account_id: int, min_interval: float, trace: bool) -> dict:
    """One ``orders_sync`` run, measured from inside the syncing process."""
    _django()
    from django.conf import settings

    from orders.billbee_client import BillbeeClient
    from orders.models import BillbeeAccount, Order
    from orders.services import orders_sync

    account = BillbeeAccount.objects.get(pk=account_id)
    session = CountingSession()
    client = BillbeeClient(
        base_url=settings.BILLBEE_API_BASE_URL,
        api_key=account.api_key,
        username=account.username,
        api_password=account.api_password,
        timeout=settings.BILLBEE_TIMEOUT_SECONDS,
        session=session,
        min_interval_per_endpoint=min_interval,
    )
    rss_before = _peak_rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    run = orders_sync(account=account, client=client)
    seconds = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    fetched = run.orders_created + run.orders_updated + run.orders_rejected
    return {
        "status": run.status,
        "pages": run.pages_done,
        "orders_fetched": fetched,
        "created": run.orders_created,
        "updated": run.orders_updated,
        "rejected": run.orders_rejected,
        "orders_in_mirror": Order.objects.for_merchant(account.merchant).count(),
        "seconds": round(seconds, 2),
        "orders_per_s": round(fetched / seconds, 1) if seconds else None,
        "billbee_calls": session.calls,
        "calls_per_order": round(session.calls / fetched, 4) if fetched else None,
        "peak_rss_mb_before_sync": round(rss_before, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "tracemalloc_peak_mb": round(traced_peak, 1) if traced_peak is not None else None,
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


# --- Orchestration ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child(env: dict, *args: str) -> dict:
    """Run this file as a child; its last stdout line is its JSON result."""
    done = subprocess.run(
        [PYTHON, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"child {args[0]} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _postgres_database(url: str) -> tuple[str, str]:
    """A fresh database beside the one in ``url``: (its URL, its name)."""
    import psycopg

    name = f"bench_sync_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def _postgres_drop(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own loopback URL)
                return
        except urllib.error.HTTPError:
            return  # it answers: good enough
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def _environment(data_dir: Path, port: int, database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        APP_ENV="development",
        DEBUG="false",
        DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        SITE_URL=f"http://127.0.0.1:{port}",
        SANDBOX_ENABLED="true",
        BILLBEE_API_BASE_URL=f"http://127.0.0.1:{port}/sandbox/billbee/api/v1",
        LOG_LEVEL="WARNING",
    )
    return env


def orchestrate(args: argparse.Namespace) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    port = _free_port()
    server_url = os.environ.get("DATABASE_URL", "")
    postgres = server_url.startswith(("postgres://", "postgresql://"))
    database_url, pg_name = (
        _postgres_database(server_url) if postgres else (f"sqlite:///{data_dir}/bench.sqlite3", "")
    )
    env = _environment(data_dir, port, database_url)
    server = None
    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
        )
        prepared = _child(env, "--setup", "--orders", str(args.orders), "--seed", str(args.seed))
        gunicorn = str(Path(PYTHON).with_name("gunicorn"))
        server = subprocess.Popen(
            [
                gunicorn,
                "billbee_sevdesk.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(args.workers),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        _wait_until_up(f"http://127.0.0.1:{port}/accounts/login/", server)
        sync_args = [
            "--sync",
            "--account",
            str(prepared["account_id"]),
            "--min-interval",
            str(args.min_interval),
        ]
        sync_args += ["--tracemalloc"] if args.tracemalloc else []
        runs = {"first_full_sync": _child(env, *sync_args)}
        runs["incremental_nothing_changed"] = _child(env, *sync_args)
        mutated = _child(
            env,
            "--sandbox",
            str(prepared["sandbox_id"]),
            "--orders",
            str(args.mutate),
            "--seed",
            str(args.seed + 1),
        )
        runs["incremental_after_changes"] = _child(env, *sync_args)
        return {
            "database": "postgresql" if postgres else "sqlite",
            "orders_generated": args.orders,
            "generate_s": round(prepared["generate_s"], 1),
            "orders_changed_in_sandbox": mutated["mutated"],
            "min_interval_per_endpoint_s": args.min_interval,
            "gunicorn_workers": args.workers,
            "runs": runs,
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if postgres:
            _postgres_drop(server_url, pg_name)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--mutate", type=int, default=500, help="orders changed before run 3")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--min-interval",
        type=float,
        default=0.5,
        help="seconds between calls per endpoint (Billbee allows 2/s; 0 measures our own speed)",
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sync", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--account", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sandbox", type=int, help=argparse.SUPPRESS)
    args, _rest = parser.parse_known_args()
    if args.setup:
        result = setup(args.orders, args.seed)
    elif args.sync:
        result = sync(args.account, args.min_interval, args.tracemalloc)
    elif args.sandbox is not None:
        result = mutate(args.sandbox, args.orders, args.seed)
    else:
        result = orchestrate(args)
        print(json.dumps(result, indent=2))
        return
    print(json.dumps(result))


if __name__ == "__main__":
    main()
