import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from core.models import WorkerHeartbeat

TOKEN = "health-token-for-the-monitoring-0123456789"


@pytest.fixture
def database_down(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OperationalError(
            'connection to server at "db.internal" (10.0.0.5), port 5432 failed: '
            'FATAL: password authentication failed for user "billbee_sevdesk"'
        )

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)


@pytest.fixture
def broker_down(settings):
    settings.CELERY_BROKER_URL = "redis://:wrong-password@127.0.0.1:1/0"  # nothing on port 1
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}


@pytest.fixture
def with_token(settings):
    settings.HEALTH_TOKEN = TOKEN
    return {"Authorization": f"Bearer {TOKEN}"}


# --- Anonymous callers: the verdict only ----------------------------------------------------


@pytest.mark.django_db
def test_health_is_ok_for_an_anonymous_caller_when_database_and_broker_answer(client):
    WorkerHeartbeat.objects.create(hostname="celery@worker-7f9c", last_seen_at=timezone.now())

    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_an_anonymous_caller_learns_nothing_about_a_failing_database(client, database_down):
    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "fail"}
    assert b"db.internal" not in response.content and b"5432" not in response.content


@pytest.mark.django_db
def test_an_anonymous_caller_learns_nothing_about_a_failing_broker(client, broker_down):
    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "fail"}
    assert b"wrong-password" not in response.content


@pytest.mark.django_db
def test_a_wrong_or_missing_token_gets_the_verdict_only(client, with_token):
    for headers in [{"Authorization": "Bearer not-the-token"}, {"Authorization": TOKEN}, {}]:
        response = client.get("/health/", headers=headers)

        assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_without_a_configured_token_no_bearer_token_unlocks_the_details(client, settings):
    settings.HEALTH_TOKEN = ""

    response = client.get("/health/", headers={"Authorization": "Bearer "})

    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_a_logged_in_merchant_who_is_not_staff_gets_the_verdict_only(member_client):
    assert member_client.get("/health/").json() == {"status": "ok"}


# --- Staff and the monitoring token: the details --------------------------------------------


@pytest.mark.django_db
def test_the_monitoring_token_shows_the_checks_and_workers(client, with_token):
    WorkerHeartbeat.objects.create(hostname="celery@worker-7f9c", last_seen_at=timezone.now())

    response = client.get("/health/", headers=with_token)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok"}
    assert body["workers_seen_last_5_minutes"] == ["celery@worker-7f9c"]


@pytest.mark.django_db
def test_staff_see_the_checks(admin_client):
    body = admin_client.get("/health/").json()

    assert body["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_health_is_503_naming_the_broker_when_the_broker_is_unreachable(
    client, with_token, broker_down
):
    response = client.get("/health/", headers=with_token)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error:")


@pytest.mark.django_db
def test_health_is_503_naming_the_database_when_the_database_is_down(
    client, with_token, database_down
):
    response = client.get("/health/", headers=with_token)

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert "password authentication failed" in checks["database"]
    assert checks["broker"] == "ok"
