"""Booking payments onto sevDesk vouchers, only ever on offline (clearing) accounts.

A merchant's real bank accounts and PayPal connections ("online") are reconciled by sevDesk
from the bank's own transactions, and cash registers ("register") hold real cash: booking our
payments there would double or falsify them. So, like the reference product, we book only on
active offline accounts, which the merchant reconciles later.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext

from connections.sevdesk_client import CheckAccount, SevdeskClient


class PaymentAccountNotAllowed(Exception):
    """The chosen check account must not receive payments from us; a person must pick one."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def payment_book(
    *,
    client: SevdeskClient,
    voucher_id: int,
    amount: Decimal,
    pay_date: datetime.date,
    check_account_id: int,
    check_accounts: list[CheckAccount] | None = None,
    payment_type: str = "FULL_PAYMENT",
) -> None:
    """Book `amount` onto the voucher, after checking the account is an active offline one.

    `check_accounts` saves the lookup when the caller has a fresh list; without it the
    accounts are read from sevDesk, so the check never relies on a stale copy by accident.
    """
    accounts = client.list_check_accounts() if check_accounts is None else check_accounts
    payment_account_check(check_account_id=check_account_id, check_accounts=accounts)
    client.book_amount(
        voucher_id=voucher_id,
        amount=amount,
        date=pay_date,
        check_account_id=check_account_id,
        payment_type=payment_type,
    )


def payment_account_check(*, check_account_id: int, check_accounts: list[CheckAccount]) -> None:
    """Raise PaymentAccountNotAllowed unless the account exists, is offline and active."""
    account = next((a for a in check_accounts if a.id == check_account_id), None)
    if account is None:
        raise PaymentAccountNotAllowed(
            gettext(
                "The payment account (id %(id)s) no longer exists in sevDesk. "
                "Please choose another offline account in the account assignment."
            )
            % {"id": check_account_id}
        )
    if not account.is_offline:
        raise PaymentAccountNotAllowed(
            gettext(
                "The payment account “%(name)s” is not an offline account. Payments may only "
                "be booked on offline accounts, never on bank accounts or cash registers."
            )
            % {"name": account.name}
        )
    if not account.is_active:
        raise PaymentAccountNotAllowed(
            gettext(
                "The payment account “%(name)s” is archived in sevDesk. "
                "Please choose an active offline account in the account assignment."
            )
            % {"name": account.name}
        )


# --- What Billbee records as paid ----------------------------------------------------------


@dataclass(frozen=True)
class PaymentFact:
    """One payment as Billbee records it, in cents of the order's currency, on a Berlin day."""

    key: str
    billbee_id: int | None
    payment_type: int | None
    pay_date: datetime.date
    amount: Decimal


def payment_facts(order) -> list[PaymentFact]:
    """The order's payments in the order they were made: Billbee's `Payments[]` where it lists
    them, else one payment of the paid amount on the order's payment method and date (orders
    Billbee marks paid without listing a payment). Amounts of 0 are no payment."""
    from exports.mapping import berlin_date  # local: mapping imports the builder

    fallback_day = berlin_date(order.paid_at) or berlin_date(order.invoice_date)
    listed = [
        PaymentFact(
            key=_payment_key(payment),
            billbee_id=payment.billbee_id,
            payment_type=payment.payment_type,
            pay_date=berlin_date(payment.pay_date) or fallback_day,
            amount=_cents(payment.amount),
        )
        for payment in order.payments.all()
        if _cents(payment.amount)
    ]
    if listed:
        return sorted(listed, key=lambda fact: (fact.pay_date, fact.key))
    paid = _cents(order.paid_amount or Decimal(0))
    if not paid or fallback_day is None:
        return []
    return [PaymentFact("order", None, order.payment_method, fallback_day, paid)]


def _payment_key(payment) -> str:
    if payment.billbee_id is not None:
        return f"billbee:{payment.billbee_id}"
    # no Billbee id: what identifies the payment in Billbee's own words
    text = f"{payment.transaction_id}|{payment.pay_date}|{payment.payment_type}|{payment.amount}"
    return "payment:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


CENT = Decimal("0.01")
