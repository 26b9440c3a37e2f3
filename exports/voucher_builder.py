"""Turn an invoiced order into sevDesk's saveVoucher payload (a pure function, no ORM).

The payload keeps money and tax rates as `Decimal`; `connections.sevdesk_client.encode_json`
writes them into the JSON exactly, so no amount ever passes through a binary float.

Amounts are summed per tax rate with full precision and rounded once, at the end, to cents
(ROUND_HALF_UP); the cents lost or gained by rounding the positions separately go to the
positions with the largest rounding remainders, so the positions always add up exactly to
the invoice total rounded to cents.

Rules (one place for them):

- OSS distance sales are refused. An order under normal VAT (VatMode 0) that Billbee tags
  "Fernverkauf", or whose lines carry a rate that is not German (0, 7 or 19 %), is a distance
  sale taxed in the buyer's country (AT 20 %, FR 5.5 %, NL 9 %). sevDesk's spec marks the
  One-Stop-Shop tax rules (18, 19, 20) as not usable on vouchers, and booking such a rate
  under rule 1 would declare foreign VAT as German VAT. `OssDistanceSale` (a
  `VoucherNotBuildable`) says so, and the export shows "needs action". Example: 120.00 gross
  at 20 % for an Austrian customer → OssDistanceSale.
- Small business (§19 UStG, VatMode 1), intra-EU supplies (2) and exports (3): one position at
  0 % under the mode's rule, whatever rates or VAT amounts Billbee sent on the lines.
  Example (§19): 45.00 "at 19 %" + 4.90 shipping → one position 49.90 at 0 %, rule 11.
- Coupons (Billbee's `IsCoupon`) are multi-purpose vouchers ("Mehrzweckgutscheine", §3 (15)
  UStG): redeeming one is a payment, not a price reduction at a VAT rate. Each coupon becomes
  its own position at taxRate 0 on the account configured under `COUPON_ACCOUNT_KEY`, else
  on the tax rule's 0 % account, else the order is not buildable. Shipping and adjustments
  without a known rate are split over the rates weighted by the goods without coupons.
  Example: 119.00 at 19 %, 53.50 at 7 %, coupon -20.00, shipping 5.90; total 158.40.
  Goods 172.50; 19 %: 119.00 + 5.90 * 119.00 / 172.50 = 123.0701 → 123.07;
  7 %: 53.50 + 5.90 * 53.50 / 172.50 = 55.3299 → 55.33; coupon -20.00 at 0 %.
  123.07 + 55.33 - 20.00 = 158.40.
- The invoice is the reference. Where Billbee states the invoice's figures (`GET
  /orders/invoices`: positions and `AdditionalFees` with rate, gross and VAT), the lines come
  from there, shipping and fees at their own rates; else from the order's lines (items with
  Billbee's VAT per line; shipping without a rate is split as above). All positions are gross
  (`net: false`; sevDesk's spec allows no mixture), and sevDesk computes each position's VAT
  from its gross (`sumTax` is read-only): gross - round(gross * 100 / (100 + rate)). Where one
  position per rate would give a VAT other than the sum of the invoice's per-line VAT, each
  line of that rate becomes its own position, as the invoice rounds per line; if even that
  does not reach the invoice's VAT, the order is not buildable (never booked with other
  figures). Example: 3 x 0.99 at 19 %, VAT per line 0.16, invoice VAT 0.48. One position of
  2.97 → sevDesk 2.97 - 2.50 = 0.47; three positions of 0.99 → 3 x (0.99 - 0.83) = 0.48.
- Accounts: goods per (tax rule, rate); shipping on `("shipping", rule, rate)` when the
  merchant chose an account for it (its own position "Versand 19 %"), else with the goods;
  coupons on `COUPON_ACCOUNT_KEY`. The merchant picks them on the account assignment tab
  ("Revenue accounts"), pre-filled from sevDesk's ReceiptGuidance.
- Credit notes (Billbee's "creditnote" documents, numbered e.g. "<order>-GS") are revenue
  vouchers of their own (`creditDebit` "D", as the invoice) with the credit note's negative
  positions on the same revenue accounts, rate by rate: sevDesk's spec allows no CreditNote
  for a voucher on Update 2.0 ("Creating a credit note for a voucher is no longer possible",
  `createFromVoucher` removed), and an expense voucher (C) would need expense accounts and
  rules, not a reduction of revenue. The description is the credit note's number; each
  position names the original invoice. Example: one returned item of 59.50 at 19 % and 4.90
  shipping at 19 % of invoice RE-1001 → one position -64.40 at 19 % on the 19 % revenue account,
  "Gutschrift zu RE-1001, ohne PDF (Billbee bietet keins): Umsatz 19 %" (Billbee's API has no
  route to a credit note's PDF, so the voucher has none).
- Foreign currency: the voucher is in the order's currency, with
  `propertyForeignCurrencyDeadline` = the voucher date, so sevDesk applies its exchange rate of
  that day (the spec prefers it over `propertyExchangeRate`). Example: 65.45 USD → positions
  in USD, `currency` "USD".
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from django.utils.translation import gettext

from connections.sevdesk_client import berlin_midnight

CENT = Decimal("0.01")
ZERO = Decimal(0)
LINE_KINDS = frozenset({"item", "coupon", "shipping", "adjustment"})
# Billbee's VatMode → sevDesk tax rule (bookkeeping 2.0, the only one sevDesk still runs);
# None marks small business (§19 UStG), whose rule number the connection knows (sevDesk
# documents both 1 and 11).
_TAX_BY_VAT_MODE: dict[int, int | None] = {
    0: 1,  # normal VAT: Umsatzsteuerpflichtige Umsätze
    1: None,  # small business, no VAT
    2: 3,  # intra-EU supply to a business with VAT id, tax free
    3: 2,  # export to a third country, tax free
}
VAT_MODE_MARGIN_SCHEME = 4


# `VoucherSettings.revenue_accounts` key of the account for redeemed multi-purpose vouchers.
COUPON_ACCOUNT_KEY = ("coupon", Decimal(0))
GERMAN_RATES = frozenset({Decimal(0), Decimal(7), Decimal(19)})


class VoucherNotBuildable(Exception):
    """The order cannot become a correct voucher until a person fixes something."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OssDistanceSale(VoucherNotBuildable):
    """A distance sale taxed in another EU country: sevDesk takes no OSS rule on vouchers."""


class RevenueAccountMissing(VoucherNotBuildable):
    """No revenue account for a tax case: the merchant chooses one on the account tab."""


@dataclass(frozen=True)
class VoucherLine:
    """One amount of the invoice, gross, at its tax rate.

    `kind` is "item", "coupon" (negative gross), "shipping" or "adjustment". Shipping and
    adjustments whose rate is known come as lines; `VoucherOrder.shipping_gross` and
    `adjustment_gross` are amounts without a known rate, which are split across the rates.
    """

    gross: Decimal
    tax_rate: Decimal
    kind: str
    # The line's VAT as Billbee's invoice states it (rounded per line), where Billbee gives it.
    vat: Decimal | None = None


@dataclass(frozen=True)
class VoucherOrder:
    invoice_number: str
    order_date: datetime.date | None
    invoice_date: datetime.date | None
    payment_date: datetime.date | None
    delivery_date: datetime.date | None
    currency: str
    vat_mode: int
    total_gross: Decimal
    shipping_gross: Decimal
    adjustment_gross: Decimal
    lines: tuple[VoucherLine, ...]
    customer_name: str
    customer_vat_id: str | None
    # Billbee marks the order a distance sale (its "Fernverkauf" tag, once OSS is on there)
    distance_sale: bool = False
    # Put before each position's booking text (a credit note names its original invoice).
    position_note: str = ""


@dataclass(frozen=True)
class VoucherSettings:
    bookkeeping_version: str  # "2.0": sevDesk retired 1.0 by the end of 2024
    voucher_date_basis: str  # "invoice", "payment" or "order"
    # (tax rule id, tax rate) → AccountDatev id
    # (tax rule id, tax rate) → AccountDatev id; COUPON_ACCOUNT_KEY for coupons
    revenue_accounts: Mapping[tuple[int | str, Decimal], int]
    small_business_tax_rule: int = 11


def build_voucher(
    order: VoucherOrder,
    settings: VoucherSettings,
    *,
    uploaded_filename: str | None,
    contact_id: int | None,
) -> dict[str, Any]:
    """The full POST /Voucher/Factory/saveVoucher body for this order."""
    if settings.bookkeeping_version != "2.0":
        raise ValueError(f"unsupported bookkeeping system {settings.bookkeeping_version!r}")
    voucher_date = _voucher_date(order, settings.voucher_date_basis)
    tax_key = _tax_key(order, settings)
    _refuse_distance_sales(order)
    positions = _positions(order, settings, tax_key)
    if not positions or not _cents(order.total_gross):
        raise VoucherNotBuildable(
            gettext("The invoice total is zero, so there is nothing to book in sevDesk.")
        )
    if order.position_note:
        for position in positions:
            position["comment"] = f"{order.position_note}: {position['comment']}"
    payload: dict[str, Any] = {
        "voucher": _voucher(order, settings, tax_key, voucher_date, contact_id),
        "voucherPosSave": positions,
        "voucherPosDelete": None,
    }
    if uploaded_filename:
        payload["filename"] = uploaded_filename
    return payload


# --- Voucher head --------------------------------------------------------------------------


def _voucher(
    order: VoucherOrder,
    settings: VoucherSettings,
    tax_key: int,
    voucher_date: datetime.date,
    contact_id: int | None,
) -> dict[str, Any]:
    voucher: dict[str, Any] = {
        "objectName": "Voucher",
        "mapAll": True,
        "voucherDate": berlin_midnight(voucher_date),
        "description": order.invoice_number,
        "status": 100,  # open; payments are booked afterwards with bookAmount
        "creditDebit": "D",  # revenue
        "voucherType": "VOU",
    }
    if contact_id is not None:
        voucher["supplier"] = {"id": contact_id, "objectName": "Contact"}
    else:
        voucher["supplierName"] = order.customer_name
    voucher["taxRule"] = {"id": str(tax_key), "objectName": "TaxRule"}
    currency = order.currency.upper()
    voucher["currency"] = currency
    if currency != "EUR":
        # sevDesk looks up the exchange rate of this day.
        voucher["propertyForeignCurrencyDeadline"] = berlin_midnight(voucher_date)
    if order.delivery_date:
        voucher["deliveryDate"] = berlin_midnight(order.delivery_date)
    return voucher


def _voucher_date(order: VoucherOrder, basis: str) -> datetime.date:
    dates = {
        "invoice": (
            order.invoice_date,
            gettext("This order has no invoice date. Could not upload to sevDesk."),
        ),
        "payment": (
            order.payment_date,
            gettext("This order has no payment date. Could not upload to sevDesk."),
        ),
        "order": (
            order.order_date,
            gettext("This order has no order date. Could not upload to sevDesk."),
        ),
    }
    if basis not in dates:
        raise ValueError(f"unknown voucher date basis {basis!r}")
    day, missing = dates[basis]
    if day is None:
        raise VoucherNotBuildable(missing)
    return day


def _tax_key(order: VoucherOrder, settings: VoucherSettings) -> int:
    """The tax rule id for the order's VAT mode."""
    if order.vat_mode == VAT_MODE_MARGIN_SCHEME:
        raise VoucherNotBuildable(
            gettext(
                "Orders taxed under the margin scheme (§25a UStG) cannot be exported to "
                "sevDesk. Please book this invoice manually."
            )
        )
    if order.vat_mode not in _TAX_BY_VAT_MODE:
        raise VoucherNotBuildable(
            gettext("This order has an unknown VAT mode (%(mode)s).") % {"mode": order.vat_mode}
        )
    if order.vat_mode == 2 and not (order.customer_vat_id or "").strip():
        # A tax-free intra-EU supply needs the buyer's VAT id (§6a UStG).
        raise VoucherNotBuildable(
            gettext(
                "This order is a tax-free intra-EU supply, but the customer has no VAT ID. "
                "Add the VAT ID in Billbee or correct the VAT mode."
            )
        )
    rule = _TAX_BY_VAT_MODE[order.vat_mode]
    return settings.small_business_tax_rule if rule is None else rule


def _refuse_distance_sales(order: VoucherOrder) -> None:
    """A foreign rate under normal VAT is an OSS distance sale (see the module docstring)."""
    if order.vat_mode != 0:
        return
    if order.distance_sale or any(line.tax_rate not in GERMAN_RATES for line in order.lines):
        raise OssDistanceSale(
            gettext(
                "OSS distance sale – sevDesk does not allow OSS tax rules on vouchers. Book "
                "this invoice in sevDesk by hand (as an invoice with the OSS rule) or ask "
                "your tax adviser."
            )
        )


# --- Positions ---------------------------------------------------------------------------

GOODS, SHIPPING = "goods", "shipping"


@dataclass(frozen=True)
class _Bucket:
    """One group of amounts that becomes one position: a rate and what it is (goods or
    shipping on its own account), or the n-th coupon."""

    rate: Decimal
    part: str  # GOODS, SHIPPING or "coupon"
    number: int = 0


def _positions(
    order: VoucherOrder, settings: VoucherSettings, tax_key: int
) -> list[dict[str, Any]]:
    """The voucher's positions: per rate (and account), coupons last, adding up to the total,
    with sevDesk's VAT per rate equal to the invoice's where Billbee states it."""
    tax_free = order.vat_mode != 0
    with localcontext() as context:
        context.prec = 60  # Billbee sends up to 28 significant digits; sums must not round
        exact, members = _exact_amounts(order, settings, tax_key, tax_free=tax_free)
        _check_total(order, sum(exact.values(), ZERO))
        rounded = _round_to_total(exact, _cents(order.total_gross))
    grosses: list[tuple[_Bucket, Decimal]] = []
    for rate in dict.fromkeys(bucket.rate for bucket in rounded if bucket.part != "coupon"):
        buckets = [b for b in rounded if b.rate == rate and b.part != "coupon"]
        grosses += _rate_positions(order, rate, buckets, rounded, members, tax_free=tax_free)
    grosses += [(bucket, gross) for bucket, gross in rounded.items() if bucket.part == "coupon"]
    return [
        _coupon_position(settings, tax_key, gross)
        if bucket.part == "coupon"
        else _position(settings, tax_key, bucket, gross)
        for bucket, gross in grosses
        if gross
    ]


def _exact_amounts(
    order: VoucherOrder, settings: VoucherSettings, tax_key: int, *, tax_free: bool
) -> tuple[dict[_Bucket, Decimal], dict[_Bucket, list[VoucherLine] | None]]:
    """Exact gross per bucket, and the lines in each (None where an unrated share was added,
    whose VAT Billbee does not state)."""
    for line in order.lines:
        if line.kind not in LINE_KINDS:
            raise ValueError(f"unknown line kind {line.kind!r}")
    if tax_free:  # everything is booked at 0 %, whatever rate the lines carry
        total = sum((line.gross for line in order.lines), ZERO)
        bucket = _Bucket(ZERO, GOODS)
        return {bucket: total + order.shipping_gross + order.adjustment_gross}, {bucket: None}

    def bucket_of(rate: Decimal, kind: str) -> _Bucket:
        own_account = ("shipping", tax_key, rate) in settings.revenue_accounts
        return _Bucket(rate, SHIPPING if kind == "shipping" and own_account else GOODS)

    amounts: dict[_Bucket, Decimal] = {}
    members: dict[_Bucket, list[VoucherLine] | None] = {}
    for line in order.lines:
        if line.kind == "coupon":
            continue
        bucket = bucket_of(line.tax_rate, line.kind)
        amounts[bucket] = amounts.get(bucket, ZERO) + line.gross
        known = members.setdefault(bucket, [])
        if known is not None:
            known.append(line)
    for kind, unrated in (
        ("shipping", order.shipping_gross),
        ("adjustment", order.adjustment_gross),
    ):
        if not unrated:
            continue
        for rate, share in _split_by_goods(order, unrated).items():
            bucket = bucket_of(rate, kind)
            amounts[bucket] = amounts.get(bucket, ZERO) + share
            members[bucket] = None  # a computed share: no VAT figure from Billbee
    order_of = {GOODS: 0, SHIPPING: 1}
    by_rate = dict(sorted(amounts.items(), key=lambda i: (-i[0].rate, order_of[i[0].part])))
    # each coupon its own tax-free position, so it never merges with 0 % goods
    coupons = (line for line in order.lines if line.kind == "coupon")
    for number, coupon in enumerate(coupons):
        by_rate[_Bucket(ZERO, "coupon", number)] = coupon.gross
    return by_rate, members


def _rate_positions(
    order: VoucherOrder,
    rate: Decimal,
    buckets: list[_Bucket],
    rounded: dict[_Bucket, Decimal],
    members: dict[_Bucket, list[VoucherLine] | None],
    *,
    tax_free: bool,
) -> list[tuple[_Bucket, Decimal]]:
    """One position per bucket, or one per line where only that gives the invoice's VAT."""
    simple = [(bucket, rounded[bucket]) for bucket in buckets]
    lines = [members.get(bucket) for bucket in buckets]
    if tax_free or any(group is None for group in lines):
        return simple  # no VAT stated by Billbee for (part of) this rate: nothing to match
    if any(line.vat is None for group in lines for line in group):
        return simple
    stated = _cents(sum((line.vat for group in lines for line in group), ZERO))
    computed = sum((sevdesk_vat(gross, rate) for _, gross in simple), ZERO)
    if computed == stated:
        return simple
    per_line = [
        (bucket, line.gross) for bucket, group in zip(buckets, lines, strict=True) for line in group
    ]
    splittable = all(gross == _cents(gross) for _, gross in per_line) and all(
        sum((line.gross for line in group), ZERO) == rounded[bucket]
        for bucket, group in zip(buckets, lines, strict=True)
    )
    if splittable:
        computed = sum((sevdesk_vat(gross, rate) for _, gross in per_line), ZERO)
        if computed == stated:
            return per_line
    currency = order.currency.upper()
    raise VoucherNotBuildable(
        gettext(
            "The invoice states %(stated)s %(currency)s VAT at %(rate)s %%, but sevDesk computes "
            "%(computed)s %(currency)s from the gross amounts of its lines. Please check the "
            "invoice in Billbee."
        )
        % {
            "stated": stated,
            "computed": computed,
            "currency": currency,
            "rate": _rate_text(rate),
        }
    )


def sevdesk_vat(gross: Decimal, rate: Decimal) -> Decimal:
    """The VAT sevDesk books for a gross position (its `sumTax` is read-only): the gross less
    the net rounded half-up to cents. Equal to rounding gross·rate/(100+rate) for 0/7/19 %."""
    return gross - _cents(gross * 100 / (100 + rate))


def _split_by_goods(order: VoucherOrder, amount: Decimal) -> dict[Decimal, Decimal]:
    """Split shipping/adjustments across the rates in proportion to the goods' gross.

    Goods are the items; coupons are payments (see the module docstring) and carry no rate.
    """
    goods: dict[Decimal, Decimal] = {}
    for line in order.lines:
        if line.kind == "item":
            goods[line.tax_rate] = goods.get(line.tax_rate, ZERO) + line.gross
    weights = {rate: gross for rate, gross in goods.items() if gross > 0}
    total = sum(weights.values(), ZERO)
    if not total:
        raise VoucherNotBuildable(
            gettext(
                "The shipping costs cannot be assigned to a tax rate because the order has "
                "no items with a positive amount."
            )
        )
    return {rate: amount * gross / total for rate, gross in weights.items()}


def _check_total(order: VoucherOrder, exact_sum: Decimal) -> None:
    """Refuse to book an amount other than the invoice's."""
    if abs(exact_sum - order.total_gross) > CENT:
        raise VoucherNotBuildable(
            gettext(
                "The order's positions add up to %(positions)s %(currency)s, but its total is "
                "%(total)s %(currency)s. Please check the order in Billbee."
            )
            % {
                "positions": _cents(exact_sum),
                "total": _cents(order.total_gross),
                "currency": order.currency.upper(),
            }
        )


def _round_to_total(exact: dict[Any, Decimal], target: Decimal) -> dict[Any, Decimal]:
    """Round each amount half-up to cents, then move the residual cents (largest remainder).

    A position that lost most by rounding gets a missing cent first; one that gained most
    gives up a surplus cent first. Ties go to the earlier (higher) rate.
    """
    rounded = {key: _cents(amount) for key, amount in exact.items()}
    residual = int((target - sum(rounded.values(), ZERO)) / CENT)
    step = CENT if residual > 0 else -CENT
    # remainder = exact - rounded; most positive first when adding, most negative first when
    # taking away.
    ranked = sorted(
        exact,
        key=lambda key: (exact[key] - rounded[key]) * (1 if residual > 0 else -1),
        reverse=True,
    )
    for index in range(abs(residual)):
        key = ranked[index % len(ranked)]
        rounded[key] += step
    return rounded


def _position(
    settings: VoucherSettings, tax_key: int, bucket: _Bucket, gross: Decimal
) -> dict[str, Any]:
    rate = bucket.rate
    key = ("shipping", tax_key, rate) if bucket.part == SHIPPING else (tax_key, rate)
    account = settings.revenue_accounts.get(key)
    if account is None:
        raise RevenueAccountMissing(
            gettext(
                "No revenue account is assigned to tax rule %(rule)s with %(rate)s %% VAT. "
                "Please choose one under “Revenue accounts” on the connection's account "
                "assignment tab."
            )
            % {"rule": tax_key, "rate": _rate_text(rate)}
        )
    text = "Versand" if bucket.part == SHIPPING else "Umsatz"
    return {
        "objectName": "VoucherPos",
        "mapAll": True,
        "accountDatev": {"id": account, "objectName": "AccountDatev"},
        "taxRate": rate.normalize(),
        "net": False,
        "sumGross": gross,
        # Booking text for the German ledger, the same whatever language the UI speaks.
        "comment": f"{text} {_rate_text(rate)} %",
    }


def _coupon_position(settings: VoucherSettings, tax_key: int, gross: Decimal) -> dict[str, Any]:
    """A redeemed multi-purpose voucher: tax free, on its own account (module docstring)."""
    account = settings.revenue_accounts.get(COUPON_ACCOUNT_KEY)
    if account is None:
        account = settings.revenue_accounts.get((tax_key, ZERO))
    if account is None:
        raise RevenueAccountMissing(
            gettext(
                "The order has a coupon, but no account is assigned to redeemed coupons "
                "(multi-purpose vouchers) and tax rule %(rule)s has no 0 %% account. Please "
                "choose one under “Revenue accounts” on the connection's account assignment "
                "tab."
            )
            % {"rule": tax_key}
        )
    return {
        "objectName": "VoucherPos",
        "mapAll": True,
        "accountDatev": {"id": account, "objectName": "AccountDatev"},
        "taxRate": ZERO,
        "net": False,
        "sumGross": gross,
        "comment": "Mehrzweckgutschein",
    }


# --- Small helpers -------------------------------------------------------------------------


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _rate_text(rate: Decimal) -> str:
    """19 → "19", 10.70 → "10,7" (German decimal comma)."""
    return format(rate.normalize(), "f").replace(".", ",")
