"""Check requests to and answers from sevDesk against sevDesk's published OpenAPI spec.

The spec (`shared/specs/sevdesk-api-v1.yaml`) is the authority for shapes. It has a few known
errors; `_patch_known_spec_errors` corrects exactly those on the loaded copy, with a comment
per deviation, and everything else stays strict. Request bodies are additionally checked for
unknown properties, so a misspelt field (``surname`` for sevDesk's ``surename``) fails instead
of being silently ignored by sevDesk.

Use `validate_sevdesk_request` / `validate_sevdesk_response` directly, or the `sevdesk_http`
fixture, which mocks HTTP with `responses` and checks every request a test sent.
"""

from __future__ import annotations

import email.policy
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.validators import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
    V30RequestSecurityValidator,
)
from openapi_core.validation.response.validators import V30ResponseValidator

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "sevdesk-api-v1.yaml"
# The spec's first server; every URL is rewritten onto it, so the sandbox's or a test's base
# URL does not matter.
SPEC_HOST = "https://my.sevdesk.de"
SPEC_BASE_PATH = "/api/v1"
# Used by public clients for country ids, but missing from the spec: the one call that cannot
# be checked.
UNDOCUMENTED_PATHS = frozenset({"/StaticCountry"})

_NUMERIC_STRING = r"^-?[0-9]+(\.[0-9]+)?$"
_SCHEMA_REF = "#/components/schemas/"
# Request bodies are checked with unknown properties forbidden; the partial schemas added
# below only constrain a few fields and must leave the others to the main schema.
_OPEN = {"additionalProperties": True}
# sevDesk's error answer: {"error": {"message": "...", "exceptionUUID": "..."}}.
_ERROR_BODY = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}, "exceptionUUID": {"type": "string"}},
        }
    },
}


# --- Loading and patching the spec ---------------------------------------------------------


@functools.cache
def _spec_app() -> OpenAPI:
    """The patched spec, parsed once per process (the file is 660 KB)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    _patch_known_spec_errors(data)
    # The published file does not pass openapi-spec-validator (`default: null` on fields that
    # are not nullable, which matters only for documentation), so skip that meta-check; the
    # schemas themselves are still enforced when requests and answers are validated.
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None))


def _patch_known_spec_errors(spec: dict[str, Any]) -> None:
    """Correct the spec's known errors in place (see "Rough edges" in shared/sevdesk-api.md)."""
    schemas = spec["components"]["schemas"]

    # 1. saveVoucher requires `voucherPos`, but defines `voucherPosSave`, which is what sevDesk
    #    reads (its own examples and every public client send it).
    save_voucher = schemas["saveVoucher"]
    save_voucher["required"] = ["voucher", "voucherPosSave"]

    # 2. Voucher requires both `taxType` (bookkeeping 1.0) and `taxRule` (2.0); a voucher
    #    carries exactly one of them, depending on the account's bookkeeping system.
    voucher = schemas["Model_Voucher"]
    voucher["required"] = [f for f in voucher["required"] if f not in {"taxType", "taxRule"}]
    voucher["oneOf"] = [{"required": ["taxRule"]}, {"required": ["taxType"]}]

    # 3. VoucherPos requires `accountDatev` (2.0) and `accountingType` (1.0), and both sums;
    #    a position has one booking account, and the sum that `net` says it is based on.
    position = schemas["Model_VoucherPos"]
    dropped = {"accountDatev", "accountingType", "sumGross", "sumNet"}
    position["required"] = [f for f in position["required"] if f not in dropped]
    position["allOf"] = [
        {"oneOf": [{"required": ["accountDatev"]}, {"required": ["accountingType"]}]},
        {
            "oneOf": [
                {"properties": {"net": {"enum": [False]}}, "required": ["sumGross"], **_OPEN},
                {"properties": {"net": {"enum": [True]}}, "required": ["sumNet"], **_OPEN},
            ]
        },
    ]

    # 4. uploadTempFile declares its body as `form-data`, which is no media type; sevDesk (and
    #    every HTTP client) uses `multipart/form-data`.
    upload = spec["paths"]["/Voucher/Factory/uploadTempFile"]["post"]["requestBody"]["content"]
    upload["multipart/form-data"] = upload.pop("form-data")

    # 5. sevDesk wraps every answer in {"objects": ...}; a few success answers (POST /Contact,
    #    saveVoucher, bookAmount, ...) are shown without it. Require the envelope everywhere.
    for schema_holder in _success_json_bodies(spec):
        if not _has_objects_envelope(schema_holder["schema"], schemas):
            schema_holder["schema"] = {
                "type": "object",
                "required": ["objects"],
                "properties": {"objects": schema_holder["schema"]},
            }

    # 6. Ids and numbers in answers arrive as strings ("id": "1234", "sumGross": "57.49") even
    #    where typed integer/number. Accept numeric strings in answer schemas only; request
    #    schemas stay strict (we send real numbers).
    for schema in _response_only_schemas(spec):
        _accept_numeric_strings(schema)

    # 7. Each operation lists only some error statuses (GET /Voucher/{id} says 400 where
    #    sevDesk answers 404; 422, 429 and 5xx are missing on most). sevDesk answers any error
    #    with its error object, so accept that for statuses an operation does not list.
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "default",
                    {
                        "description": "Any error sevDesk answers with its error object",
                        "content": {"application/json": {"schema": _ERROR_BODY}},
                    },
                )

    # 8. A voucher answer's status lists 50, 100 and 1000 only, but a part payment leaves a
    #    voucher at 750 ("partially paid"; shared/sevdesk-api.md, "Voucher states on 2.0").
    #    Answers only: a voucher is never saved at 750.
    response_status = schemas["Model_VoucherResponse"]["properties"]["status"]
    response_status["enum"] = [*response_status["enum"], "750"]


def _success_json_bodies(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The `application/json` media objects of every 2xx answer in the spec."""
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, answer in operation.get("responses", {}).items():
                media = answer.get("content", {}).get("application/json")
                if str(status).startswith("2") and media and "schema" in media:
                    yield media


def _has_objects_envelope(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "$ref" in schema:
        schema = schemas[schema["$ref"].removeprefix(_SCHEMA_REF)]
    return "objects" in schema.get("properties", {})


def _response_only_schemas(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Inline answer schemas plus the components used by answers and never by requests."""
    schemas = spec["components"]["schemas"]
    used_by_requests: set[str] = set()
    used_by_responses: set[str] = set()
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            _collect_refs(operation.get("requestBody"), schemas, used_by_requests)
            _collect_refs(operation.get("parameters"), schemas, used_by_requests)
            _collect_refs(operation.get("responses"), schemas, used_by_responses)
            for answer in operation.get("responses", {}).values():
                for media in answer.get("content", {}).values():
                    if "schema" in media:
                        yield media["schema"]
    for name in sorted(used_by_responses - used_by_requests):
        yield schemas[name]


def _collect_refs(node: Any, schemas: dict[str, Any], found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        name = ref.removeprefix(_SCHEMA_REF)
        if ref.startswith(_SCHEMA_REF) and name not in found:
            found.add(name)
            _collect_refs(schemas[name], schemas, found)
        for value in node.values():
            _collect_refs(value, schemas, found)
    elif isinstance(node, list):
        for value in node:
            _collect_refs(value, schemas, found)


def _accept_numeric_strings(node: Any, seen: set[int] | None = None) -> None:
    """Let every integer/number in this schema tree also be a numeric string (in place)."""
    seen = set() if seen is None else seen
    if not isinstance(node, dict | list) or id(node) in seen:
        return
    seen.add(id(node))
    for value in node if isinstance(node, list) else list(node.values()):
        _accept_numeric_strings(value, seen)
    # `type` can also be the name of a property (then its value is a schema, not a string).
    if isinstance(node, dict) and node.get("type") in ("integer", "number"):
        as_number = {k: node.pop(k) for k in list(node) if k not in {"description", "readOnly"}}
        as_string: dict[str, Any] = {"type": "string", "pattern": _NUMERIC_STRING}
        if "enum" in as_number:
            as_string = {"type": "string", "enum": [_number_text(v) for v in as_number["enum"]]}
        node["anyOf"] = [as_number, as_string]
        if as_number.get("nullable"):
            as_string["nullable"] = True


def _number_text(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None if value is None else str(value)


# --- Validation ----------------------------------------------------------------------------


def validate_sevdesk_request(
    method: str,
    url: str,
    *,
    body: bytes | str | None = None,
    content_type: str | None = None,
    headers: dict | None = None,
) -> None:
    """Raise AssertionError unless this request matches the sevDesk spec.

    Checks the path, the query parameters and the body; with `headers` also the
    authentication (the token must be in the `Authorization` header). `url` is a full URL;
    everything up to and including `/api/v1` is ignored.
    """
    path, query = _api_path_and_query(url)
    if path in UNDOCUMENTED_PATHS:
        return
    content_type = content_type or _header(headers, "Content-Type") or "application/json"
    request = MockRequest(
        SPEC_HOST,
        method.lower(),
        SPEC_BASE_PATH + path,
        args=query,
        headers=dict(headers or {}),
        data=_as_bytes(body),
        content_type=content_type,
    )
    multipart = content_type.startswith("multipart/")
    validators: list[type] = [V30RequestParametersValidator]
    if headers is not None:
        validators.append(V30RequestSecurityValidator)
    if not multipart:
        validators.append(V30RequestBodyValidator)
    errors: list[Exception] = []
    for validator_cls in validators:
        validator = validator_cls(_spec_app().spec, forbid_unspecified_additional_properties=True)
        errors.extend(e for e in validator.iter_errors(request) if str(e) not in map(str, errors))
    if multipart and not errors:
        errors.extend(_multipart_errors(method, path, _as_bytes(body) or b"", content_type))
    if errors:
        raise AssertionError(_describe(f"{method.upper()} {path}", "request", errors))


def _multipart_errors(method: str, path: str, body: bytes, content_type: str) -> list[Exception]:
    """Check a multipart body's field names against the spec.

    openapi-core's multipart support only picks out the declared fields and crashes on
    malformed bodies, so parse the parts here and compare names: every part must be a
    declared property and at least one part must be there (an upload without its file).
    """
    operation = _spec_app().spec / "paths" / path / method.lower()
    media = operation / "requestBody" / "content" / "multipart/form-data"
    declared = set((media / "schema" / "properties").keys())
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        return [ValueError(f"body is not {content_type}")]
    names = [part.get_param("name", header="content-disposition") for part in message.iter_parts()]
    unknown = sorted(str(n) for n in names if n not in declared)
    if unknown:
        return [ValueError(f"multipart fields {unknown} are not declared: {sorted(declared)}")]
    if not names:
        return [ValueError("multipart body without any part")]
    return []


def validate_sevdesk_response(
    method: str,
    url: str,
    *,
    status: int,
    body: bytes | str,
    content_type: str = "application/json",
) -> None:
    """Raise AssertionError unless this answer matches the sevDesk spec (as patched)."""
    path, query = _api_path_and_query(url)
    if path in UNDOCUMENTED_PATHS:
        return
    request = MockRequest(SPEC_HOST, method.lower(), SPEC_BASE_PATH + path, args=query)
    response = MockResponse(_as_bytes(body) or b"", status_code=status, content_type=content_type)
    errors = list(V30ResponseValidator(_spec_app().spec).iter_errors(request, response))
    if errors:
        raise AssertionError(_describe(f"{method.upper()} {path} -> {status}", "answer", errors))


def _api_path_and_query(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    if SPEC_BASE_PATH not in parts.path:
        raise AssertionError(f"{url!r} is not a sevDesk API URL (no {SPEC_BASE_PATH} in it)")
    path = parts.path.split(SPEC_BASE_PATH, 1)[1] or "/"
    return path, parse_qsl(parts.query, keep_blank_values=True)


def _as_bytes(body: bytes | str | None) -> bytes | None:
    return body.encode() if isinstance(body, str) else body


def _header(headers: dict | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _describe(what: str, kind: str, errors: list[Exception]) -> str:
    lines = [f"{what}: the {kind} does not match the sevDesk spec"]
    for error in errors:
        lines.append(f"  - {type(error).__name__}: {_first_line(error)}")
        cause = error.__cause__
        if isinstance(error, PathError):
            continue
        for schema_error in getattr(cause, "schema_errors", None) or []:
            location = ".".join(str(p) for p in schema_error.absolute_path) or "(body)"
            lines.append(f"      {location}: {schema_error.message}")
    return "\n".join(lines)


def _first_line(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else repr(error)
    return text if len(text) < 200 else text[:200] + "…"


# --- The fixture ---------------------------------------------------------------------------


@contextmanager
def sevdesk_mock() -> Iterator[responses.RequestsMock]:
    """`responses` mock that checks, on a clean exit, every request sent against the spec."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
        calls = list(mock.calls)
    problems = []
    for call in calls:
        request = call.request
        try:
            validate_sevdesk_request(
                request.method, request.url, body=request.body, headers=dict(request.headers)
            )
        except AssertionError as error:
            problems.append(str(error))
    if problems:
        raise AssertionError("\n\n".join(problems))


@pytest.fixture
def sevdesk_http() -> Iterator[responses.RequestsMock]:
    """HTTP mocked with `responses`; every request the test sent is checked against the spec.

    A test that sends a request sevDesk's spec does not allow errors at teardown, naming the
    request and what is wrong with it.
    """
    with sevdesk_mock() as mock:
        yield mock
