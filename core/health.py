"""Checks behind /health/: can we reach the database and the broker right now?"""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from core.models import WorkerHeartbeat

BROKER_TIMEOUT_SECONDS = 3


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=BROKER_TIMEOUT_SECONDS,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    ) as conn:
        # kombu's Redis channel pings the server when it opens, so this reaches Redis itself.
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
        )
        conn.default_channel  # noqa: B018 - opening the channel is the check


def recent_workers(*, within: timedelta = timedelta(minutes=5)) -> list[str]:
    since = timezone.now() - within
    return list(
        WorkerHeartbeat.objects.filter(last_seen_at__gte=since).values_list("hostname", flat=True)
    )


def run_checks() -> dict[str, str]:
    """Return ``{"database": "ok" | error, "broker": "ok" | error}``."""
    results = {}
    for name, check in (("database", check_database), ("broker", check_broker)):
        try:
            check()
        except Exception as exc:
            results[name] = f"error: {type(exc).__name__}: {exc}"
        else:
            results[name] = "ok"
    return results
