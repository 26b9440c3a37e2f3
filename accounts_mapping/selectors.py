from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count

from accounts_mapping.models import AccountAssignment, RevenueAccountAssignment
from connections.models import Connection
from orders.enums import PAYMENT_TYPES, payment_type_name
from orders.models import Order


def payment_methods_for(*, connection: Connection) -> tuple[list[tuple[int, str]], list]:
    """(payment methods seen in the merchant's orders or assigned, most used first; the rest)."""
    seen = (
        Order.objects.for_merchant(connection.merchant)
        .exclude(payment_method=None)
        .values("payment_method")
        .annotate(orders=Count("pk"))
        .order_by("-orders", "payment_method")
    )
    first = [row["payment_method"] for row in seen]
    assigned = AccountAssignment.objects.filter(connection=connection).exclude(payment_method=None)
    first += [pm for pm in assigned.values_list("payment_method", flat=True) if pm not in first]
    rest = [pm for pm in sorted(PAYMENT_TYPES) if pm not in first]
    return (
        [(pm, payment_type_name(pm)) for pm in first],
        [(pm, payment_type_name(pm)) for pm in rest],
    )


def assignments_by_method(*, connection: Connection) -> dict[int | None, AccountAssignment]:
    return {a.payment_method: a for a in AccountAssignment.objects.filter(connection=connection)}


# --- Revenue accounts ----------------------------------------------------------------------

# (tax rule, tax rate): one tax case of the revenue accounts.
TaxCase = tuple[int, Decimal]
# sevDesk's rule for taxable sales; the coupon account is one it allows at 0 %.
TAXABLE_SALES_RULE = 1
COUPON_CASE: TaxCase = (TAXABLE_SALES_RULE, Decimal(0))
# The selector's key of the coupon account; exports.voucher_builder.COUPON_ACCOUNT_KEY.
COUPON_ACCOUNT_KEY = ("coupon", Decimal(0))


@dataclass(frozen=True)
class GuidanceAccount:
    """A revenue account as the stored guidance lists it."""

    id: int  # AccountDatev id
    number: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.number} {self.name}".strip()


def guidance_choices(guidance: list[dict]) -> dict[TaxCase, list[GuidanceAccount]]:
    """(tax rule, rate) → the accounts the guidance allows for it, in the guidance's order.

    `guidance` is `Connection.revenue_guidance`: a list of
    ``{"id", "number", "name", "rates_by_rule": [[rule, ["19", …]], …]}``.
    """
    choices: dict[TaxCase, list[GuidanceAccount]] = {}
    for item in guidance:
        account = GuidanceAccount(id=int(item["id"]), number=item["number"], name=item["name"])
        for rule, rates in item["rates_by_rule"]:
            for rate in rates:
                choices.setdefault((int(rule), Decimal(rate)), []).append(account)
    return choices


def revenue_choices_for(*, connection: Connection) -> dict[TaxCase, list[GuidanceAccount]]:
    """The tax cases of the connection's stored guidance (by rule, highest rate first), each
    with the accounts sevDesk allows for it. The coupon account is one of `COUPON_CASE`'s."""
    choices = guidance_choices(connection.revenue_guidance or [])
    return {case: choices[case] for case in sorted(choices, key=lambda c: (c[0], -c[1]))}


def revenue_rows_for(
    *, connection: Connection
) -> dict[tuple[str, int, Decimal], RevenueAccountAssignment]:
    """(kind, tax rule, rate) → the connection's row (coupon: ("coupon", 0, 0))."""
    rows = RevenueAccountAssignment.objects.filter(connection=connection)
    return {(row.kind, row.tax_rule, row.tax_rate): row for row in rows}


def revenue_accounts_stored(*, connection: Connection) -> bool:
    """Whether the connection's revenue accounts were ever read from sevDesk."""
    return RevenueAccountAssignment.objects.filter(
        connection=connection, kind=RevenueAccountAssignment.Kind.GOODS
    ).exists()


def revenue_accounts_for(*, connection: Connection) -> dict[tuple, int]:
    """The revenue accounts the exports book to, as AccountDatev ids:

    * ``(rule, rate)`` → the goods account of that tax case (one per case sevDesk offers);
    * ``("shipping", rule, rate)`` → shipping's own account, only where the merchant chose
      one (else shipping goes with the goods);
    * ``("coupon", Decimal(0))`` → the account for redeemed multi-purpose vouchers, only
      where the merchant chose one.

    Rules are ints, rates Decimals with two places (``Decimal("19.00") == Decimal(19)``, and
    both hash alike, so either finds the entry).
    """
    accounts: dict[tuple, int] = {}
    for row in RevenueAccountAssignment.objects.filter(connection=connection):
        if row.kind == RevenueAccountAssignment.Kind.GOODS:
            accounts[(row.tax_rule, row.tax_rate)] = row.account_datev_id
        elif row.kind == RevenueAccountAssignment.Kind.SHIPPING:
            accounts[("shipping", row.tax_rule, row.tax_rate)] = row.account_datev_id
        else:
            accounts[COUPON_ACCOUNT_KEY] = row.account_datev_id
    return accounts


# sevDesk's names of its revenue tax rules (bookkeeping 2.0; its spec's voucher table and
# revenue guidance), as the merchant sees them in sevDesk.
TAX_RULE_NAMES = {
    1: "Umsatzsteuerpflichtige Umsätze",
    2: "Ausfuhren",
    3: "Innergemeinschaftliche Lieferungen",
    4: "Steuerfreie Umsätze §4 UStG",
    5: "Reverse Charge gem. §13b UStG",
    11: "Steuer nicht erhoben nach §19 UStG",
    17: "Nicht im Inland steuerbare Leistung",
}


def field_name(kind: str, case: TaxCase) -> str:
    """The form field of one revenue account on the tab: "revenue:goods:1:19.00"."""
    if kind == RevenueAccountAssignment.Kind.COUPON:
        return "revenue:coupon"
    rule, rate = case
    return f"revenue:{kind}:{rule}:{rate:.2f}"


def revenue_tab_rows(*, connection: Connection) -> dict:
    """What the "Revenue accounts" section of the tab shows: per tax case the accounts sevDesk
    allows, the chosen goods and shipping accounts, and a merchant's choice sevDesk replaced."""
    Kind = RevenueAccountAssignment.Kind
    choices = revenue_choices_for(connection=connection)
    rows = revenue_rows_for(connection=connection)
    cases = []
    for case, offered in choices.items():
        rule, rate = case
        goods = rows.get((Kind.GOODS, rule, rate))
        shipping = rows.get((Kind.SHIPPING, rule, rate))
        cases.append(
            {
                "rule": rule,
                "rule_name": TAX_RULE_NAMES.get(rule, ""),
                "rate": rate,
                "offered": offered,
                "goods_field": field_name(Kind.GOODS, case),
                "goods": goods.account_datev_id if goods else None,
                "chosen_by_sevdesk": bool(goods)
                and goods.chosen_by == RevenueAccountAssignment.ChosenBy.SEVDESK,
                "replaced_choice": goods.replaced_choice if goods else "",
                "shipping_field": field_name(Kind.SHIPPING, case),
                "shipping": shipping.account_datev_id if shipping else None,
            }
        )
    coupon = rows.get((Kind.COUPON, 0, Decimal(0)))
    return {
        "cases": cases,
        "coupon_field": field_name(Kind.COUPON, COUPON_CASE),
        "coupon_offered": choices.get(COUPON_CASE, []),
        "coupon": coupon.account_datev_id if coupon else None,
    }
