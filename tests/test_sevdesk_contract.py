"""The sevDesk spec helper must reject what sevDesk's spec forbids, or it proves nothing."""

import copy
import json

import pytest
import requests

from tests.contracts.sevdesk import (
    sevdesk_mock,
    validate_sevdesk_request,
    validate_sevdesk_response,
)

BASE = "http://testserver/sandbox/sevdesk/api/v1"
SAVE_VOUCHER = f"{BASE}/Voucher/Factory/saveVoucher"

VALID_SAVE_VOUCHER = {
    "voucher": {
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
    },
    "voucherPosSave": [
        {
            "objectName": "VoucherPos",
            "mapAll": True,
            "accountDatev": {"id": 26, "objectName": "AccountDatev"},
            "taxRate": 19,
            "net": False,
            "sumGross": 119.0,
            "comment": "Umsatz 19 %",
        }
    ],
    "voucherPosDelete": None,
    "filename": "f019bec36c65f5a0e7d2c63cc33f0681.pdf",
}


def save_voucher_body(change=None) -> str:
    payload = copy.deepcopy(VALID_SAVE_VOUCHER)
    if change:
        change(payload)
    return json.dumps(payload)


def test_a_correct_save_voucher_body_passes():
    # given a body shaped like sevDesk's example (voucherPosSave, Berlin timestamps)
    # when / then: no AssertionError
    validate_sevdesk_request("POST", SAVE_VOUCHER, body=save_voucher_body())


def test_a_1_0_voucher_with_tax_type_and_accounting_type_passes():
    def to_bookkeeping_1_0(payload):
        del payload["voucher"]["taxRule"]
        payload["voucher"]["taxType"] = "default"
        position = payload["voucherPosSave"][0]
        position["accountingType"] = position.pop("accountDatev") | {"objectName": "AccountingType"}

    validate_sevdesk_request("POST", SAVE_VOUCHER, body=save_voucher_body(to_bookkeeping_1_0))


def test_a_sum_sent_as_string_is_rejected():
    def sum_as_text(payload):
        payload["voucherPosSave"][0]["sumGross"] = "119.00"

    with pytest.raises(AssertionError, match=r"voucherPosSave\.0\.sumGross"):
        validate_sevdesk_request("POST", SAVE_VOUCHER, body=save_voucher_body(sum_as_text))


def test_a_missing_required_voucher_field_is_rejected():
    def without_credit_debit(payload):
        del payload["voucher"]["creditDebit"]

    with pytest.raises(AssertionError, match="'creditDebit' is a required property"):
        validate_sevdesk_request("POST", SAVE_VOUCHER, body=save_voucher_body(without_credit_debit))


def test_a_voucher_without_any_position_list_is_rejected():
    def without_positions(payload):
        del payload["voucherPosSave"]

    with pytest.raises(AssertionError, match="'voucherPosSave' is a required property"):
        validate_sevdesk_request("POST", SAVE_VOUCHER, body=save_voucher_body(without_positions))


def test_a_voucher_with_both_tax_rule_and_tax_type_is_rejected():
    def both(payload):
        payload["voucher"]["taxType"] = "default"

    with pytest.raises(AssertionError, match="valid under each of"):
        validate_sevdesk_request("POST", SAVE_VOUCHER, body=save_voucher_body(both))


def test_a_bare_date_is_rejected_because_the_spec_wants_a_timestamp():
    def bare_date(payload):
        payload["voucher"]["voucherDate"] = "2026-11-02"

    with pytest.raises(AssertionError, match="is not a 'date-time'"):
        validate_sevdesk_request("POST", SAVE_VOUCHER, body=save_voucher_body(bare_date))


def test_a_misspelt_field_is_rejected_instead_of_silently_ignored():
    def typo(payload):
        payload["voucher"]["supplierNam"] = payload["voucher"].pop("supplierName")

    with pytest.raises(AssertionError, match="'supplierNam' was unexpected"):
        validate_sevdesk_request("POST", SAVE_VOUCHER, body=save_voucher_body(typo))


def test_a_null_filename_is_rejected():
    def null_filename(payload):
        payload["filename"] = None

    with pytest.raises(AssertionError, match="filename"):
        validate_sevdesk_request("POST", SAVE_VOUCHER, body=save_voucher_body(null_filename))


def test_an_unknown_path_is_rejected():
    with pytest.raises(AssertionError, match="PathNotFound"):
        validate_sevdesk_request("GET", f"{BASE}/Vouchers")


def test_a_url_outside_the_api_is_rejected():
    with pytest.raises(AssertionError, match="not a sevDesk API URL"):
        validate_sevdesk_request("GET", "http://testserver/Voucher")


def test_a_query_value_outside_the_enum_is_rejected():
    with pytest.raises(AssertionError, match="depth"):
        validate_sevdesk_request("GET", f"{BASE}/Contact?customerNumber=K-1&depth=2")


def test_a_missing_required_query_parameter_is_rejected():
    with pytest.raises(AssertionError, match="taxRule"):
        validate_sevdesk_request("GET", f"{BASE}/ReceiptGuidance/forTaxRule")


def test_a_request_without_the_authorization_header_is_rejected_when_headers_are_given():
    with pytest.raises(AssertionError, match="Security"):
        validate_sevdesk_request("GET", f"{BASE}/CheckAccount", headers={"Accept": "*/*"})


def test_the_undocumented_static_country_list_is_let_through():
    validate_sevdesk_request("GET", f"{BASE}/StaticCountry?limit=1000")


def test_an_upload_must_use_the_file_field():
    def upload(field: str) -> requests.PreparedRequest:
        files = {field: ("RN-1.pdf", b"%PDF-1.4", "application/pdf")}
        url = f"{BASE}/Voucher/Factory/uploadTempFile"
        return requests.Request("POST", url, files=files, headers={"Authorization": "t"}).prepare()

    good, bad = upload("file"), upload("document")
    validate_sevdesk_request("POST", good.url, body=good.body, headers=dict(good.headers))
    with pytest.raises(AssertionError, match="document"):
        validate_sevdesk_request("POST", bad.url, body=bad.body, headers=dict(bad.headers))


def test_answers_must_carry_the_objects_envelope():
    answer = {"voucher": {"id": "7", "objectName": "Voucher"}, "voucherPos": []}

    validate_sevdesk_response(
        "POST", SAVE_VOUCHER, status=201, body=json.dumps({"objects": answer})
    )
    with pytest.raises(AssertionError, match="'objects' is a required property"):
        validate_sevdesk_response("POST", SAVE_VOUCHER, status=201, body=json.dumps(answer))


def test_answers_may_send_numbers_as_numeric_strings_but_not_as_words():
    url = f"{BASE}/ReceiptGuidance/forRevenue"

    def guide(account_id) -> str:
        return json.dumps({"objects": [{"accountDatevId": account_id, "accountNumber": "8400"}]})

    validate_sevdesk_response("GET", url, status=200, body=guide("26"))
    validate_sevdesk_response("GET", url, status=200, body=guide(26))
    with pytest.raises(AssertionError, match="accountDatevId"):
        validate_sevdesk_response("GET", url, status=200, body=guide("twenty-six"))


def test_an_unlisted_error_status_needs_sevdesks_error_object():
    url = f"{BASE}/Voucher/5"

    validate_sevdesk_response(
        "GET", url, status=404, body=json.dumps({"error": {"message": "Not found"}})
    )
    with pytest.raises(AssertionError, match="'error' is a required property"):
        validate_sevdesk_response("GET", url, status=404, body=json.dumps({"objects": []}))


def test_the_mock_fails_a_test_that_sent_a_nonconforming_request():
    # given the mock used by the sevdesk_http fixture
    # then leaving the mock raises, naming the problem
    with pytest.raises(AssertionError, match="is not one of"), sevdesk_mock() as http:
        http.get(f"{BASE}/Contact", json={"objects": []})
        # when a request with a value the spec forbids is sent
        requests.get(
            f"{BASE}/Contact",
            params={"customerNumber": "K-1", "depth": "all"},
            headers={"Authorization": "t"},
            timeout=5,
        )


def test_the_mock_accepts_a_conforming_request_and_returns_the_mocked_answer():
    with sevdesk_mock() as http:
        http.get(f"{BASE}/Contact", json={"objects": []})
        answer = requests.get(
            f"{BASE}/Contact",
            params={"customerNumber": "K-1", "depth": "1"},
            headers={"Authorization": "t"},
            timeout=5,
        )
    assert answer.json() == {"objects": []}
