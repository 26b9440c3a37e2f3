"""Factories for the order mirror, Billbee's documents as the client returns them, and a
fake Billbee client that serves them page by page (with Billbee's modifiedAtMin filter)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from orders.billbee_client import (
    BillbeeAddress,
    BillbeeCustomer,
    BillbeeOrder,
    BillbeeOrderItem,
    BillbeePayment,
    BillbeeShop,
    InvoicePdf,
    InvoicesPage,
    OrdersPage,
    RejectedOrder,
)
from orders.models import BillbeeAccount, InvoiceDocument, Order, Shop, SyncRun
from tests.factories import MerchantAccountFactory

# --- Rows -----------------------------------------------------------------------------------


class BillbeeAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillbeeAccount

    merchant = factory.SubFactory(MerchantAccountFactory)
    api_key = factory.Sequence(lambda n: f"apikey-{n:04d}-5c1d2e7a9b3f")
    username = factory.Sequence(lambda n: f"billbee-user-{n}")
    api_password = factory.Sequence(lambda n: f"api-password-{n:04d}-x9q2")


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    merchant = factory.SubFactory(MerchantAccountFactory)
    billbee_id = factory.Sequence(lambda n: 1000 + n)
    name = factory.Sequence(lambda n: f"Webshop {n}")
    platform = "Shopify"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    merchant = factory.SubFactory(MerchantAccountFactory)
    billbee_id = factory.Sequence(lambda n: 500_000 + n)
    order_number = factory.Sequence(lambda n: f"ON-{n:06d}")
    state = 3
    order_date = factory.Sequence(lambda n: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n))
    currency = "EUR"
    total_gross = Decimal("119.00")
    customer_name = factory.Sequence(lambda n: f"Kundin {n}")
    customer_email = factory.Sequence(lambda n: f"kundin{n}@example.com")
    synced_at = factory.LazyFunction(timezone.now)


class InvoiceDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceDocument

    order = factory.SubFactory(OrderFactory, invoice_number="RE-1")
    merchant = factory.SelfAttribute("order.merchant")
    invoice_number = factory.SelfAttribute("order.invoice_number")
    file = factory.django.FileField(filename="invoice.pdf", data=b"%PDF-1.4 stored")
    sha256 = "0" * 64
    fetched_at = factory.LazyFunction(timezone.now)


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncRun

    account = factory.SubFactory(BillbeeAccountFactory)
    merchant = factory.SelfAttribute("account.merchant")
    started_at = factory.LazyFunction(timezone.now)
    heartbeat_at = factory.SelfAttribute("started_at")
    window_to = factory.SelfAttribute("started_at")


# --- Billbee documents ----------------------------------------------------------------------

_ids = itertools.count(90_000_001)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def billbee_order(**overrides) -> BillbeeOrder:
    """A paid, invoiced order of one item at 19 % VAT, as the client would parse it."""
    billbee_id = overrides.pop("billbee_id", None) or next(_ids)
    values = dict(
        billbee_id=billbee_id,
        order_number=f"WEB-{billbee_id}",
        marketplace_id=f"MP-{billbee_id}",
        state=3,
        vat_mode=0,
        currency="EUR",
        created_at=T0,
        paid_at=T0 + timedelta(hours=1),
        shipped_at=None,
        invoice_date=T0 + timedelta(hours=2),
        invoice_number=f"RE-{billbee_id}",
        last_modified_at=T0 + timedelta(hours=2),
        total_cost=Decimal("123.9500000000000000000000001"),
        shipping_cost=Decimal("4.95"),
        adjustment_cost=Decimal("0"),
        paid_amount=Decimal("123.95"),
        tax_rate1=Decimal("19"),
        tax_rate2=Decimal("7"),
        payment_method=3,
        shop_id=77,
        shop_name="Hauptshop",
        platform="Shopify",
        customer=BillbeeCustomer(
            id=4711, name="Erika Mustermann", email="erika@example.com", number="K-1", vat_id=""
        ),
        invoice_address=BillbeeAddress(
            company="",
            first_name="Erika",
            last_name="Mustermann",
            street="Hauptstr.",
            house_number="1",
            zip_code="10115",
            city="Berlin",
            country_iso2="DE",
            email="erika@example.com",
            phone="",
        ),
        customer_vat_id="",
        tags=("Neu",),
        items=(
            BillbeeOrderItem(
                billbee_id=billbee_id * 10,
                title="Teekanne",
                sku="TK-1",
                quantity=Decimal("1"),
                total_price=Decimal("119.00"),
                tax_amount=Decimal("19.00"),
                tax_index=1,
                discount_percent=Decimal("0"),
                is_coupon=False,
                is_digital=False,
            ),
        ),
        payments=(
            BillbeePayment(
                billbee_id=billbee_id * 10 + 1,
                transaction_id=f"PP-{billbee_id}",
                pay_date=T0 + timedelta(hours=1),
                payment_type=3,
                amount=Decimal("123.95"),
                purpose="",
                name="PayPal",
            ),
        ),
        raw={"BillBeeOrderId": billbee_id, "TotalCost": Decimal("123.9500000000000000000000001")},
    )
    values.update(overrides)
    return BillbeeOrder(**values)


def changed(order: BillbeeOrder, *, at: datetime, **changes) -> BillbeeOrder:
    """The same order after a change in Billbee at ``at``."""
    return replace(order, last_modified_at=at, **changes)


# --- A fake Billbee -------------------------------------------------------------------------


@dataclass
class FakeBillbee:
    """Serves orders like ``GET /orders``: filtered by ``modifiedAtMin`` / ``minOrderDate``,
    ordered by Billbee id, paged. Hooks let a test change data or fail between pages."""

    orders: dict[int, BillbeeOrder] = field(default_factory=dict)
    rejected: list[RejectedOrder] = field(default_factory=list)
    shops: list[BillbeeShop] = field(
        default_factory=lambda: [BillbeeShop(77, "Hauptshop", "Shopify")]
    )
    page_size_cap: int = 250
    calls: list[dict] = field(default_factory=list)
    before_page: dict = field(default_factory=dict)  # page -> callable(fake) run before serving
    pdfs: dict[int, bytes] = field(default_factory=dict)
    documents: list = field(default_factory=list)  # BillbeeInvoiceEntry, as the invoice list
    documents_page_size: int = 250

    def put(self, *orders: BillbeeOrder) -> None:
        for order in orders:
            self.orders[order.billbee_id] = order

    def get_shops(self) -> list[BillbeeShop]:
        self.calls.append({"op": "get_shops"})
        return list(self.shops)

    def get_orders_page(
        self,
        *,
        page,
        page_size=250,
        modified_at_min=None,
        modified_at_max=None,
        min_order_date=None,
        shop_ids=(),
        order_state_ids=(),
    ) -> OrdersPage:
        self.calls.append(
            {
                "op": "get_orders_page",
                "page": page,
                "modified_at_min": modified_at_min,
                "min_order_date": min_order_date,
                "page_size": page_size,
            }
        )
        hook = self.before_page.pop(page, None)
        if hook:
            hook(self)
        size = min(page_size, self.page_size_cap)
        rows = [
            ("ok", o)
            for o in sorted(self.orders.values(), key=lambda o: o.billbee_id)
            if _matches(o, modified_at_min, min_order_date)
        ]
        rows += [("rejected", r) for r in self.rejected]
        chunk = rows[(page - 1) * size : page * size]
        return OrdersPage(
            orders=[o for kind, o in chunk if kind == "ok"],
            rejected=[r for kind, r in chunk if kind == "rejected"],
            page=page,
            total_pages=max(1, -(-len(rows) // size)),
            total_rows=len(rows),
            page_size=size,
        )

    def get_invoice_pdf(self, billbee_id: int) -> InvoicePdf:
        self.calls.append({"op": "get_invoice_pdf", "billbee_id": billbee_id})
        order = self.orders[billbee_id]
        return InvoicePdf(
            order.invoice_number,
            order.invoice_date,
            order.total_cost,
            self.pdfs.get(billbee_id, b"%PDF-1.4 " + str(billbee_id).encode()),
        )

    def get_invoices_page(self, *, page, min_invoice_date, page_size=250) -> InvoicesPage:
        self.calls.append(
            {"op": "get_invoices_page", "page": page, "min_invoice_date": min_invoice_date}
        )
        size = min(page_size, self.documents_page_size)
        rows = [
            d
            for d in self.documents
            if d.invoice_date is None or d.invoice_date >= min_invoice_date
        ]
        return InvoicesPage(
            entries=rows[(page - 1) * size : page * size],
            rejected=[],
            page=page,
            total_pages=max(1, -(-len(rows) // size)),
        )

    def page_calls(self) -> list[dict]:
        return [call for call in self.calls if call["op"] == "get_orders_page"]


def _matches(order: BillbeeOrder, modified_at_min, min_order_date) -> bool:
    if modified_at_min and (
        order.last_modified_at is None or order.last_modified_at < modified_at_min
    ):
        return False
    return not (min_order_date and order.created_at and order.created_at < min_order_date)
