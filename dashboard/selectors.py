"""The home page: per connection its state, syncs, exports and outcome counts, and the first
steps a new merchant still has to take. Read-only; each figure comes from the app owning it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts_mapping.models import AccountAssignment
from connections.models import Connection
from exports.models import OrderExport
from exports.selectors import next_scheduled_run, outcome_counts, period_start
from merchants.models import MerchantAccount
from orders.models import BillbeeAccount, SyncRun
from orders.services import sync_interval
from reconciliation.selectors import latest_monthly_report_for

# The tiles, in the order shown, with the export log's outcome filter they link to.
OUTCOMES = (
    ("exported", _("Exported")),
    ("waiting_invoice", _("Waiting for invoice")),
    ("waiting_payment", _("Waiting for payment")),
    ("payment_open", _("Voucher created – payment open")),
    ("needs_action", _("Needs action")),
    ("oss", _("OSS distance sales")),
    ("credit_notes", _("Credit notes")),
)


@dataclass(frozen=True)
class Tile:
    outcome: str
    label: str
    today: int
    month: int
    url_today: str
    url_month: str


@dataclass(frozen=True)
class ConnectionPanel:
    connection: Connection
    state: str  # active | paused | token_rejected | inactive | untested
    state_detail: str
    last_export_at: datetime.datetime | None
    next_export_at: datetime.datetime | None
    tiles: list[Tile]
    report: object | None = None  # the latest monthly reconciliation report


@dataclass(frozen=True)
class Step:
    label: str
    done: bool
    url: str


@dataclass
class Dashboard:
    billbee_account: BillbeeAccount | None
    last_sync_at: datetime.datetime | None
    next_sync_at: datetime.datetime | None
    panels: list[ConnectionPanel] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    @property
    def first_steps_open(self) -> bool:
        return not all(step.done for step in self.steps)


def dashboard_for(merchant: MerchantAccount, *, now: datetime.datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    account = BillbeeAccount.objects.filter(merchant=merchant).order_by("pk").first()
    last_sync = (
        SyncRun.objects.filter(account=account, status=SyncRun.Status.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
        if account
        else None
    )
    connections = list(Connection.objects.filter(merchant=merchant).live().order_by("name"))
    next_export = next_scheduled_run()
    panels = [_panel(connection, now, next_export) for connection in connections]
    return Dashboard(
        billbee_account=account,
        last_sync_at=last_sync,
        next_sync_at=next_sync_at(account, now) if account else None,
        panels=panels,
        steps=_first_steps(account, connections, last_sync),
    )


def next_sync_at(account: BillbeeAccount, now: datetime.datetime) -> datetime.datetime | None:
    """When the minute-by-minute beat will find the account due: its last window plus its
    interval (or at the next minute, for an account never synced or asked by a webhook)."""
    if not account.sync_enabled:
        return None
    due = (
        account.sync_cursor + sync_interval(account=account, now=now)
        if account.sync_cursor
        else now
    )
    return max(due, now.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1))


def _panel(connection: Connection, now, next_export) -> ConnectionPanel:
    state, detail = _state(connection, now)
    tiles = _tiles(connection, now)
    last_export = connection.order_exports.aggregate(last=Max("exported_at"))["last"]
    return ConnectionPanel(
        connection=connection,
        state=state,
        state_detail=detail,
        last_export_at=last_export,
        next_export_at=next_export if state in ("active", "paused") else None,
        tiles=tiles,
        report=_latest_report(connection),
    )


def _state(connection: Connection, now) -> tuple[str, str]:
    if not connection.is_active:
        return "inactive", ""
    if connection.status == Connection.Status.TOKEN_REJECTED:
        return "token_rejected", ""
    if connection.paused_until and connection.paused_until > now:
        return "paused", connection.pause_reason
    if connection.status != Connection.Status.OK:
        return "untested", connection.get_status_display()
    return "active", ""


def _tiles(connection: Connection, now) -> list[Tile]:
    today = outcome_counts(connection, period_start("today", now))
    month = outcome_counts(connection, period_start("month", now))
    log = reverse("exports:connection_export_log", args=[connection.pk])
    return [
        Tile(
            outcome=key,
            label=str(label),
            today=today.get(key, 0),
            month=month.get(key, 0),
            url_today=f"{log}?outcome={key}&period=today",
            url_month=f"{log}?outcome={key}&period=month",
        )
        for key, label in OUTCOMES
    ]


def _latest_report(connection: Connection):
    return latest_monthly_report_for(connection)


def _first_steps(account, connections, last_sync) -> list[Step]:
    """Billbee account → connection → account assignment → first export."""
    assigned = any(
        connection.payment_reconciliation == Connection.PaymentReconciliation.SEVDESK
        or AccountAssignment.objects.filter(connection=connection).exists()
        for connection in connections
    )
    exported = OrderExport.objects.filter(
        connection__in=connections, voucher_id__isnull=False
    ).exists()
    first = connections[0] if connections else None
    return [
        Step(
            _("Connect your Billbee account"),
            bool(account and last_sync),
            reverse("orders:billbee_account"),
        ),
        Step(
            _("Create a sevDesk connection"),
            bool(connections),
            reverse("connections:connection_create"),
        ),
        Step(
            _("Assign the payment methods to sevDesk accounts"),
            assigned,
            reverse("connections:connection_edit", args=[first.pk]) + "?tab=accounts"
            if first
            else reverse("connections:connection_create"),
        ),
        Step(
            _("Export your first orders"),
            exported,
            reverse("orders:order_list"),
        ),
    ]
