"""The Billbee contract helper must accept what the spec allows and reject what it does not."""

import json

import pytest
import requests

from tests.contracts import billbee as contract
from tests.contracts.billbee import (
    billbee_json,
    sample_order,
    validate_billbee_request,
    validate_billbee_response,
)

BASE = "https://app.billbee.io/api/v1"
AUTH = {"X-Billbee-Api-Key": "key", "Authorization": "Basic dXNlcjpwdw=="}


def envelope(data, **extra) -> str:
    return billbee_json(
        {"ErrorMessage": None, "ErrorCode": 0, "ErrorDescription": "NoError", "Data": data, **extra}
    )


def test_an_orders_query_with_known_parameters_passes():
    url = (
        f"{BASE}/orders?page=2&pageSize=250&shopId=1&shopId=2&orderStateId=3"
        "&modifiedAtMin=2023-04-22T14:56:23.843&excludeTags=false"
    )

    validate_billbee_request("GET", url, headers=AUTH)


def test_the_sandbox_mount_point_is_checked_like_the_real_api():
    validate_billbee_request(
        "GET", "http://127.0.0.1:8000/sandbox/billbee/api/v1/orders/5", headers=AUTH
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{BASE}/orders?pageNumber=1", "unknown query parameter 'pageNumber'"),
        (f"{BASE}/orders?page=first", "'first' is not an integer"),
        (f"{BASE}/orders?page=1&page=2", "given 2 times"),
        (f"{BASE}/orders?modifiedAtMin=yesterday", "not an ISO 8601 date-time"),
        (f"{BASE}/orders?articleTitleSource=7", "7 is not one of"),
        (f"{BASE}/orders/abc", "path parameter id: 'abc' is not an integer"),
        (f"{BASE}/order", "no such operation"),
        ("https://example.com/orders", "not a Billbee API URL"),
    ],
)
def test_a_request_outside_the_spec_fails_with_the_reason(url, expected):
    with pytest.raises(AssertionError, match=expected):
        validate_billbee_request("GET", url, headers=AUTH)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Basic x"}, "X-Billbee-Api-Key is missing"),
        ({"X-Billbee-Api-Key": "key"}, "Basic authorization is missing"),
    ],
)
def test_a_request_without_both_credentials_fails(headers, expected):
    with pytest.raises(AssertionError, match=expected):
        validate_billbee_request("GET", f"{BASE}/shopaccounts", headers=headers)


def test_a_tags_body_of_the_right_shape_passes_and_a_wrong_one_fails():
    url = f"{BASE}/orders/12/tags"
    validate_billbee_request("POST", url, body=json.dumps({"Tags": ["sevDesk"]}), headers=AUTH)

    with pytest.raises(AssertionError, match="at Tags: 'sevDesk' is not of type 'array'"):
        validate_billbee_request("POST", url, body=json.dumps({"Tags": "sevDesk"}), headers=AUTH)
    with pytest.raises(AssertionError, match="required body is missing"):
        validate_billbee_request("POST", url, headers=AUTH)


def test_a_body_on_an_operation_without_one_fails():
    with pytest.raises(AssertionError, match="takes no body"):
        validate_billbee_request("GET", f"{BASE}/orders", body=b"{}", headers=AUTH)


def test_a_real_looking_order_page_passes_including_nulls_and_long_decimals():
    body = envelope(
        [sample_order(), sample_order(Id=None, OrderNumber=None, InvoiceNumber=None)],
        Paging={"Page": 1, "TotalPages": 1, "TotalRows": 2, "PageSize": 50},
    )

    validate_billbee_response("GET", f"{BASE}/orders", status=200, body=body)


def test_an_order_with_a_payment_type_beyond_the_spec_enum_passes():
    body = envelope(sample_order(PaymentMethod=157))

    validate_billbee_response("GET", f"{BASE}/orders/1", status=200, body=body)


def test_a_wrongly_shaped_order_fails_naming_each_field():
    body = envelope(sample_order(State="paid", Seller={"BillbeeShopId": "abc"}))

    with pytest.raises(AssertionError) as failure:
        validate_billbee_response("GET", f"{BASE}/orders/1", status=200, body=body)

    assert "at Data/State: 'paid' is not of type" in str(failure.value)
    assert "at Data/Seller/BillbeeShopId: 'abc'" in str(failure.value)


def test_an_error_description_typed_int_in_the_spec_is_accepted_as_string_only():
    with pytest.raises(AssertionError, match="ErrorDescription: 3 is not of type 'string'"):
        validate_billbee_response(
            "GET", f"{BASE}/orders/1", status=200, body=envelope(None, ErrorDescription=3)
        )


def test_enum_lists_must_be_id_name_pairs():
    url = f"{BASE}/enums/orderstates"
    validate_billbee_response("GET", url, status=200, body=[{"Id": 1, "Name": "Bestellt"}])

    with pytest.raises(AssertionError, match="is not of type 'array'"):
        validate_billbee_response("GET", url, status=200, body={"1": "Bestellt"})


def test_error_statuses_must_carry_the_aspnet_message():
    url = f"{BASE}/orders"
    validate_billbee_response("GET", url, status=401, body={"Message": "Authorization denied."})

    with pytest.raises(AssertionError, match="'Message' is a required property"):
        validate_billbee_response("GET", url, status=500, body={"error": "boom"})


def test_an_undocumented_success_status_fails():
    with pytest.raises(AssertionError, match="status not documented"):
        validate_billbee_response("GET", f"{BASE}/orders", status=204, body=None)


def test_a_non_json_response_body_fails():
    with pytest.raises(AssertionError, match="body is not JSON"):
        validate_billbee_response("GET", f"{BASE}/orders", status=200, body="<html></html>")


def test_the_invoice_pdf_must_be_base64():
    url = f"{BASE}/orders/CreateInvoice/1"
    good = envelope({"InvoiceNumber": "RE-1", "PDFData": "JVBERi0xLjQ="})
    validate_billbee_response("POST", url, status=200, body=good)

    with pytest.raises(AssertionError, match="PDFData"):
        validate_billbee_response(
            "POST", url, status=200, body=envelope({"PDFData": "not base64!"})
        )


def test_the_fixture_checks_requests_that_went_through_it(billbee_http):
    billbee_http.get(f"{BASE}/shopaccounts", json={"Data": []})

    requests.get(f"{BASE}/shopaccounts", params={"page": 1}, headers=AUTH, timeout=1)

    assert len(billbee_http.calls) == 1


def test_the_fixture_fails_the_test_for_a_request_outside_the_spec():
    fixture = contract.billbee_http.__wrapped__()
    mock = next(fixture)
    mock.get(f"{BASE}/shopaccounts", json={"Data": []})
    requests.get(f"{BASE}/shopaccounts", params={"size": 1}, headers=AUTH, timeout=1)

    with pytest.raises(AssertionError, match="unknown query parameter 'size'"):
        next(fixture)
    mock.stop()
