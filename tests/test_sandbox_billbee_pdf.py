"""The sandbox's invoice PDFs are real PDF files, not placeholders."""

import re
import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from sandbox.billbee.invoices import invoice_pdf
from sandbox.billbee.models import SandboxAccount
from sandbox.billbee.pdf import pdf_document
from sandbox.billbee.services import orders_generate


def xref_entries(pdf: bytes) -> tuple[int, list[int]]:
    """(offset of the xref table, offsets of objects 1..n) as the file's trailer states them."""
    start = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf).group(1))
    header = re.match(rb"xref\s+0 (\d+)\s+", pdf[start:])
    count = int(header.group(1))
    table = pdf[start + header.end() :].split(b"\n")[:count]
    assert table[0].endswith(b"65535 f ")
    return start, [int(entry[:10]) for entry in table[1:]]


def test_a_pdf_has_header_trailer_and_correct_xref_offsets():
    pdf = pdf_document([("Rechnung RE-1 (Kopie) \\ Grüße", 12)], title="RE-1")

    xref_at, offsets = xref_entries(pdf)

    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert pdf[xref_at:].startswith(b"xref")
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(f"{number} 0 obj".encode()), number


def test_the_stream_length_matches_the_stream():
    pdf = pdf_document([("Zeile", 10)] * 5)

    declared = int(re.search(rb"/Length (\d+) >>\nstream\n", pdf).group(1))
    body = re.search(rb"stream\n(.*?)\nendstream", pdf, re.S).group(1)

    assert declared == len(body)


@pytest.mark.django_db
def test_an_invoice_pdf_shows_the_invoice_number_shop_and_total():
    account = SandboxAccount.objects.create(name="P", username="p@example.com")
    orders_generate(account=account, count=10, seed=1, start=datetime(2024, 3, 1, tzinfo=UTC))
    order = next(o for o in account.orders.all() if o.data["InvoiceNumber"])

    pdf = invoice_pdf(order)

    number = f"RE-2024-{order.data['InvoiceNumber']}".encode()
    assert b"(Rechnung " + number + b") Tj" in pdf
    assert order.data["Seller"]["BillbeeShopName"].encode("cp1252") in pdf
    assert b"Summe brutto" in pdf
    _, offsets = xref_entries(pdf)
    assert all(
        pdf[offset:].startswith(f"{n} 0 obj".encode()) for n, offset in enumerate(offsets, 1)
    )


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_poppler_renders_the_pdf_without_complaint(tmp_path):
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf_document([("Mein Shopify-Shop", 18), ("Summe brutto 19,90 €", 12)]))

    result = subprocess.run(
        ["pdftoppm", "-png", "-r", "20", str(path), str(tmp_path / "page")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0
    assert result.stderr == ""
    assert (tmp_path / "page-1.png").stat().st_size > 0
