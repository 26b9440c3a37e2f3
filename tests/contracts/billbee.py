"""Check HTTP traffic against Billbee's published Swagger 2.0 description.

openapi-core reads only OpenAPI 3, so this is a compact validator of its own: it matches the
method and path template, checks query parameters, required headers and the JSON body of a
request, and the body of a response, with jsonschema's Draft 4 rules (which Swagger 2.0's
schemas follow). Where real Billbee differs from its description, ``_patch_spec`` says so.

Use ``validate_billbee_request`` / ``validate_billbee_response`` directly, or the
``billbee_http`` fixture: a started ``responses`` mock that validates every request sent
through it when the test ends.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import responses
import yaml
from jsonschema import Draft4Validator, FormatChecker, ValidationError

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "billbee-api-v1.yaml"
BASE_PATH = "/api/v1"
DEFINITIONS = "#/definitions/"
MAX_ERRORS_SHOWN = 5

# The envelope ASP.NET Web API puts around non-2xx answers; the spec documents none of them.
ASPNET_ERROR_SCHEMA = {
    "type": "object",
    "required": ["Message"],
    "properties": {
        "Message": {"type": "string"},
        "MessageDetail": {"type": ["string", "null"]},
        "ModelState": {"type": ["object", "null"]},
    },
}
ENUM_LIST_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["Id", "Name"],
        "properties": {"Id": {"type": "integer"}, "Name": {"type": "string"}},
    },
}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # e.g. "/api/v1/orders/{id}"
    spec: dict


# --- Loading and patching the spec -----------------------------------------------------------


@lru_cache(maxsize=1)
def billbee_spec() -> dict:
    """The spec as published, with the documented differences of the real API applied."""
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    _patch_spec(spec)
    return spec


def _patch_spec(spec: dict) -> None:
    """Every known difference between the Swagger file and real Billbee, one comment each."""
    definitions = spec["definitions"]
    for definition in definitions.values():
        properties = definition.get("properties", {})
        # ErrorDescription is typed int32 with an enum, but real responses carry a string
        # (e.g. "NoError"), see billbee-api.md "Errors".
        if "ErrorDescription" in properties:
            properties["ErrorDescription"] = {"type": "string"}
        # .NET writes null for every unset reference or Nullable<T> property, and Swagger 2.0
        # cannot say "nullable": Id/OrderNumber are null for manual orders, Seller.BillbeeShopId
        # too, dates such as ShippedAt/InvoiceDate until they happen, ErrorMessage on success
        # (billbee-api.md "Orders").
        for name, schema in properties.items():
            properties[name] = _nullable(schema)

    order = definitions["Billbee.Interfaces.BillbeeAPI.Model.Order"]["properties"]
    payment = definitions["Billbee.Interfaces.BillbeeAPI.Models.OrderPayment"]["properties"]
    # Payment type ids grow as Billbee adds providers; billbee-api.md says to accept unknown
    # ids (the spec's enum stops at 150), so only the type is checked.
    order["PaymentMethod"] = {"type": ["integer", "null"]}
    payment["PaymentType"] = {"type": ["integer", "null"]}

    paths = spec["paths"]
    # The enum endpoints are described as "object"; they answer a list of {Id, Name}
    # (Billbee's own .NET SDK reads them as List<EnumEntry>).
    for enum_path in ("/api/v1/enums/orderstates", "/api/v1/enums/paymenttypes"):
        paths[enum_path]["get"]["responses"]["200"]["schema"] = ENUM_LIST_SCHEMA
    # Error answers are not described at all; they use ASP.NET's {"Message", "ModelState"}
    # (billbee-api.md "Errors"). 401, 404, 429 and 5xx can come from any operation.
    for path_item in paths.values():
        for method, operation in path_item.items():
            if method in HTTP_METHODS:
                operation["responses"].setdefault("default", {"schema": ASPNET_ERROR_SCHEMA})


HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _nullable(schema: dict) -> dict:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    schema = dict(schema)
    if isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


# --- Formats ---------------------------------------------------------------------------------

FORMATS = FormatChecker(formats=())
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?")


@FORMATS.checks("date-time", raises=ValueError)
def _is_billbee_datetime(value: object) -> bool:
    # Billbee sends and accepts timestamps without an offset ("2023-04-22T14:56:23.843"), which
    # RFC 3339 would reject; an offset is accepted too.
    if not isinstance(value, str):
        return True
    if not DATE_TIME.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO 8601 date-time")
    datetime.fromisoformat(value)
    return True


@FORMATS.checks("byte", raises=binascii.Error)
def _is_base64(value: object) -> bool:
    if isinstance(value, str):
        base64.b64decode(value, validate=True)
    return True


# --- Finding the operation -------------------------------------------------------------------


def _api_path(url: str) -> str:
    """The path from ``/api/v1`` on, so the sandbox (mounted deeper) is checked the same way."""
    path = unquote(urlsplit(url).path)
    position = path.find(BASE_PATH + "/")
    if position < 0:
        raise AssertionError(f"{url}: not a Billbee API URL (no {BASE_PATH}/ in the path)")
    return path[position:].rstrip("/")


def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join(
        f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part) for part in parts
    )
    return re.compile(pattern + "$", re.IGNORECASE)  # ASP.NET routes ignore case


@lru_cache(maxsize=1)
def _templates() -> list[tuple[str, re.Pattern]]:
    # Literal routes win over templated ones: /orders/invoices is not /orders/{id}.
    templates = sorted(billbee_spec()["paths"], key=lambda t: (t.count("{"), -len(t)))
    return [(template, _template_regex(template)) for template in templates]


def find_operation(method: str, url: str) -> tuple[Operation, dict[str, str]]:
    path = _api_path(url)
    for template, regex in _templates():
        match = regex.match(path)
        if match:
            operation = billbee_spec()["paths"][template].get(method.lower())
            if operation is None:
                continue
            return Operation(method.upper(), template, operation), match.groupdict()
    raise AssertionError(f"{method.upper()} {path}: no such operation in the Billbee spec")


# --- Parameters ------------------------------------------------------------------------------


def _coerce(raw: str, schema: dict, where: str) -> Any:
    """Turn one query/path string into the type the parameter declares."""
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            raise AssertionError(f"{where}: {raw!r} is not an integer")
        return int(raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise AssertionError(f"{where}: {raw!r} is not a number") from None
    if kind == "boolean":
        if raw.lower() not in {"true", "false"}:
            raise AssertionError(f"{where}: {raw!r} is not a boolean (true/false)")
        return raw.lower() == "true"
    return raw


def _check_value(value: Any, schema: dict, where: str) -> None:
    if "enum" in schema and value not in schema["enum"]:
        raise AssertionError(f"{where}: {value!r} is not one of {schema['enum']}")
    if schema.get("format") in {"date-time"}:
        try:
            _is_billbee_datetime(value)
        except ValueError as exc:
            raise AssertionError(f"{where}: {exc}") from None


def _check_query(operation: Operation, query: list[tuple[str, str]], label: str) -> None:
    declared = {p["name"]: p for p in operation.spec.get("parameters", []) if p["in"] == "query"}
    seen: dict[str, list[str]] = {}
    for name, raw in query:
        seen.setdefault(name, []).append(raw)
    for name, values in seen.items():
        parameter = declared.get(name)
        if parameter is None:
            known = ", ".join(sorted(declared)) or "none"
            raise AssertionError(f"{label}: unknown query parameter {name!r} (known: {known})")
        is_multi = parameter.get("type") == "array" and parameter.get("collectionFormat") == "multi"
        if len(values) > 1 and not is_multi:
            raise AssertionError(f"{label}: query parameter {name!r} given {len(values)} times")
        item_schema = parameter.get("items", {}) if parameter.get("type") == "array" else parameter
        for raw in values:
            where = f"{label}: query parameter {name}"
            _check_value(_coerce(raw, item_schema, where), item_schema, where)
    for name, parameter in declared.items():
        if parameter.get("required") and name not in seen:
            raise AssertionError(f"{label}: required query parameter {name!r} is missing")


def _check_path_params(operation: Operation, values: dict[str, str], label: str) -> None:
    declared = {p["name"]: p for p in operation.spec.get("parameters", []) if p["in"] == "path"}
    for name, raw in values.items():
        schema = declared.get(name, {"type": "string"})
        where = f"{label}: path parameter {name}"
        _check_value(_coerce(raw, schema, where), schema, where)


def _check_headers(operation: Operation, headers: Mapping[str, str], label: str) -> None:
    present = {name.lower(): value for name, value in (headers or {}).items()}
    security = billbee_spec()["securityDefinitions"]
    for requirement in operation.spec.get("security", billbee_spec().get("security", [])):
        for scheme_name in requirement:
            scheme = security[scheme_name]
            if scheme["type"] == "apiKey" and not present.get(scheme["name"].lower()):
                raise AssertionError(f"{label}: header {scheme['name']} is missing")
            if scheme["type"] == "basic" and not present.get("authorization", "").startswith(
                "Basic "
            ):
                raise AssertionError(f"{label}: HTTP Basic authorization is missing")
    for parameter in operation.spec.get("parameters", []):
        required = parameter["in"] == "header" and parameter.get("required")
        if required and parameter["name"].lower() not in present:
            raise AssertionError(f"{label}: required header {parameter['name']} is missing")


# --- Bodies ----------------------------------------------------------------------------------


def _load_json(body: Any, label: str) -> Any:
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8-sig")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError as exc:
            raise AssertionError(f"{label}: body is not JSON ({exc})") from None
    return body


def _validate_schema(instance: Any, schema: dict, label: str) -> None:
    root = {"allOf": [schema], "definitions": billbee_spec()["definitions"]}
    validator = Draft4Validator(root, format_checker=FORMATS)
    errors = sorted(
        (leaf for error in validator.iter_errors(instance) for leaf in _leaves(error)),
        key=lambda error: [str(part) for part in error.absolute_path],
    )
    if errors:
        lines = [
            f"  at {'/'.join(str(part) for part in error.absolute_path) or '(root)'}: "
            f"{_short(error.message)}"
            for error in errors[:MAX_ERRORS_SHOWN]
        ]
        more = (
            f"\n  … and {len(errors) - MAX_ERRORS_SHOWN} more"
            if len(errors) > MAX_ERRORS_SHOWN
            else ""
        )
        raise AssertionError(
            f"{label} does not match the Billbee spec:\n" + "\n".join(lines) + more
        )


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """For "null or <schema>" (see _nullable), report why <schema> failed, not the anyOf."""
    branches = [sub for sub in error.context or () if sub.validator_value != "null"]
    if not branches:
        yield error
    for sub in branches:
        yield from _leaves(sub)


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[:limit] + "…"


# --- Public API ------------------------------------------------------------------------------


def validate_billbee_request(
    method: str, url: str, *, body: Any = None, headers: Mapping[str, str] | None = None
) -> None:
    """Raise AssertionError unless the request is one the Billbee spec describes."""
    operation, path_values = find_operation(method, url)
    label = f"{operation.method} {operation.template}"
    _check_path_params(operation, path_values, label)
    _check_query(operation, parse_qsl(urlsplit(url).query, keep_blank_values=True), label)
    _check_headers(operation, headers or {}, label)
    body_parameter = next(
        (p for p in operation.spec.get("parameters", []) if p["in"] == "body"), None
    )
    if body_parameter is None:
        if body not in (None, b"", ""):
            raise AssertionError(f"{label}: the operation takes no body, but one was sent")
        return
    if body in (None, b"", ""):
        if body_parameter.get("required"):
            raise AssertionError(f"{label}: the required body is missing")
        return
    _validate_schema(_load_json(body, f"{label} request body"), body_parameter["schema"], label)


def validate_billbee_response(method: str, url: str, *, status: int, body: Any) -> None:
    """Raise AssertionError unless the body is what the spec promises for this status."""
    operation, _ = find_operation(method, url)
    label = f"{operation.method} {operation.template} → {status}"
    documented = operation.spec["responses"]
    response = documented.get(str(status))
    if response is None:
        if 200 <= status < 300:
            raise AssertionError(f"{label}: status not documented (documented: {list(documented)})")
        response = documented["default"]
    schema = response.get("schema")
    if schema is None:
        return
    _validate_schema(_load_json(body, f"{label} response body"), schema, f"{label} response")


@pytest.fixture
def billbee_http() -> Iterator[responses.RequestsMock]:
    """A started ``responses`` mock; every request that went through it must match the spec."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
        for call in mock.calls:
            request = call.request
            validate_billbee_request(
                request.method, request.url, body=request.body, headers=request.headers
            )


def sample_order(**overrides: Any) -> dict:
    """One order as Billbee sends it (naive timestamps, long decimals), for tests to vary."""
    order = {
        "BillBeeOrderId": 300000012345,
        "Id": "302-1234567-7654321",
        "OrderNumber": "302-1234567-7654321",
        "State": 3,
        "VatMode": 0,
        "CreatedAt": "2023-04-22T14:56:23.843",
        "PayedAt": "2023-04-22T15:01:00",
        "ShippedAt": None,
        "InvoiceDate": "2023-04-22T15:02:10.5",
        "LastModifiedAt": "2023-04-22T15:02:11.0000000",
        "UpdatedAt": "2023-04-22T15:02:11",
        "InvoiceNumberPrefix": "RN-2022-00",
        "InvoiceNumber": 83,
        "InvoiceNumberPostfix": "",
        "Currency": "EUR",
        "TotalCost": Decimal("24.80"),
        "ShippingCost": Decimal("4.90"),
        "AdjustmentCost": Decimal("0"),
        "PaidAmount": Decimal("24.80"),
        "TaxRate1": Decimal("19"),
        "TaxRate2": Decimal("7"),
        "PaymentMethod": 3,
        "Tags": ["Priorität"],
        "Seller": {
            "Platform": "Amazon",
            "BillbeeShopName": "Amazon DE",
            "BillbeeShopId": 4711,
        },
        "Customer": {
            "Id": 987,
            "Name": "Erika Mustermann",
            "Email": "erika@example.com",
            "Number": 10042,
            "VatId": None,
        },
        "CustomerVatId": None,
        "InvoiceAddress": {
            "Company": None,
            "FirstName": "Erika",
            "LastName": "Mustermann",
            "Street": "Heidestraße",
            "HouseNumber": "17",
            "Zip": "51147",
            "City": "Köln",
            "CountryISO2": "DE",
            "Email": "erika@example.com",
            "Phone": "+49 221 1234567",
        },
        "OrderItems": [
            {
                "BillbeeId": 1,
                "Product": {"Title": "Teebecher Steingut", "SKU": "TB-01", "IsDigital": False},
                "Quantity": Decimal("2"),
                "TotalPrice": Decimal("19.90"),
                "TaxAmount": Decimal("3.177310924369747899159663866"),
                "TaxIndex": 1,
                "Discount": Decimal("0"),
                "IsCoupon": False,
            }
        ],
        "Payments": [
            {
                "BillbeeId": 55,
                "TransactionId": "PAYID-1",
                "PayDate": "2023-04-22T15:01:00",
                "PaymentType": 3,
                "PayValue": Decimal("24.80"),
                "Purpose": "302-1234567-7654321",
                "Name": "PayPal",
            }
        ],
    }
    order.update(overrides)
    return order


def billbee_json(document: Any) -> str:
    """JSON text with Decimals written as exact JSON numbers, as Billbee's .NET serializer does."""
    text = json.dumps(document, default=_mark_decimal, ensure_ascii=False)
    return re.sub(f'"{_DECIMAL_MARK}([^"]+)"', r"\1", text)


_DECIMAL_MARK = "\u2063decimal:"


def _mark_decimal(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value}"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
