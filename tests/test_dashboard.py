"""The home page: per connection its state, last and next runs, outcome counts linking into
the export log, and the first steps a new merchant still has to take."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from connections.models import Connection
from dashboard.selectors import dashboard_for, next_sync_at
from exports.selectors import next_scheduled_run
from orders.models import SyncRun
from tests.exports_fixtures import invoiced_order, run_export
from tests.orders_factories import BillbeeAccountFactory


def _page(client) -> str:
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def _tile(page: str, connection, outcome: str) -> tuple[int, int]:
    panel = page.split(f'id="connection-{connection.pk}"', 1)[1]
    tile = panel.split(f'data-outcome="{outcome}"', 1)[1].split("</div>", 1)[0]
    today, month = re.findall(r"<strong>(\d+)</strong>", tile)[:2]
    return int(today), int(month)


def _synced_account(merchant):
    account = BillbeeAccountFactory(merchant=merchant)
    now = timezone.now()
    SyncRun.objects.create(
        merchant=merchant, account=account, status=SyncRun.Status.SUCCEEDED, started_at=now,
        finished_at=now, heartbeat_at=now, window_to=now,
    )  # fmt: skip
    account.sync_cursor = now
    account.save(update_fields=["sync_cursor"])
    return account


def test_a_new_merchant_sees_the_first_steps_with_links(member_client, merchant):
    page = _page(member_client)

    assert 'id="first-steps"' in page
    assert "Billbee-Konto verbinden" in page
    assert reverse("orders:billbee_account") in page
    assert reverse("connections:connection_create") in page
    assert "✓" not in page.split('id="first-steps"')[1].split("</ol>")[0]


def test_after_an_export_the_tiles_count_it_and_link_into_the_filtered_log(
    member_client, merchant, shop, connection
):
    orders = [invoiced_order(merchant, shop, n) for n in (1, 2)]
    run_export(connection, orders=orders)

    page = _page(member_client)

    assert _tile(page, connection, "exported") == (2, 2)
    assert _tile(page, connection, "needs_action") == (0, 0)
    log = reverse("exports:connection_export_log", args=[connection.pk])
    assert f"{log}?outcome=exported&amp;period=today" in page
    filtered = member_client.get(log, {"outcome": "exported", "period": "today"})
    content = filtered.content.decode()
    assert all(order.invoice_number in content for order in orders)
    waiting = member_client.get(log, {"outcome": "needs_action", "period": "today"})
    assert not any(order.invoice_number in waiting.content.decode() for order in orders)


def test_the_first_steps_disappear_once_all_are_done(member_client, merchant, shop, connection):
    _synced_account(merchant)
    run_export(connection, orders=[invoiced_order(merchant, shop)])

    dashboard = dashboard_for(merchant)

    assert [step.done for step in dashboard.steps] == [True, True, True, True]
    assert 'id="first-steps"' not in _page(member_client)


def test_a_step_not_done_stays_open(merchant, connection):
    dashboard = dashboard_for(merchant)

    assert [step.done for step in dashboard.steps] == [False, True, True, False]


def test_each_state_is_named(member_client, merchant, connection):
    connection.status = Connection.Status.TOKEN_REJECTED
    connection.save()
    assert "Token abgelehnt" in _page(member_client).split(f'id="connection-{connection.pk}"')[1]

    connection.status = Connection.Status.OK
    connection.paused_until = timezone.now() + datetime.timedelta(minutes=10)
    connection.pause_reason = "sevDesk antwortet nicht"
    connection.save()
    panel = _page(member_client).split(f'id="connection-{connection.pk}"')[1]
    assert "pausiert" in panel and "sevDesk antwortet nicht" in panel

    connection.paused_until = None
    connection.is_active = False
    connection.save()
    panel = _page(member_client).split(f'id="connection-{connection.pk}"')[1]
    assert "deaktiviert" in panel
    assert 'class="next-export"' not in panel.split("connection-panel")[0]


def test_a_deleted_connection_is_not_on_the_dashboard(member_client, merchant, connection):
    connection.deleted_at = timezone.now()
    connection.save()

    assert f'id="connection-{connection.pk}"' not in _page(member_client)


def test_the_next_export_before_the_first_run_is_one_interval_after_the_schedule(db):
    """Not "now": beat counts from the schedule's last change until it first ran."""
    task = PeriodicTask.objects.get(task="exports.run_all")
    created = timezone.now() - datetime.timedelta(minutes=5)
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=None, date_changed=created)
    every = datetime.timedelta(seconds=task.interval.every)

    assert next_scheduled_run() == created + every

    ran = timezone.now() - datetime.timedelta(minutes=1)
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=ran)
    assert next_scheduled_run() == ran + every


def test_the_next_sync_is_the_last_window_plus_the_interval(merchant, settings):
    settings.BILLBEE_SYNC_INTERVAL_MINUTES = 2
    account = _synced_account(merchant)
    now = account.sync_cursor

    assert next_sync_at(account, now) >= now + datetime.timedelta(minutes=1)
    assert next_sync_at(account, now) <= now + datetime.timedelta(minutes=10)
    account.sync_enabled = False
    assert next_sync_at(account, now) is None


@pytest.mark.parametrize("language, label", [("de", "Exportiert"), ("en", "Exported")])
def test_the_tiles_speak_the_readers_language(member_client, connection, language, label):
    member_client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    assert label in _page(member_client)
