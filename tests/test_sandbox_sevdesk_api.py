"""The sandbox sevDesk API: sevDesk's answers, shapes and refusals, endpoint by endpoint.

Every answer is checked against sevDesk's spec by `SandboxApi` (see the support module).
"""

import datetime
import hashlib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from connections.sevdesk_client import SevdeskClient
from sandbox.sevdesk.models import CheckAccount, TempFile, Voucher, VoucherPayment
from sandbox.sevdesk.services import sandbox_account_create
from tests import sandbox_sevdesk_support as support
from tests.sandbox_sevdesk_support import (
    SandboxApi,
    offline_account,
    pdf_bytes,
    position,
    revenue_account,
    save_voucher,
    voucher_payload,
)

# The shared fixtures, made visible to pytest in this module.
sandbox_account = support.sandbox_account
api = support.api

EVERY_ENDPOINT = [
    ("get", "/Tools/bookkeepingSystemVersion"),
    ("get", "/CheckAccount"),
    ("post", "/CheckAccount/Factory/clearingAccount"),
    ("get", "/Contact"),
    ("post", "/Contact"),
    ("post", "/ContactAddress"),
    ("post", "/CommunicationWay"),
    ("get", "/StaticCountry"),
    ("get", "/CommunicationWayKey"),
    ("post", "/Voucher/Factory/uploadTempFile"),
    ("post", "/Voucher/Factory/saveVoucher"),
    ("get", "/Voucher"),
    ("get", "/Voucher/1"),
    ("put", "/Voucher/1/bookAmount"),
    ("get", "/ReceiptGuidance/forRevenue"),
    ("get", "/ReceiptGuidance/forTaxRule?taxRule=1"),
]


def call(api: SandboxApi, method: str, path: str, **kwargs):
    if method == "get":
        return api.get(path, **kwargs)
    return getattr(api, method)(path, {}, **kwargs)


# --- Token check ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), EVERY_ENDPOINT)
def test_a_request_without_token_is_refused_with_authentication_required(api, method, path):
    answer = call(api, method, path, token=None)

    assert answer.status == 401
    assert answer.error_message == "Authentication required"


@pytest.mark.parametrize(("method", "path"), EVERY_ENDPOINT)
def test_a_request_with_an_unknown_token_is_refused(api, method, path):
    answer = call(api, method, path, token="0123456789abcdef0123456789abcdef")

    assert answer.status == 401
    assert answer.error_message == "Authentication required"


def test_the_token_as_query_parameter_is_no_longer_accepted(api):
    answer = api.get("/CheckAccount", {"token": api.token}, token=None)

    assert answer.status == 401


def test_a_valid_token_in_the_authorization_header_is_accepted(api):
    assert api.get("/CheckAccount").status == 200


def test_an_unknown_resource_answers_404_in_sevdesks_error_shape(api):
    answer = api.get("/Invoice", check_spec=False)

    assert answer.status == 404
    assert answer.json["error"]["message"]


def test_a_method_the_resource_does_not_offer_answers_405(api):
    answer = api.post("/CheckAccount", {}, check_spec=False)

    assert answer.status == 405


# --- Basics and check accounts -------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_bookkeeping_system_version_is_the_accounts_version(client, db, version):
    account = sandbox_account_create(name="Shop", bookkeeping_version=version)

    answer = SandboxApi(client, account.token).get("/Tools/bookkeepingSystemVersion")

    assert answer.objects == {"version": version}


def test_a_new_account_has_a_bank_account_and_a_paypal_clearing_account(api):
    answer = api.get("/CheckAccount")

    by_name = {item["name"]: item for item in answer.objects}
    assert by_name["Geschäftskonto"]["type"] == "online"
    assert by_name["Geschäftskonto"]["defaultAccount"] == "1"
    assert by_name["Verrechnungskonto PayPal"]["type"] == "offline"
    assert by_name["Verrechnungskonto PayPal"]["status"] == "100"
    assert all(isinstance(item["id"], str) for item in answer.objects)


def test_check_accounts_of_other_accounts_are_not_listed(api, db):
    sandbox_account_create(name="Someone else")

    assert len(api.get("/CheckAccount").objects) == 2


def test_creating_a_clearing_account_makes_an_offline_account(api, sandbox_account):
    answer = api.post(
        "/CheckAccount/Factory/clearingAccount",
        {"name": "PayPal (Billbee)", "accountingNumber": 1361},
    )

    assert answer.status == 201
    assert answer.objects["type"] == "offline"
    assert answer.objects["accountingNumber"] == "1361"
    created = CheckAccount.objects.get(pk=answer.objects["id"])
    assert (created.account, created.name) == (sandbox_account, "PayPal (Billbee)")


def test_a_clearing_account_with_a_used_accounting_number_is_refused(api):
    api.post("/CheckAccount/Factory/clearingAccount", {"name": "A", "accountingNumber": 1361})

    answer = api.post(
        "/CheckAccount/Factory/clearingAccount", {"name": "B", "accountingNumber": 1361}
    )

    assert answer.status == 422
    assert "1361" in answer.error_message
    assert CheckAccount.objects.filter(name="B").count() == 0


def test_a_clearing_account_without_number_gets_a_free_one(api):
    answer = api.post("/CheckAccount/Factory/clearingAccount", {"name": "Amazon Pay"})

    assert answer.status == 201
    numbers = [item["accountingNumber"] for item in api.get("/CheckAccount").objects]
    assert len(numbers) == len(set(numbers)) == 3


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": 12}, {"name": "X", "accountingNumber": "abc"}],
    ids=["no name", "empty name", "name not text", "number not integer"],
)
def test_a_malformed_clearing_account_is_refused(api, body):
    answer = api.post("/CheckAccount/Factory/clearingAccount", body)

    assert answer.status == 400
    assert CheckAccount.objects.count() == 2


# --- Contacts ------------------------------------------------------------------------------

CUSTOMER = {"id": 3, "objectName": "Category"}


def create_contact(api, **fields) -> dict:
    answer = api.post("/Contact", {"category": CUSTOMER} | fields)
    assert answer.status == 201, answer
    return answer.objects


def test_a_contact_is_created_with_its_fields(api):
    contact = create_contact(
        api, name="Firma GmbH", customerNumber="K-1001", vatNumber="DE123456789"
    )

    assert contact["objectName"] == "Contact"
    assert contact["name"] == "Firma GmbH"
    assert contact["customerNumber"] == "K-1001"
    assert contact["category"] == {"id": "3", "objectName": "Category"}


def test_without_depth_only_organisations_are_listed(api):
    create_contact(api, name="Firma GmbH", customerNumber="K-1")
    create_contact(api, surename="Erika", familyname="Mustermann", customerNumber="K-2")

    answer = api.get("/Contact")

    assert [item["customerNumber"] for item in answer.objects] == ["K-1"]


def test_with_depth_1_persons_are_listed_too(api):
    create_contact(api, name="Firma GmbH", customerNumber="K-1")
    create_contact(api, surename="Erika", familyname="Mustermann", customerNumber="K-2")

    answer = api.get("/Contact", {"depth": "1"})

    assert [item["customerNumber"] for item in answer.objects] == ["K-1", "K-2"]


def test_a_person_is_not_found_by_customer_number_without_depth(api):
    create_contact(api, surename="Erika", familyname="Mustermann", customerNumber="K-2")

    assert api.get("/Contact", {"customerNumber": "K-2"}).objects == []
    found = api.get("/Contact", {"customerNumber": "K-2", "depth": "1"}).objects
    assert [item["familyname"] for item in found] == ["Mustermann"]


def test_contacts_are_filtered_by_name_in_name_surename_or_familyname(api):
    create_contact(api, name="Mustermann Bau GmbH")
    create_contact(api, surename="Erika", familyname="Mustermann")
    create_contact(api, surename="Max", familyname="Meier")

    found = api.get("/Contact", {"name": "mustermann", "depth": "1"}).objects

    assert len(found) == 2


@pytest.mark.parametrize(
    "body",
    [{"name": "Firma GmbH"}, {"category": CUSTOMER}, {"category": "3", "name": "X"}],
    ids=["no category", "no name at all", "category not an object"],
)
def test_a_malformed_contact_is_refused(api, body):
    assert api.post("/Contact", body).status == 400


def test_an_address_is_added_to_a_contact(api):
    contact = create_contact(api, name="Firma GmbH")

    answer = api.post(
        "/ContactAddress",
        {
            "contact": {"id": int(contact["id"]), "objectName": "Contact"},
            "street": "Hauptstr. 1",
            "zip": "10115",
            "city": "Berlin",
            "country": {"id": 1, "objectName": "StaticCountry"},
            "category": None,
        },
    )

    assert answer.status == 201
    assert answer.objects["contact"] == {"id": contact["id"], "objectName": "Contact"}
    assert answer.objects["country"] == {"id": "1", "objectName": "StaticCountry"}
    assert answer.objects["city"] == "Berlin"


@pytest.mark.parametrize(
    ("contact_id", "country_id", "status"),
    [(999, 1, 422), (None, 999, 422)],
    ids=["unknown contact", "unknown country"],
)
def test_an_address_referring_to_unknown_things_is_refused(api, contact_id, country_id, status):
    contact = create_contact(api, name="Firma GmbH")
    body = {
        "contact": {"id": contact_id or int(contact["id"]), "objectName": "Contact"},
        "country": {"id": country_id, "objectName": "StaticCountry"},
    }

    assert api.post("/ContactAddress", body).status == status


def test_an_address_without_country_is_refused(api):
    contact = create_contact(api, name="Firma GmbH")
    body = {"contact": {"id": int(contact["id"]), "objectName": "Contact"}, "city": "Berlin"}

    assert api.post("/ContactAddress", body).status == 400


def test_an_email_address_is_added_to_a_contact(api):
    contact = create_contact(api, surename="Erika", familyname="Mustermann")

    answer = api.post(
        "/CommunicationWay",
        {
            "contact": {"id": int(contact["id"]), "objectName": "Contact"},
            "type": "EMAIL",
            "value": "erika@example.com",
            "key": {"id": 2, "objectName": "CommunicationWayKey"},
            "main": True,
        },
    )

    assert answer.status == 201
    assert answer.objects["value"] == "erika@example.com"
    assert answer.objects["key"] == {"id": "2", "objectName": "CommunicationWayKey"}
    assert answer.objects["main"] == "1"


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"type": "FAX"}, 400),
        ({"value": ""}, 400),
        ({"key": {"id": 99, "objectName": "CommunicationWayKey"}}, 422),
        ({"contact": {"id": 999, "objectName": "Contact"}}, 422),
    ],
    ids=["unknown type", "empty value", "unknown key", "unknown contact"],
)
def test_a_wrong_communication_way_is_refused(api, changes, status):
    contact = create_contact(api, name="Firma GmbH")
    body = {
        "contact": {"id": int(contact["id"]), "objectName": "Contact"},
        "type": "EMAIL",
        "value": "info@example.com",
        "key": {"id": 2, "objectName": "CommunicationWayKey"},
    } | changes

    assert api.post("/CommunicationWay", body).status == status


def test_static_countries_carry_sevdesks_ids_and_iso_codes(api):
    answer = api.get("/StaticCountry", {"limit": 1000})

    codes = {item["code"]: item["id"] for item in answer.objects}
    assert codes["de"] == "1"
    assert {"at", "ch", "fr", "nl", "it", "es", "pl", "be", "us", "gb"} <= set(codes)


def test_communication_way_keys_include_privat_and_arbeit(api):
    answer = api.get("/CommunicationWayKey")

    names = {item["name"]: item["id"] for item in answer.objects}
    assert names["Privat"] == "1"
    assert names["Arbeit"] == "2"


# --- Uploading files -----------------------------------------------------------------------


def upload_pdf(api, pages: int = 1, name: str = "RN-2026-0083.pdf"):
    content = pdf_bytes(pages)
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    return api.upload("/Voucher/Factory/uploadTempFile", upload), content


def test_an_uploaded_pdf_is_kept_under_a_generated_name(api):
    answer, content = upload_pdf(api, pages=2)

    assert answer.status == 201
    objects = answer.objects
    assert re.fullmatch(r"f[0-9a-f]{32}\.pdf", objects["filename"])
    assert objects["mimeType"] == "application/pdf"
    assert objects["pages"] == 2
    assert objects["contentHash"] == hashlib.sha256(content).hexdigest()
    stored = TempFile.objects.get(filename=objects["filename"])
    assert stored.content.name == f"sandbox/sevdesk/{objects['filename']}"
    assert stored.content.read() == content


def test_an_upload_without_file_field_is_refused(api):
    answer = api.post("/Voucher/Factory/uploadTempFile", {})

    assert answer.status == 400
    assert TempFile.objects.count() == 0


# --- Saving vouchers -----------------------------------------------------------------------


def test_a_saved_voucher_has_its_sums_computed_from_the_positions(api):
    answer = api.post(
        "/Voucher/Factory/saveVoucher",
        voucher_payload(
            positions=[
                position(gross="119.00"),
                position(account_number="4300", rate=7, gross="10.70"),
            ]
        ),
    )

    assert answer.status == 201
    voucher = answer.objects["voucher"]
    assert isinstance(voucher["id"], str)
    assert (voucher["sumNet"], voucher["sumTax"], voucher["sumGross"]) == (
        "110.00",
        "19.70",
        "129.70",
    )
    assert voucher["status"] == "100"
    assert voucher["taxRule"] == {"id": "1", "objectName": "TaxRule"}
    assert [item["sumNet"] for item in answer.objects["voucherPos"]] == ["100.00", "10.00"]


def test_a_net_based_position_derives_tax_and_gross_rounding_half_up(api):
    net_position = position(net=True, sumNet=10.05)
    del net_position["sumGross"]

    voucher = save_voucher(api, positions=[net_position])

    # 10.05 * 19 % = 1.9095 → 1.91
    assert (voucher["sumTax"], voucher["sumGross"]) == ("1.91", "11.96")


def test_a_voucher_keeps_the_uploaded_file(api):
    uploaded, _ = upload_pdf(api)
    filename = uploaded.objects["filename"]

    voucher = save_voucher(api, filename=filename)

    assert Voucher.objects.get(pk=voucher["id"]).file.filename == filename
    assert voucher["document"]["objectName"] == "Document"


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2026-11-02T00:00:00+01:00", "2026-11-02"),
        ("2026-11-01T23:00:00+00:00", "2026-11-02"),
        ("2026-11-02T00:00:00+00:00", "2026-11-02"),
        ("02.11.2026", "2026-11-02"),
        ("2026-11-02", "2026-11-02"),
        (1793574000, "2026-11-02"),
    ],
    ids=["berlin midnight", "utc evening before", "utc midnight", "german", "iso date", "unix"],
)
def test_the_voucher_date_is_the_day_it_names_in_germany(api, value, day):
    voucher = save_voucher(api, voucherDate=value)

    assert str(Voucher.objects.get(pk=voucher["id"]).voucher_date) == day
    assert voucher["voucherDate"] == f"{day}T00:00:00+01:00"


def test_a_voucher_for_a_contact_refers_to_it(api):
    contact = create_contact(api, name="Firma GmbH")

    voucher = save_voucher(
        api, supplier={"id": int(contact["id"]), "objectName": "Contact"}, supplierName=None
    )

    assert voucher["supplier"] == {"id": contact["id"], "objectName": "Contact"}


def without(key):
    return {key: ...}


MALFORMED_VOUCHERS = {
    "no voucher": {"voucher": None},
    "no status": {"voucher": without("status")},
    "status paid": {"voucher": {"status": 1000}},
    "status text": {"voucher": {"status": "open"}},
    "unknown creditDebit": {"voucher": {"creditDebit": "X"}},
    "unknown voucherType": {"voucher": {"voucherType": "INV"}},
    "no taxRule": {"voucher": without("taxRule")},
    "taxType on 2.0": {"voucher": {"taxType": "default"}},
    "no voucherDate": {"voucher": without("voucherDate")},
    "unreadable voucherDate": {"voucher": {"voucherDate": "next tuesday"}},
    "no supplier at all": {"voucher": without("supplierName")},
    "no objectName": {"voucher": without("objectName")},
    "no positions": {"positions": []},
    "voucherPos instead of voucherPosSave": {"rename_positions": True},
    "sum not a number": {"positions": [{"sumGross": "viel"}]},
    "no accountDatev": {"positions": [{"accountDatev": None}]},
    "net and gross mixed": {"positions": [{}, {"net": True, "sumNet": 10}]},
    "no taxRate": {"positions": [{"taxRate": None}]},
}


def malformed_body(case: dict) -> dict:
    voucher_changes = case.get("voucher", {})
    positions = [position() | changes for changes in case.get("positions", [{}])]
    body = voucher_payload(positions=positions, **(voucher_changes or {}))
    if case.get("voucher", "") is None:
        del body["voucher"]
    if case.get("rename_positions"):
        body["voucherPos"] = body.pop("voucherPosSave")
    return body


@pytest.mark.parametrize("case", MALFORMED_VOUCHERS.values(), ids=MALFORMED_VOUCHERS.keys())
def test_a_malformed_voucher_is_refused_with_400(api, case):
    answer = api.post("/Voucher/Factory/saveVoucher", malformed_body(case))

    assert answer.status == 400, answer
    assert Voucher.objects.count() == 0


def test_a_body_that_is_not_json_is_refused(api):
    answer = api.post("/Voucher/Factory/saveVoucher", "voucher=1")

    assert answer.status == 400


REFUSED_REFERENCES = {
    "unknown tax rule": ({"taxRule": {"id": "99", "objectName": "TaxRule"}}, None, "TaxRule"),
    "unknown accountDatev": (
        {},
        {"accountDatev": {"id": 4400, "objectName": "AccountDatev"}},
        "AccountDatev",
    ),
    "rate not allowed on the account": ({}, {"taxRate": 7}, "Tax rate 7"),
    "rule not allowed on the account": (
        {"taxRule": {"id": "3", "objectName": "TaxRule"}},
        None,
        "TaxRule 3",
    ),
    "unknown temp file": ({"filename": "f0000.pdf"}, None, "f0000.pdf"),
    "unknown supplier": ({"supplier": {"id": 999, "objectName": "Contact"}}, None, "Contact"),
    "revenue account on an expense": ({"creditDebit": "C"}, None, "revenue account"),
    "small-business account on a regular account": (
        {"taxRule": {"id": "11", "objectName": "TaxRule"}},
        {"accountDatev": "4185", "taxRate": 0},
        "not available",
    ),
}


@pytest.mark.parametrize(
    ("voucher_changes", "position_changes", "message"),
    REFUSED_REFERENCES.values(),
    ids=REFUSED_REFERENCES.keys(),
)
def test_a_voucher_with_references_sevdesk_does_not_allow_is_refused_with_422(
    api, voucher_changes, position_changes, message
):
    voucher_changes, changes = dict(voucher_changes), dict(position_changes or {})
    if changes.get("accountDatev") == "4185":
        changes["accountDatev"] = {
            "id": revenue_account("4185").account_datev_id,
            "objectName": "AccountDatev",
        }
    filename = voucher_changes.pop("filename", None) if voucher_changes else None
    body = voucher_payload(positions=[position() | changes], filename=filename, **voucher_changes)

    answer = api.post("/Voucher/Factory/saveVoucher", body)

    assert answer.status == 422, answer
    assert message in answer.error_message
    assert answer.json["error"]["exceptionUUID"]
    assert Voucher.objects.count() == 0


def test_a_small_business_books_revenue_with_rule_11_at_rate_0(client, db):
    account = sandbox_account_create(name="Kleinunternehmerin", small_business=True)
    small_api = SandboxApi(client, account.token)

    voucher = save_voucher(
        small_api,
        taxRule={"id": "11", "objectName": "TaxRule"},
        positions=[position(account_number="4185", rate=0, gross="50.00")],
    )

    assert (voucher["sumTax"], voucher["sumGross"]) == ("0.00", "50.00")


def test_a_small_business_cannot_charge_vat(client, db):
    account = sandbox_account_create(name="Kleinunternehmerin", small_business=True)
    small_api = SandboxApi(client, account.token)

    answer = small_api.post("/Voucher/Factory/saveVoucher", voucher_payload())

    assert answer.status == 422


def bookkeeping_1_payload(**changes) -> dict:
    body = voucher_payload(taxRule=..., taxType="default")
    body["voucherPosSave"][0].pop("accountDatev")
    body["voucherPosSave"][0]["accountingType"] = {
        "id": revenue_account("4400").accounting_type_id,
        "objectName": "AccountingType",
    }
    body["voucherPosSave"][0] |= changes
    return body


def test_a_bookkeeping_1_account_takes_tax_type_and_accounting_type(client, db):
    account = sandbox_account_create(name="Altkunde", bookkeeping_version="1.0")
    old_api = SandboxApi(client, account.token)

    answer = old_api.post("/Voucher/Factory/saveVoucher", bookkeeping_1_payload())

    assert answer.status == 201
    assert answer.objects["voucher"]["taxType"] == "default"
    assert "taxRule" not in answer.objects["voucher"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (voucher_payload, 400),
        (
            lambda: bookkeeping_1_payload(accountingType={"id": 1, "objectName": "AccountingType"}),
            422,
        ),
        (lambda: bookkeeping_1_payload(taxRate=16), 422),
    ],
    ids=["2.0 fields", "unknown accounting type", "rate not allowed for the tax type"],
)
def test_a_bookkeeping_1_account_refuses_what_it_does_not_know(client, db, body, status):
    account = sandbox_account_create(name="Altkunde", bookkeeping_version="1.0")
    old_api = SandboxApi(client, account.token)

    answer = old_api.post("/Voucher/Factory/saveVoucher", body())

    assert answer.status == status


# --- Changing vouchers ---------------------------------------------------------------------


def test_a_draft_voucher_can_be_completed_with_new_positions(api):
    draft = save_voucher(api, status=50)
    first_position = Voucher.objects.get(pk=draft["id"]).positions.get()

    body = voucher_payload(id=int(draft["id"]), positions=[position(gross="238.00")])
    body["voucherPosDelete"] = [{"id": first_position.pk, "objectName": "VoucherPos"}]
    answer = api.post("/Voucher/Factory/saveVoucher", body)

    assert answer.status == 201
    assert answer.objects["voucher"]["id"] == draft["id"]
    assert answer.objects["voucher"]["sumGross"] == "238.00"
    assert answer.objects["voucher"]["status"] == "100"
    assert Voucher.objects.count() == 1


def test_an_open_voucher_can_no_longer_be_changed(api):
    voucher = save_voucher(api)

    answer = api.post(
        "/Voucher/Factory/saveVoucher",
        voucher_payload(id=int(voucher["id"]), description="RN-CHANGED"),
    )

    assert answer.status == 400
    assert answer.error_message == "You can only update draft documents"
    assert Voucher.objects.get().description == "RN-2026-0083"


def test_a_paid_voucher_can_no_longer_be_changed(api, sandbox_account):
    voucher = save_voucher(api)
    book(api, voucher["id"], amount=119.00, check_account=offline_account(sandbox_account))

    answer = api.post(
        "/Voucher/Factory/saveVoucher", voucher_payload(id=int(voucher["id"]), status=50)
    )

    assert answer.status == 400
    assert answer.error_message == "You can only update draft documents"
    assert Voucher.objects.get().status == Voucher.Status.PAID


def test_changing_an_unknown_voucher_answers_404(api):
    answer = api.post("/Voucher/Factory/saveVoucher", voucher_payload(id=4711))

    assert answer.status == 404


# --- Finding vouchers ----------------------------------------------------------------------


def descriptions(answer) -> list[str]:
    return [item["description"] for item in answer.objects]


def test_description_like_is_a_substring_match(api):
    for description in ["RN-1", "RN-10", "RN-100", "RN-2", "XRN-1X"]:
        save_voucher(api, description=description)

    answer = api.get("/Voucher", {"descriptionLike": "RN-1"})

    assert descriptions(answer) == ["RN-1", "RN-10", "RN-100", "XRN-1X"]


def test_vouchers_are_filtered_by_credit_debit_and_status(api):
    save_voucher(api, description="open")
    save_voucher(api, description="draft", status=50)

    assert descriptions(api.get("/Voucher", {"status": 50})) == ["draft"]
    assert descriptions(api.get("/Voucher", {"status": 100, "creditDebit": "D"})) == ["open"]
    assert descriptions(api.get("/Voucher", {"creditDebit": "C"})) == []


def test_vouchers_are_filtered_by_voucher_date_between_unix_timestamps(api):
    save_voucher(api, description="Oktober", voucherDate="31.10.2026")
    save_voucher(api, description="November", voucherDate="02.11.2026")

    # 2026-11-01 00:00 and 2026-11-30 23:59:59 Berlin
    answer = api.get("/Voucher", {"startDate": 1793487600, "endDate": 1796079599})

    assert descriptions(answer) == ["November"]


def test_vouchers_are_filtered_by_contact(api):
    contact = create_contact(api, name="Firma GmbH")
    save_voucher(
        api, description="für Firma", supplier={"id": int(contact["id"]), "objectName": "Contact"}
    )
    save_voucher(api, description="ohne Kontakt")

    answer = api.get("/Voucher", {"contact[id]": contact["id"], "contact[objectName]": "Contact"})

    assert descriptions(answer) == ["für Firma"]


def test_voucher_lists_are_paged_and_counted(api):
    for number in range(5):
        save_voucher(api, description=f"RN-{number}")

    answer = api.get("/Voucher", {"limit": 2, "offset": 1, "countAll": "true"})

    assert descriptions(answer) == ["RN-1", "RN-2"]
    assert answer.json["total"] == "5"


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"status": 7}, {"startDate": "gestern"}],
    ids=["limit 0", "limit over 1000", "unknown status", "date not a timestamp"],
)
def test_a_voucher_list_with_wrong_parameters_is_refused(api, params):
    assert api.get("/Voucher", params).status == 400


def test_another_accounts_vouchers_are_invisible(api, client, db):
    save_voucher(api, description="RN-mine")
    other = sandbox_account_create(name="Someone else")
    other_api = SandboxApi(client, other.token)
    voucher_id = Voucher.objects.get().pk

    assert other_api.get("/Voucher").objects == []
    assert other_api.get(f"/Voucher/{voucher_id}").status == 404


def test_a_voucher_is_read_by_id(api):
    voucher = save_voucher(api)

    answer = api.get(f"/Voucher/{voucher['id']}")

    assert [item["id"] for item in answer.objects] == [voucher["id"]]
    assert answer.objects[0]["sumGross"] == "119.00"


def test_an_unknown_voucher_id_answers_404(api):
    answer = api.get("/Voucher/4711")

    assert answer.status == 404
    assert "4711" in answer.error_message


# --- Booking payments ----------------------------------------------------------------------


def book(api, voucher_id, *, check_account, amount=119.00, **changes):
    body = {
        "amount": amount,
        "date": "2026-11-02T00:00:00+01:00",
        "type": "FULL_PAYMENT",
        "checkAccount": {"id": check_account.pk, "objectName": "CheckAccount"},
        "createFeed": True,
    } | changes
    return api.put(f"/Voucher/{voucher_id}/bookAmount", body)


def test_booking_the_full_amount_marks_the_voucher_paid(api, sandbox_account):
    voucher = save_voucher(api)
    check_account = offline_account(sandbox_account)

    answer = book(api, voucher["id"], amount=119.00, check_account=check_account)

    assert answer.status == 200
    assert (answer.objects["fromStatus"], answer.objects["toStatus"]) == ("100", "1000")
    stored = Voucher.objects.get(pk=voucher["id"])
    assert (stored.status, str(stored.paid_amount), str(stored.pay_date)) == (
        1000,
        "119.00",
        "2026-11-02",
    )
    payment = VoucherPayment.objects.get()
    assert (payment.check_account, str(payment.amount), payment.type) == (
        check_account,
        "119.00",
        "FULL_PAYMENT",
    )
    assert api.get(f"/Voucher/{voucher['id']}").objects[0]["status"] == "1000"


def test_a_partial_payment_leaves_the_voucher_open_until_the_rest_arrives(api, sandbox_account):
    voucher = save_voucher(api)
    check_account = offline_account(sandbox_account)

    answer = book(api, voucher["id"], amount=100.00, check_account=check_account, type="N")
    assert (answer.objects["fromStatus"], answer.objects["toStatus"]) == ("100", "750")
    assert Voucher.objects.get().status == Voucher.Status.PARTIALLY_PAID
    assert api.get(f"/Voucher/{voucher['id']}").objects[0]["status"] == "750"
    book(api, voucher["id"], amount=19.00, check_account=check_account, type="N")

    assert Voucher.objects.get().status == Voucher.Status.PAID
    assert VoucherPayment.objects.count() == 2


def test_more_than_the_open_amount_cannot_be_booked(api, sandbox_account):
    voucher = save_voucher(api)
    check_account = offline_account(sandbox_account)
    book(api, voucher["id"], amount=100.00, check_account=check_account, type="N")

    answer = book(api, voucher["id"], amount=19.01, check_account=check_account)

    assert answer.status == 400
    assert "open amount" in answer.error_message
    assert Voucher.objects.get().status == Voucher.Status.PARTIALLY_PAID


def test_a_part_booked_as_full_payment_pays_the_voucher_but_shows_the_difference(
    api, sandbox_account
):
    # FULL_PAYMENT consumes the whole remaining amount (sevdesk-api.md): the voucher is paid,
    # and its paid amount shows that only 100.00 of 119.00 arrived
    voucher = save_voucher(api)

    book(api, voucher["id"], amount=100.00, check_account=offline_account(sandbox_account))

    shown = api.get(f"/Voucher/{voucher['id']}").objects[0]
    assert (shown["status"], shown["paidAmount"], shown["sumGross"]) == ("1000", 100.0, "119.00")


def test_a_revenue_voucher_booked_with_a_negative_amount_stays_partially_paid(api, sandbox_account):
    voucher = save_voucher(api)

    answer = book(
        api, voucher["id"], amount=-119.00, check_account=offline_account(sandbox_account)
    )

    assert answer.status == 200
    assert Voucher.objects.get().status == Voucher.Status.PARTIALLY_PAID


def test_a_paid_voucher_cannot_be_paid_again(api, sandbox_account):
    voucher = save_voucher(api)
    check_account = offline_account(sandbox_account)
    book(api, voucher["id"], amount=119.00, check_account=check_account)

    answer = book(api, voucher["id"], amount=119.00, check_account=check_account)

    assert answer.status == 400
    assert VoucherPayment.objects.count() == 1


def test_a_draft_voucher_cannot_be_booked(api, sandbox_account):
    voucher = save_voucher(api, status=50)

    answer = book(api, voucher["id"], amount=119.00, check_account=offline_account(sandbox_account))

    assert answer.status == 400


def test_a_payment_to_an_unknown_or_foreign_check_account_is_refused(api, sandbox_account):
    voucher = save_voucher(api)
    foreign = offline_account(sandbox_account_create(name="Someone else"))

    answer = book(api, voucher["id"], amount=119.00, check_account=foreign)

    assert answer.status == 400
    assert "CheckAccount" in answer.error_message
    assert VoucherPayment.objects.count() == 0


def test_a_payment_to_an_archived_check_account_is_refused(api, sandbox_account):
    voucher = save_voucher(api)
    archived = offline_account(sandbox_account)
    archived.status = CheckAccount.Status.ARCHIVED
    archived.save()

    assert book(api, voucher["id"], amount=119.00, check_account=archived).status == 400


@pytest.mark.parametrize(
    "changes",
    [{"amount": None}, {"amount": 0}, {"date": None}, {"type": "BAR"}, {"checkAccount": None}],
    ids=["no amount", "zero amount", "no date", "unknown type", "no check account"],
)
def test_a_malformed_payment_is_refused(api, sandbox_account, changes):
    voucher = save_voucher(api)

    answer = book(api, voucher["id"], check_account=offline_account(sandbox_account), **changes)

    assert answer.status == 400
    assert VoucherPayment.objects.count() == 0


def test_booking_on_an_unknown_voucher_answers_404(api, sandbox_account):
    answer = book(api, 4711, amount=1.00, check_account=offline_account(sandbox_account))

    assert answer.status == 404


# --- Receipt guidance ----------------------------------------------------------------------


def guidance_by_number(answer) -> dict:
    return {item["accountNumber"]: item for item in answer.objects}


def test_revenue_guidance_lists_the_skr04_revenue_accounts_with_their_rules(api):
    accounts = guidance_by_number(api.get("/ReceiptGuidance/forRevenue"))

    assert set(accounts) == {"4400", "4300", "4125", "4120", "4320", "4338", "4200"}
    assert accounts["4400"]["allowedTaxRules"][0]["id"] == 1
    assert accounts["4400"]["allowedTaxRules"][0]["taxRates"] == ["NINETEEN"]
    assert accounts["4125"]["allowedTaxRules"][0]["id"] == 3
    assert accounts["4400"]["accountDatevId"] == revenue_account("4400").account_datev_id


def test_revenue_guidance_of_a_small_business_offers_rule_11_at_rate_0(client, db):
    account = sandbox_account_create(name="Kleinunternehmerin", small_business=True)

    answer = SandboxApi(client, account.token).get("/ReceiptGuidance/forRevenue")

    [only] = answer.objects
    assert only["accountNumber"] == "4185"
    assert only["allowedTaxRules"] == [
        {
            "id": 11,
            "name": "Steuer nicht erhoben nach §19 UStG",
            "description": "Steuer nicht erhoben nach §19 UStG",
            "taxRates": ["ZERO"],
        }
    ]


def test_guidance_for_a_tax_rule_lists_the_accounts_allowing_it(api):
    answer = api.get("/ReceiptGuidance/forTaxRule", {"taxRule": "3"})

    assert list(guidance_by_number(answer)) == ["4125"]


@pytest.mark.parametrize(("params", "status"), [({}, 400), ({"taxRule": "99"}, 422)])
def test_guidance_for_a_missing_or_unknown_tax_rule_is_refused(api, params, status):
    assert api.get("/ReceiptGuidance/forTaxRule", params).status == status


# --- Paging, dates and the account id (what the export engine's look-ups use) ---------------


def test_vouchers_and_check_accounts_carry_their_accounts_sev_client(api, client, sandbox_account):
    save_voucher(api, description="RN-1")
    other = sandbox_account_create(name="Someone else")
    sev_client = {"id": str(sandbox_account.pk), "objectName": "SevClient"}

    [voucher] = api.get("/Voucher").objects
    check_accounts = api.get("/CheckAccount", {"limit": 1}).objects
    others = SandboxApi(client, other.token).get("/CheckAccount", {"limit": 1}).objects

    assert voucher["sevClient"] == sev_client
    assert [account["sevClient"] for account in check_accounts] == [sev_client]
    assert others[0]["sevClient"]["id"] == str(other.pk) != str(sandbox_account.pk)


def test_vouchers_are_found_by_description_credit_debit_and_date_one_page_at_a_time(api):
    for day in range(1, 6):
        save_voucher(api, description=f"RN-1{day}", voucherDate=f"0{day}.11.2026")
    save_voucher(api, description="RN-19", voucherDate="31.10.2026")  # before the range
    save_voucher(api, description="AB-1", voucherDate="03.11.2026")  # other description
    # 2026-11-01 00:00 and 2026-11-04 23:59:59 Berlin
    query = {"descriptionLike": "RN-1", "creditDebit": "D", "startDate": 1793487600}
    query |= {"endDate": 1793833199, "limit": 2}

    pages = [descriptions(api.get("/Voucher", query | {"offset": o})) for o in (0, 2, 4)]

    assert pages == [["RN-11", "RN-12"], ["RN-13", "RN-14"], []]


@pytest.mark.parametrize(
    "params",
    [
        {"offset": 10**30},
        {"offset": 2**63},
        {"offset": 2**31},
        {"offset": -1},
        {"offset": "zwei"},
        {"offset": "--5"},
        {"limit": 10**30},
        {"limit": "1.5"},
        {"limit": "²"},
        {"contact[id]": 10**30, "contact[objectName]": "Contact"},
        {"startDate": 10**30},
        {"endDate": -5},
    ],
    ids=lambda params: ",".join(f"{key}={str(value)[:12]}" for key, value in params.items()),
)
def test_huge_or_malformed_list_parameters_answer_400_never_500(api, params):
    save_voucher(api, description="RN-1")

    answer = api.get("/Voucher", params)

    assert answer.status == 400, answer
    assert answer.error_message


def test_the_clients_look_ups_work_against_the_sandbox(sandbox_http, sandbox_account, settings):
    # the real client, through the spec-checking adapter, pages and reads the account id
    client = SevdeskClient(
        token=sandbox_account.token,
        base_url=settings.SEVDESK_API_BASE_URL,
        requests_per_second=None,
    )
    api = SandboxApi(sandbox_http.client, sandbox_account.token)
    for number in range(3):
        save_voucher(api, description="RN-7", voucherDate=f"0{number + 1}.11.2026")
    save_voucher(api, description="RN-70", voucherDate="02.11.2026")

    found = client.find_vouchers(
        description="RN-7",
        start_date=datetime.date(2026, 11, 2),
        end_date=datetime.date(2026, 11, 3),
        page_size=1,
    )

    assert [voucher.voucher_date for voucher in found] == [
        datetime.date(2026, 11, 2),
        datetime.date(2026, 11, 3),
    ]
    assert client.sev_client_id() == sandbox_account.pk
    voucher_calls = [r for r in sandbox_http.sent if "/Voucher?" in r.url]
    assert len(voucher_calls) == 4  # RN-7, RN-70, RN-7 and an empty last page, one each
