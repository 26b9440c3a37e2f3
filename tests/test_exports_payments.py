"""Payments as Billbee records them: each Billbee payment booked once, on its own account and
date, `N` for a part and `FULL_PAYMENT` only for the payment that completes the voucher.

Every test asserts the `bookAmount` bodies that left (against the in-process sandbox sevDesk,
each request checked against sevDesk's spec on the way) and what the sandbox booked.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts_mapping.models import AccountAssignment
from exports.models import OrderExport, PaymentBooking
from orders.models import Payment
from sandbox.sevdesk.models import CheckAccount, Voucher, VoucherPayment
from sandbox.sevdesk.services import fault_inject
from tests.exports_fixtures import PAYPAL, invoiced_order, run_export

D = Decimal
GIFT_CARD = 6  # Billbee's "Gutschein"
BANK_TRANSFER = 1
FIRST_DAY = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Berlin Monday, 10:30
LATER_DAY = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)


def bookings_sent(sandbox_http) -> list[dict]:
    return [
        json.loads(request.body)
        for request in sandbox_http.sent
        if "bookAmount" in request.url and request.method == "PUT"
    ]


def pay(order, amount: str, payment_type: int, when: datetime, billbee_id: int) -> None:
    """What the next sync writes: one more Billbee payment, and Billbee's paid amount."""
    Payment.objects.create(
        merchant=order.merchant,
        order=order,
        billbee_id=billbee_id,
        pay_date=when,
        payment_type=payment_type,
        amount=D(amount),
    )
    order.paid_amount = sum((p.amount for p in order.payments.all()), D(0))
    order.save()


def export_of(order) -> OrderExport:
    return OrderExport.objects.get(order=order)


@pytest.fixture
def gift_card_account(sevdesk_account, connection, merchant):
    account = CheckAccount.objects.create(
        account=sevdesk_account,
        name="Verrechnungskonto Gutscheine",
        type=CheckAccount.Type.OFFLINE,
        accounting_number="1461",
    )
    AccountAssignment.objects.create(
        merchant=merchant,
        connection=connection,
        payment_method=GIFT_CARD,
        check_account_id=account.pk,
        check_account_name=account.name,
    )
    return account


def check_account_ref(account) -> dict:
    return {"id": account.pk, "objectName": "CheckAccount"}


def test_a_part_payment_then_the_rest_are_booked_as_n_then_full_payment(
    connection, merchant, shop, sevdesk_account, offline_account, sandbox_http
):
    # given 119.00 invoiced, 50.00 paid by PayPal so far
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "50.00", PAYPAL, FIRST_DAY, billbee_id=9001)

    run_export(connection)

    export = export_of(order)
    assert export.status == OrderExport.Status.VOUCHER_CREATED
    assert export.problem == OrderExport.Problem.PART_PAID
    # stored in the installation's language, German
    assert export.message == (
        f"Beleg {export.voucher_id} angelegt; 50,00 EUR von 119,00 EUR bezahlt, 69,00 EUR offen."
    )
    voucher = Voucher.objects.get(account=sevdesk_account)
    assert (voucher.status, voucher.paid_amount) == (750, D("50.00"))

    # the next sync brings the rest, three days later
    pay(order, "69.00", PAYPAL, LATER_DAY, billbee_id=9002)
    run_export(connection)

    assert bookings_sent(sandbox_http) == [
        {
            "amount": 50.00,
            "date": "2026-03-02T00:00:00+01:00",
            "type": "N",
            "checkAccount": check_account_ref(offline_account),
            "createFeed": True,
        },
        {
            "amount": 69.00,
            "date": "2026-03-05T00:00:00+01:00",
            "type": "FULL_PAYMENT",
            "checkAccount": check_account_ref(offline_account),
            "createFeed": True,
        },
    ]
    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    voucher.refresh_from_db()
    assert (voucher.status, voucher.paid_amount) == (1000, D("119.00"))


def test_two_payments_of_different_types_go_to_their_own_accounts(
    connection, merchant, shop, sevdesk_account, offline_account, gift_card_account, sandbox_http
):
    # given 119.00: a 20.00 gift card at checkout, 99.00 by PayPal an hour later
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "20.00", GIFT_CARD, FIRST_DAY, billbee_id=9001)
    pay(order, "99.00", PAYPAL, FIRST_DAY.replace(hour=10), billbee_id=9002)

    run_export(connection)

    sent = bookings_sent(sandbox_http)
    assert [(b["amount"], b["type"], b["checkAccount"]["id"]) for b in sent] == [
        (20.00, "N", gift_card_account.pk),
        (99.00, "FULL_PAYMENT", offline_account.pk),
    ]
    assert {b["date"] for b in sent} == {"2026-03-02T00:00:00+01:00"}
    assert export_of(order).status == OrderExport.Status.PAID
    assert sorted(
        VoucherPayment.objects.filter(voucher__account=sevdesk_account).values_list(
            "check_account_id", "amount"
        )
    ) == sorted([(gift_card_account.pk, D("20.00")), (offline_account.pk, D("99.00"))])


def test_a_later_payment_found_by_the_next_sync_is_booked_then_and_only_it(
    connection, merchant, shop, sevdesk_account, gift_card_account, sandbox_http
):
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "20.00", GIFT_CARD, FIRST_DAY, billbee_id=9001)
    run_export(connection)
    run_export(connection)  # nothing new: nothing sent
    assert len(bookings_sent(sandbox_http)) == 1

    pay(order, "99.00", PAYPAL, LATER_DAY, billbee_id=9002)
    run_export(connection)

    later = bookings_sent(sandbox_http)[1:]
    assert [(b["amount"], b["type"], b["date"]) for b in later] == [
        (99.00, "FULL_PAYMENT", "2026-03-05T00:00:00+01:00")
    ]
    export = export_of(order)
    assert export.status == OrderExport.Status.PAID
    assert export.attempt_count == 1  # taken up afresh for the payment, not as a repeat failure


def test_a_lost_answer_for_the_second_of_two_payments_books_it_once(
    connection, merchant, shop, sevdesk_account, offline_account, gift_card_account, sandbox_http
):
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "20.00", GIFT_CARD, FIRST_DAY, billbee_id=9001)
    pay(order, "99.00", PAYPAL, FIRST_DAY.replace(hour=10), billbee_id=9002)
    fault_inject(
        account=sevdesk_account,
        kind="lose_response",
        path_contains="bookAmount",
        body_contains="FULL_PAYMENT",
    )

    run_export(connection)
    export = export_of(order)
    assert export.status == OrderExport.Status.RETRY
    OrderExport.objects.filter(pk=export.pk).update(next_attempt_at=timezone.now())
    run_export(connection)

    assert len(bookings_sent(sandbox_http)) == 2  # the lost one was not sent again
    assert VoucherPayment.objects.filter(voucher__account=sevdesk_account).count() == 2
    voucher = Voucher.objects.get(account=sevdesk_account)
    assert (voucher.status, voucher.paid_amount) == (1000, D("119.00"))
    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    assert set(export.payment_bookings.values_list("key", "status")) == {
        ("billbee:9001", PaymentBooking.Status.BOOKED),
        ("billbee:9002", PaymentBooking.Status.BOOKED),
    }


def test_a_lost_booking_that_never_arrived_is_sent_again(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "119.00", PAYPAL, FIRST_DAY, billbee_id=9001)
    fault_inject(account=sevdesk_account, kind="http_500", path_contains="bookAmount")

    run_export(connection)
    OrderExport.objects.filter(order=order).update(next_attempt_at=timezone.now())
    run_export(connection)

    assert [b["type"] for b in bookings_sent(sandbox_http)] == ["FULL_PAYMENT", "FULL_PAYMENT"]
    assert VoucherPayment.objects.filter(voucher__account=sevdesk_account).count() == 1
    assert export_of(order).status == OrderExport.Status.PAID


def test_a_payment_type_without_an_account_leaves_the_payment_open_with_its_own_status(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    # a gift card has no account and "book unassigned as standard" is off
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "20.00", GIFT_CARD, FIRST_DAY, billbee_id=9001)
    pay(order, "99.00", PAYPAL, FIRST_DAY.replace(hour=10), billbee_id=9002)

    run_export(connection)

    export = export_of(order)
    assert export.status == OrderExport.Status.VOUCHER_CREATED
    assert export.problem == OrderExport.Problem.NO_ACCOUNT
    assert export.message == (
        f"Beleg {export.voucher_id} angelegt – Zahlung offen: bitte ein Konto für „Gutschein“ "
        "zuweisen."
    )
    # the PayPal part is booked, as a part: the voucher is not complete without the gift card
    assert [(b["amount"], b["type"]) for b in bookings_sent(sandbox_http)] == [(99.00, "N")]


def test_unassigned_payments_go_to_the_standard_account_when_the_connection_says_so(
    connection, merchant, shop, sevdesk_account, offline_account, sandbox_http
):
    standard = CheckAccount.objects.create(
        account=sevdesk_account,
        name="Verrechnungskonto Sonstige",
        type=CheckAccount.Type.OFFLINE,
        accounting_number="1462",
    )
    AccountAssignment.objects.create(
        merchant=merchant,
        connection=connection,
        payment_method=None,
        check_account_id=standard.pk,
        check_account_name=standard.name,
    )
    connection.book_unassigned_as_standard = True
    connection.save()
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "119.00", BANK_TRANSFER, FIRST_DAY, billbee_id=9001)

    run_export(connection)

    [booking] = bookings_sent(sandbox_http)
    assert (booking["checkAccount"]["id"], booking["type"]) == (standard.pk, "FULL_PAYMENT")


def test_payments_above_the_invoice_total_need_action_and_nothing_more_is_booked(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "119.00", PAYPAL, FIRST_DAY, billbee_id=9001)
    run_export(connection)
    pay(order, "10.00", PAYPAL, LATER_DAY, billbee_id=9002)  # paid twice in Billbee

    run_export(connection)

    export = export_of(order)
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert export.problem == OrderExport.Problem.OVERPAID
    assert len(bookings_sent(sandbox_http)) == 1


def test_a_booked_payment_that_goes_down_in_billbee_needs_action(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "50.00", PAYPAL, FIRST_DAY, billbee_id=9001)
    run_export(connection)
    Payment.objects.filter(order=order).update(amount=D("40.00"))
    order.paid_amount = D("40.00")
    order.save()

    run_export(connection)

    export = export_of(order)
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert export.problem == OrderExport.Problem.PAYMENT_CHANGED
    assert len(bookings_sent(sandbox_http)) == 1


def test_a_payment_booked_by_hand_in_sevdesk_stops_us_before_we_book_more(
    connection, merchant, shop, sevdesk_account, offline_account, sandbox_http
):
    order = invoiced_order(merchant, shop, 1, paid_amount=D(0))
    pay(order, "50.00", PAYPAL, FIRST_DAY, billbee_id=9001)
    run_export(connection)
    voucher = Voucher.objects.get(account=sevdesk_account)
    Voucher.objects.filter(pk=voucher.pk).update(paid_amount=D("119.00"), status=1000)

    pay(order, "69.00", PAYPAL, LATER_DAY, billbee_id=9002)
    run_export(connection)

    export = export_of(order)
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert export.problem == OrderExport.Problem.PAYMENT_UNCLEAR
    assert len(bookings_sent(sandbox_http)) == 1


def test_an_order_paid_without_listed_payments_is_booked_as_one_payment(
    connection, merchant, shop, sevdesk_account, offline_account, sandbox_http
):
    # Billbee marks it paid (PayedAt, PaidAmount) but lists no Payments[]
    order = invoiced_order(merchant, shop, 1)

    run_export(connection)

    [booking] = bookings_sent(sandbox_http)
    assert (booking["amount"], booking["type"]) == (119.00, "FULL_PAYMENT")
    assert list(export_of(order).payment_bookings.values_list("key", flat=True)) == ["order"]

    # a later sync lists the payment behind it: the same money, nothing booked again
    pay(order, "119.00", PAYPAL, FIRST_DAY, billbee_id=9001)
    order.paid_amount = D("119.0000001")  # Billbee's paid amount changes in the last digit
    order.save()
    run_export(connection)

    assert len(bookings_sent(sandbox_http)) == 1
    export = export_of(order)
    assert export.status == OrderExport.Status.PAID
    assert list(export.payment_bookings.values_list("key", flat=True)) == ["billbee:9001"]


def test_a_payment_booked_by_an_earlier_release_is_never_booked_again(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = invoiced_order(merchant, shop, 1)
    run_export(connection)
    export = export_of(order)
    # as the earlier release left it: one lump booked, no per-payment rows
    export.payment_bookings.all().delete()
    OrderExport.objects.filter(pk=export.pk).update(payments_seen_total=D(0))
    pay(order, "119.00", PAYPAL, FIRST_DAY, billbee_id=9001)

    run_export(connection)

    assert len(bookings_sent(sandbox_http)) == 1
    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    assert list(export.payment_bookings.values_list("key", "status")) == [
        ("billbee:9001", PaymentBooking.Status.BOOKED)
    ]


def test_a_usd_order_books_its_payments_in_dollars(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = invoiced_order(merchant, shop, 1, currency="USD", paid_amount=D(0))
    pay(order, "119.00", PAYPAL, FIRST_DAY, billbee_id=9001)

    run_export(connection)

    [save] = [json.loads(r.body) for r in sandbox_http.sent if "saveVoucher" in r.url and r.body]
    assert save["voucher"]["currency"] == "USD"
    [booking] = bookings_sent(sandbox_http)
    assert (booking["amount"], booking["type"]) == (119.00, "FULL_PAYMENT")
    assert "119,00 USD" in export_of(order).message
