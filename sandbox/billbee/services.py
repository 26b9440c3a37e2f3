"""Writes of the simulated Billbee: accounts, generated orders, their changes, tags, faults."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from .generator import SHOP_TEMPLATES, OrderFactory, order_payments, payment_document
from .invoices import invoice_number
from .models import SandboxAccount, SandboxFaultPlan, SandboxOrder, SandboxShop
from .representations import billbee_timestamp, money, to_milliseconds
from .webhooks import orders_changed

FIRST_ORDER_ID = 300_000_000_001  # Billbee's ids are large int64 values
FIRST_SHOP_ID = 100_001
BATCH_SIZE = 1000
MEAN_GAP_MINUTES = 37
REVIEWED_TAG = "Geprüft"


def account_get_or_create(*, name: str, username: str | None = None) -> tuple[SandboxAccount, bool]:
    account = SandboxAccount.objects.filter(name=name).first()
    if account:
        return account, False
    username = username or f"{name.lower().replace(' ', '.')}@example.com"
    return SandboxAccount.objects.create(name=name, username=username), True


def shops_ensure(*, account: SandboxAccount) -> list[SandboxShop]:
    """The account's shops, one per template, created on first use."""
    shops = list(account.shops.order_by("billbee_id"))
    if shops:
        return shops
    next_id = (SandboxShop.objects.aggregate(top=Max("billbee_id"))["top"] or FIRST_SHOP_ID - 1) + 1
    return [
        SandboxShop.objects.create(
            account=account,
            billbee_id=next_id + index,
            name=template.name,
            platform=template.platform,
            account_type=template.account_type,
        )
        for index, template in enumerate(SHOP_TEMPLATES)
    ]


def _next_order_id() -> int:
    top = SandboxOrder.objects.aggregate(top=Max("billbee_id"))["top"]
    return (top or FIRST_ORDER_ID - 1) + 1


def _creation_times(rng: random.Random, count: int, start: datetime, now: datetime):
    """``count`` ascending order dates from ``start``, about MEAN_GAP apart, never after now.

    The gaps depend only on the random generator, so a seed and a start give the same dates.
    """
    moment = start
    for _ in range(count):
        moment += timedelta(minutes=rng.uniform(1, 2 * MEAN_GAP_MINUTES - 1))
        yield to_milliseconds(min(moment, now))


def _assign_invoice_number(document: dict, number: int, invoice_date: datetime) -> None:
    document["InvoiceNumberPrefix"] = f"RE-{invoice_date.year}-"
    document["InvoiceNumber"] = number
    document["InvoiceNumberPostfix"] = ""
    document["InvoiceDate"] = billbee_timestamp(invoice_date)


def tags_key(tags: list[str]) -> str:
    """Tags as one lower-case text ("|a|b|"), so GET /orders can filter by tag on any DB."""
    return "|" + "|".join(tag.lower() for tag in tags) + "|" if tags else ""


@transaction.atomic
def orders_generate(
    *, account: SandboxAccount, count: int, seed: int = 0, start: datetime | None = None
) -> int:
    """Create ``count`` orders; the same seed and start give the same orders (but new ids).

    Without ``start`` the orders end about now, as if the shop had been selling for a while.
    """
    account = SandboxAccount.objects.select_for_update().get(pk=account.pk)
    now = to_milliseconds(timezone.now())
    start = start or now - timedelta(minutes=MEAN_GAP_MINUTES * count)
    rng = random.Random(seed)
    shops = shops_ensure(account=account)
    factory = OrderFactory(
        rng,
        small_business=account.small_business,
        shops=[{"Id": s.billbee_id, "Name": s.name, "Platform": s.platform} for s in shops],
    )
    next_id = _next_order_id()
    invoice_number = account.next_invoice_number
    rows: list[SandboxOrder] = []
    for index, created_at in enumerate(_creation_times(rng, count, start, now)):
        generated = factory.order(billbee_id=next_id + index, created_at=created_at, now=now)
        if generated.invoice_date:
            _assign_invoice_number(generated.document, invoice_number, generated.invoice_date)
            invoice_number += 1
        rows.append(_order_row(account, shops[generated.shop_index], generated))
    SandboxOrder.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    account.next_invoice_number = invoice_number
    account.save(update_fields=["next_invoice_number"])
    return len(rows)


def _order_row(account, shop, generated) -> SandboxOrder:
    document = generated.document
    return SandboxOrder(
        account=account,
        billbee_id=document["BillBeeOrderId"],
        shop=shop,
        state=document["State"],
        order_number=document["OrderNumber"] or "",
        created_at=generated.created_at,
        last_modified_at=generated.last_modified_at,
        invoice_date=generated.invoice_date,
        paid_at=generated.paid_at,
        tags=list(document["Tags"]),
        tags_key=tags_key(document["Tags"]),
        data=document,
    )


# --- Changes over time ---------------------------------------------------------------------


def _touch(order: SandboxOrder, now: datetime) -> None:
    """Bump LastModifiedAt, strictly forward, as every change in Billbee does."""
    moment = max(now, order.last_modified_at + timedelta(milliseconds=1))
    order.last_modified_at = moment
    order.data["LastModifiedAt"] = order.data["UpdatedAt"] = billbee_timestamp(moment)


def _pay(order: SandboxOrder, rng: random.Random, now: datetime) -> None:
    """Pay an order in full now: what earlier payments left open, or the whole total (now and
    then partly by gift card, as the generator pays)."""
    document = order.data
    total = Decimal(document["TotalCost"])
    payments = list(document.get("Payments") or [])
    paid = _payments_sum(payments)
    if not payments:
        payments = order_payments(
            rng,
            paid_at=now,
            payment_method=document["PaymentMethod"],
            total=total,
            purpose=document["Id"],
            not_before=order.created_at,
        )
    elif paid < total:
        method = document["PaymentMethod"]
        payments.append(payment_document(rng, now, method, total - paid, document["Id"]))
    document["Payments"] = payments
    document["PaidAmount"] = money(_payments_sum(payments))
    order.paid_at = now
    document["PayedAt"] = billbee_timestamp(now)


def _payments_sum(payments: list[dict]) -> Decimal:
    return sum((Decimal(payment["PayValue"]) for payment in payments), Decimal(0))


@transaction.atomic
def order_payment_add(
    *,
    order: SandboxOrder,
    amount: Decimal,
    payment_type: int,
    when: datetime | None = None,
    mark_paid: bool | None = None,
) -> SandboxOrder:
    """Record one more payment of ``amount`` made at ``when`` (default: now), as Billbee does.

    It is appended to `Payments` (own BillbeeId and TransactionId) and added to `PaidAmount`.
    `PayedAt` is set to its date once the payments reach `TotalCost`, or with
    ``mark_paid=True`` whatever the sum; ``mark_paid=False`` records the payment without
    marking the order paid. `PayedAt` is never cleared or moved (the sandbox's reading of
    Billbee's "paid" flag). `LastModifiedAt` moves on to now, whatever the pay date, so an
    incremental sync by modification date sees the payment.
    """
    if not amount.is_finite() or not amount:
        raise ValueError(f"a payment needs an amount, not {amount}")
    order = SandboxOrder.objects.select_for_update().get(pk=order.pk)
    pay_date = to_milliseconds(when or timezone.now())
    document = order.data
    payments = list(document.get("Payments") or [])
    # Seeded by the order and the payment's position: the same call gives the same ids.
    rng = random.Random(f"{order.billbee_id}|payment|{len(payments)}")
    payments.append(payment_document(rng, pay_date, payment_type, amount, document.get("Id")))
    document["Payments"] = payments
    paid = Decimal(document.get("PaidAmount") or 0) + amount
    document["PaidAmount"] = money(paid)
    complete = mark_paid is True or (mark_paid is None and paid >= Decimal(document["TotalCost"]))
    if complete and order.paid_at is None:
        order.paid_at = pay_date
        document["PayedAt"] = billbee_timestamp(pay_date)
    _touch(order, to_milliseconds(timezone.now()))
    order.save(update_fields=["paid_at", "last_modified_at", "data"])
    orders_changed(account=order.account, billbee_ids=[order.billbee_id], action=UPDATED)
    return order


def _set_state(order: SandboxOrder, state: int, now: datetime) -> None:
    order.state = order.data["State"] = state
    if state == 4:
        order.data["ShippedAt"] = billbee_timestamp(now)


def _progress(order: SandboxOrder, account: SandboxAccount, rng: random.Random, now) -> None:
    """One step of an order's life: paid, invoiced, shipped, completed or reviewed."""
    if order.state in (1, 2):
        _pay(order, rng, now)
        _set_state(order, 3, now)
    elif order.paid_at and not order.invoice_date:
        _invoice(order, account, now)
    elif order.state in (3, 4):
        _set_state(order, order.state + 1 if order.state == 3 else 7, now)
    else:
        _tags_merge(order, [REVIEWED_TAG])
    _touch(order, now)


def _invoice(order: SandboxOrder, account: SandboxAccount, now: datetime) -> None:
    _assign_invoice_number(order.data, account.next_invoice_number, now)
    account.next_invoice_number += 1
    order.invoice_date = now


@transaction.atomic
def orders_mutate(
    *, account: SandboxAccount, count: int, seed: int = 0, now: datetime | None = None
) -> list[SandboxOrder]:
    """Move ``count`` orders one step on (payment, invoice, shipping, tag), as time would."""
    account = SandboxAccount.objects.select_for_update().get(pk=account.pk)
    now = to_milliseconds(now or timezone.now())
    rng = random.Random(seed)
    ids = list(account.orders.exclude(state__in=(6, 9)).values_list("pk", flat=True))
    chosen = sorted(rng.sample(ids, min(count, len(ids))))
    orders = list(SandboxOrder.objects.filter(pk__in=chosen).order_by("pk"))
    for order in orders:
        _progress(order, account, rng, now)
    fields = ["state", "paid_at", "invoice_date", "last_modified_at", "tags", "tags_key", "data"]
    SandboxOrder.objects.bulk_update(orders, fields, batch_size=BATCH_SIZE)
    account.save(update_fields=["next_invoice_number"])
    orders_changed(account=account, billbee_ids=[o.billbee_id for o in orders], action=UPDATED)
    return orders


CANCELLED = 8
UPDATED = "order.updated"


@transaction.atomic
def order_invoice_issue(*, order: SandboxOrder, now: datetime | None = None) -> SandboxOrder:
    """Invoice one order now (with the account's next number), as Billbee does when the shop
    creates the invoice; its webhooks hear of it."""
    account = SandboxAccount.objects.select_for_update().get(pk=order.account_id)
    now = to_milliseconds(now or timezone.now())
    _invoice(order, account, now)
    _touch(order, now)
    order.save(update_fields=["invoice_date", "last_modified_at", "data"])
    account.save(update_fields=["next_invoice_number"])
    orders_changed(account=account, billbee_ids=[order.billbee_id], action=UPDATED)
    return order


@transaction.atomic
def orders_refund(
    *, account: SandboxAccount, count: int, seed: int = 0, now: datetime | None = None
) -> list[SandboxOrder]:
    """Cancel ``count`` invoiced orders and issue each a full credit note, as Billbee does when
    only the order has an invoice: numbered "<invoice number>-GS", dated now, served by
    GET /orders/invoices with ``Type`` "creditnote" and negative amounts."""
    now = to_milliseconds(now or timezone.now())
    rng = random.Random(seed)
    candidates = account.orders.filter(invoice_date__isnull=False).exclude(state=CANCELLED)
    ids = sorted(candidates.values_list("pk", flat=True))
    chosen = sorted(rng.sample(ids, min(count, len(ids))))
    orders = list(SandboxOrder.objects.filter(pk__in=chosen).order_by("pk"))
    for order in orders:
        _credit_note_issue(order, now, items=None, shipping=True)
    SandboxOrder.objects.bulk_update(
        orders, ["state", "last_modified_at", "data"], batch_size=BATCH_SIZE
    )
    orders_changed(account=account, billbee_ids=[o.billbee_id for o in orders], action=UPDATED)
    return orders


def order_credit_note_issue(
    *,
    order: SandboxOrder,
    items: list[int] | None = None,
    shipping: bool = True,
    refunded: bool = True,
    now: datetime | None = None,
) -> SandboxOrder:
    """A credit note for one invoiced order: for all of it (the order is cancelled), or for
    the items at the given positions (0-based) and, if `shipping`, the shipping (a return; the
    order's state stays). `refunded`: Billbee records the refund date (`PayDate`)."""
    now = to_milliseconds(now or timezone.now())
    _credit_note_issue(order, now, items=items, shipping=shipping, refunded=refunded)
    order.save(update_fields=["state", "last_modified_at", "data"])
    orders_changed(account=order.account, billbee_ids=[order.billbee_id], action=UPDATED)
    return order


def _credit_note_issue(order, now, *, items, shipping, refunded=True) -> None:
    order.data["CreditNote"] = {
        "Number": f"{invoice_number(order.data)}-GS",
        "Date": billbee_timestamp(now),
        "PayDate": billbee_timestamp(now) if refunded else None,
        "Items": items,
        "Shipping": shipping,
    }
    if items is None:
        _set_state(order, CANCELLED, now)
    _touch(order, now)


# --- Tags ----------------------------------------------------------------------------------


def _tags_merge(order: SandboxOrder, tags: list[str]) -> bool:
    """Add tags Billbee's way: case-insensitive, existing ones kept as written."""
    known = {tag.lower() for tag in order.tags}
    added = False
    for tag in tags:
        tag = tag.strip()
        if tag and tag.lower() not in known:
            order.tags.append(tag)
            known.add(tag.lower())
            added = True
    order.data["Tags"] = list(order.tags)
    order.tags_key = tags_key(order.tags)
    return added


def order_tags_add(*, order: SandboxOrder, tags: list[str]) -> SandboxOrder:
    if _tags_merge(order, tags):
        _touch(order, to_milliseconds(timezone.now()))
        order.save(update_fields=["tags", "tags_key", "data", "last_modified_at"])
    return order


# --- Faults --------------------------------------------------------------------------------


def fault_inject(
    *, account: SandboxAccount, kind: str, count: int = 1, path_contains: str = ""
) -> SandboxFaultPlan:
    """Make the next ``count`` matching calls fail: http_500, html_502 or malformed_order."""
    if kind not in SandboxFaultPlan.Kind.values:
        raise ValueError(f"unknown fault kind {kind!r}")
    return SandboxFaultPlan.objects.create(
        account=account, kind=kind, remaining=count, path_contains=path_contains
    )


def fault_claim(*, account: SandboxAccount, path: str, kinds: tuple[str, ...]) -> str | None:
    """Use one turn of the oldest matching fault plan; the conditional UPDATE makes two
    concurrent requests unable to take the same last turn."""
    plans = SandboxFaultPlan.objects.filter(account=account, kind__in=kinds, remaining__gt=0)
    for plan in plans.order_by("id"):
        if plan.path_contains and plan.path_contains not in path:
            continue
        taken = SandboxFaultPlan.objects.filter(pk=plan.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if taken:
            return plan.kind
    return None
