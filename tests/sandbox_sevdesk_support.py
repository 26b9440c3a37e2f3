"""Shared helpers of the sandbox sevDesk tests (no tests here).

`SandboxApi` aims Django's test client at `/sandbox/sevdesk/api/v1` and checks every answer
the sandbox gives against sevDesk's published spec (`validate_sevdesk_response`), so the
simulator cannot drift away from the shapes the real sevDesk answers with.
"""

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from sandbox.sevdesk.models import CheckAccount, RevenueAccount, SandboxAccount
from sandbox.sevdesk.services import sandbox_account_create
from tests.contracts.sevdesk import validate_sevdesk_response

API = "/sandbox/sevdesk/api/v1"

# The spec declares no body for error answers; sevDesk's own shape is checked here instead.
ERROR_SHAPE_KEYS = {"message", "code", "data"}
# Not sevDesk's answer at all: a lost answer (`lose_response`) is the 504 page of the reverse
# proxy in front of sevDesk, so the spec cannot describe it.
PROXY_STATUSES = {504}


class Answer:
    """A sandbox answer with its JSON body parsed."""

    def __init__(self, response) -> None:
        self.response = response
        self.status = response.status_code
        is_json = response["Content-Type"].startswith("application/json")
        self.json: Any = json.loads(response.content) if is_json else None

    @property
    def objects(self) -> Any:
        return self.json["objects"]

    @property
    def error_message(self) -> str:
        return self.json["error"]["message"]

    def __repr__(self) -> str:
        return f"<Answer {self.status} {self.response.content[:300]!r}>"


class SandboxApi:
    def __init__(self, client: Client, token: str | None) -> None:
        self.client = client
        self.token = token

    def get(self, path: str, params: dict | None = None, **kwargs) -> Answer:
        return self._call("get", path, data=params or {}, **kwargs)

    def post(self, path: str, body: Any, **kwargs) -> Answer:
        return self._send("post", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs) -> Answer:
        return self._send("put", path, body, **kwargs)

    def upload(self, path: str, upload, **kwargs) -> Answer:
        return self._call("post", path, data={"file": upload}, **kwargs)

    def _send(self, method: str, path: str, body: Any, **kwargs) -> Answer:
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        return self._call(method, path, data=raw, content_type="application/json", **kwargs)

    def _call(
        self, method: str, path: str, *, token: str | None = "", check_spec=True, **kwargs
    ) -> Answer:
        """`token=None` sends no Authorization header; `check_spec=False` only for URLs and
        methods the spec does not have (it cannot describe their answers)."""
        token = self.token if token == "" else token
        headers = {"Authorization": token} if token is not None else {}
        response = getattr(self.client, method)(API + path, headers=headers, **kwargs)
        _check_against_spec(method, response, check_spec=check_spec)
        return Answer(response)


def _check_against_spec(method: str, response, *, check_spec: bool = True) -> None:
    """Every answer must match sevDesk's spec; JSON errors must have sevDesk's error shape."""
    if check_spec and response.status_code not in PROXY_STATUSES:
        validate_sevdesk_response(
            method,
            "http://testserver" + response.request["PATH_INFO"] + _query(response),
            status=response.status_code,
            body=response.content,
            content_type=response["Content-Type"].split(";")[0],
        )
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        body = json.loads(response.content)
        assert list(body) == ["error"], body
        assert set(body["error"]) >= ERROR_SHAPE_KEYS, body
        assert body["error"]["code"] is None and body["error"]["data"] is None, body


def _query(response) -> str:
    query = response.request.get("QUERY_STRING", "")
    return f"?{query}" if query else ""


# --- Fixtures and builders -----------------------------------------------------------------


@pytest.fixture
def sandbox_account(db) -> SandboxAccount:
    return sandbox_account_create(name="Muster Shop GmbH")


@pytest.fixture
def api(client, sandbox_account) -> SandboxApi:
    return SandboxApi(client, sandbox_account.token)


def offline_account(account: SandboxAccount) -> CheckAccount:
    """The PayPal clearing account every new sandbox account has."""
    return CheckAccount.objects.get(account=account, type=CheckAccount.Type.OFFLINE)


def revenue_account(number: str) -> RevenueAccount:
    return RevenueAccount.objects.get(number=number)


def pdf_bytes(pages: int = 1) -> bytes:
    """A small PDF with the given number of pages (enough structure for a page count)."""
    kids = " ".join(f"{3 + n} 0 R" for n in range(pages))
    objects = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
        f"2 0 obj << /Type /Pages /Kids [{kids}] /Count {pages} >> endobj".encode(),
    ]
    objects += [
        f"{3 + n} 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj".encode()
        for n in range(pages)
    ]
    return b"%PDF-1.4\n" + b"\n".join(objects) + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def position(
    *, account_number: str = "4400", rate: int = 19, gross: str = "119.00", **overrides
) -> dict[str, Any]:
    item = {
        "objectName": "VoucherPos",
        "mapAll": True,
        "accountDatev": {
            "id": revenue_account(account_number).account_datev_id,
            "objectName": "AccountDatev",
        },
        "taxRate": rate,
        "net": False,
        "sumGross": float(Decimal(gross)),
        "comment": f"Waren {rate} %",
    }
    return item | overrides


def voucher_payload(
    *, positions: list | None = None, filename: str | None = None, **voucher_fields
) -> dict[str, Any]:
    """A saveVoucher body as the exporter sends it for a sold order (bookkeeping 2.0)."""
    voucher = {
        "objectName": "Voucher",
        "mapAll": True,
        "voucherDate": "2026-11-02T00:00:00+01:00",
        "description": "RN-2026-0083",
        "supplierName": "Erika Mustermann",
        "status": 100,
        "creditDebit": "D",
        "voucherType": "VOU",
        "taxRule": {"id": "1", "objectName": "TaxRule"},
        "currency": "EUR",
        "deliveryDate": "2026-11-01T00:00:00+01:00",
    } | voucher_fields
    body = {
        "voucher": {key: value for key, value in voucher.items() if value is not ...},
        "voucherPosSave": [position()] if positions is None else positions,
        "voucherPosDelete": None,
    }
    if filename:
        body["filename"] = filename
    return body


def save_voucher(api: SandboxApi, **kwargs) -> dict[str, Any]:
    """Save a voucher that must be accepted; its `voucher` object from the answer."""
    answer = api.post("/Voucher/Factory/saveVoucher", voucher_payload(**kwargs))
    assert answer.status == 201, answer
    return answer.objects["voucher"]
