"""Fault switches of the sandbox sevDesk: each kind, counting down, path filters, and the lost
answer whose change really happened (what the exporter's duplicate protection is tested
against)."""

import time

import pytest

from sandbox.sevdesk.models import FaultPlan, Voucher
from sandbox.sevdesk.services import fault_inject, faults_clear, sandbox_account_create
from tests import sandbox_sevdesk_support as support
from tests.sandbox_sevdesk_support import offline_account, save_voucher, voucher_payload

sandbox_account = support.sandbox_account
api = support.api


def test_http_500_fails_as_many_requests_as_asked_then_answers_normally(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="http_500", count=2)

    statuses = [api.get("/CheckAccount").status for _ in range(3)]

    assert statuses == [500, 500, 200]


def test_http_500_answers_internal_server_error_in_sevdesks_error_shape(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="http_500")

    answer = api.get("/CheckAccount")

    assert answer.error_message == "Internal Server Error"


def test_http_401_answers_authentication_required_for_a_valid_token(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="http_401")

    answer = api.get("/Tools/bookkeepingSystemVersion")

    assert answer.status == 401
    assert answer.error_message == "Authentication required"
    assert api.get("/Tools/bookkeepingSystemVersion").status == 200


def test_http_429_tells_when_to_retry(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="http_429", retry_after=30)

    answer = api.get("/Voucher")

    assert answer.status == 429
    assert answer.response["Retry-After"] == "30"


def test_latency_slows_the_answer_down_but_answers_normally(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="latency", latency_ms=300)

    started = time.monotonic()
    answer = api.get("/CheckAccount")
    elapsed = time.monotonic() - started

    assert answer.status == 200
    assert elapsed >= 0.3
    assert FaultPlan.objects.get().remaining == 0


def test_a_lost_answer_still_saves_the_voucher(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="lose_response", path_contains="saveVoucher")

    answer = api.post("/Voucher/Factory/saveVoucher", voucher_payload(description="RN-LOST"))

    assert answer.status == 504
    assert b"504 Gateway Time-out" in answer.response.content
    assert Voucher.objects.get().description == "RN-LOST"
    found = api.get("/Voucher", {"descriptionLike": "RN-LOST"}).objects
    assert [item["description"] for item in found] == ["RN-LOST"]


def test_a_lost_answer_still_books_the_payment(api, sandbox_account):
    voucher = save_voucher(api)
    offline = offline_account(sandbox_account)
    fault_inject(account=sandbox_account, kind="lose_response", path_contains="bookAmount")

    answer = api.put(
        f"/Voucher/{voucher['id']}/bookAmount",
        {
            "amount": 119.00,
            "date": "2026-11-02T00:00:00+01:00",
            "type": "FULL_PAYMENT",
            "checkAccount": {"id": offline.pk, "objectName": "CheckAccount"},
        },
    )

    assert answer.status == 504
    assert Voucher.objects.get().status == Voucher.Status.PAID


def test_a_path_filter_leaves_other_requests_alone(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="http_500", path_contains="saveVoucher")

    assert api.get("/CheckAccount").status == 200
    assert api.get("/Voucher").status == 200
    assert api.post("/Voucher/Factory/saveVoucher", voucher_payload()).status == 500
    assert api.post("/Voucher/Factory/saveVoucher", voucher_payload()).status == 201


def test_a_failed_request_changes_nothing(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="http_500", path_contains="saveVoucher")

    api.post("/Voucher/Factory/saveVoucher", voucher_payload())

    assert Voucher.objects.count() == 0


def test_faults_of_one_account_do_not_touch_another(api, sandbox_account):
    other = sandbox_account_create(name="Someone else")
    fault_inject(account=other, kind="http_500", count=5)

    assert api.get("/CheckAccount").status == 200
    assert FaultPlan.objects.get().remaining == 5


def test_a_request_with_a_wrong_token_does_not_use_up_a_fault(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="http_500")

    assert api.get("/CheckAccount", token="f" * 32).status == 401
    assert api.get("/CheckAccount").status == 500


def test_faults_apply_in_the_order_they_were_planned(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="http_429")
    fault_inject(account=sandbox_account, kind="http_500")

    assert [api.get("/Voucher").status for _ in range(3)] == [429, 500, 200]


def test_clearing_faults_ends_them(api, sandbox_account):
    fault_inject(account=sandbox_account, kind="http_500", count=10)

    faults_clear(account=sandbox_account)

    assert api.get("/CheckAccount").status == 200


def test_an_unknown_fault_kind_is_refused(sandbox_account):
    with pytest.raises(ValueError, match="unknown fault kind"):
        fault_inject(account=sandbox_account, kind="http_503")
