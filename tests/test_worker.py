"""A real Celery worker process consumes a task sent through the real broker (Redis in CI)."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from core.models import WorkerHeartbeat
from core.tasks import heartbeat

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis://") or connection.vendor == "sqlite",
        reason="needs REDIS_URL and a PostgreSQL DATABASE_URL (CI's second pass)",
    ),
]

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def database_url_of_the_test_database() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(
    queue: str, *, name: str = "", output=subprocess.PIPE, loglevel: str = "INFO", **environment
) -> subprocess.Popen:
    """`celery worker` in its own process, on the test database, listening to `queue` only.

    `output`: where its log goes (a PIPE must be read, or a chatty worker blocks on it).
    """
    command = [
        sys.executable, "-m", "celery", "-A", "billbee_sevdesk", "worker", "--pool=solo",
        "--queues", queue, "--hostname", f"{name or queue}@test", f"--loglevel={loglevel}",
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": database_url_of_the_test_database(),
            "REDIS_URL": settings.CELERY_BROKER_URL,
            **environment,
        },
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def worker_on_private_queue(transactional_db):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    process = start_worker(queue)
    try:
        yield queue, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        connection.close()


def test_a_real_worker_consumes_a_task_sent_through_redis(worker_on_private_queue):
    queue, process = worker_on_private_queue

    heartbeat.apply_async(queue=queue)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if WorkerHeartbeat.objects.filter(hostname=f"{queue}@test").exists():
            break
        time.sleep(0.25)
    else:
        output = process.stdout.read() if process.poll() is not None else "(still running)"
        pytest.fail(f"the worker did not record the task within 60 s; worker output:\n{output}")
    assert WorkerHeartbeat.objects.get(hostname=f"{queue}@test").last_seen_at is not None
