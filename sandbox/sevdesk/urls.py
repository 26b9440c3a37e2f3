from django.urls import path, re_path

from . import api, views

app_name = "sevdesk"

API = "api/v1/"

urlpatterns = [
    path("", views.voucher_list, name="voucher_list"),
    path("vouchers/<int:pk>/file/", views.voucher_file, name="voucher_file"),
    path(
        API + "Tools/bookkeepingSystemVersion",
        api.endpoint(get=api.bookkeeping_system_version),
        name="api_bookkeeping_system_version",
    ),
    path(API + "CheckAccount", api.endpoint(get=api.check_account_list), name="api_check_accounts"),
    path(
        API + "CheckAccount/Factory/clearingAccount",
        api.endpoint(post=api.clearing_account_create),
        name="api_clearing_account",
    ),
    path(
        API + "Contact",
        api.endpoint(get=api.contact_list, post=api.contact_create),
        name="api_contacts",
    ),
    path(
        API + "ContactAddress",
        api.endpoint(post=api.contact_address_create),
        name="api_contact_addresses",
    ),
    path(
        API + "CommunicationWay",
        api.endpoint(post=api.communication_way_create),
        name="api_communication_ways",
    ),
    path(API + "StaticCountry", api.endpoint(get=api.static_country_list), name="api_countries"),
    path(
        API + "CommunicationWayKey",
        api.endpoint(get=api.communication_way_key_list),
        name="api_communication_way_keys",
    ),
    path(
        API + "Voucher/Factory/uploadTempFile",
        api.endpoint(post=api.upload_temp_file),
        name="api_upload_temp_file",
    ),
    path(
        API + "Voucher/Factory/saveVoucher",
        api.endpoint(post=api.save_voucher),
        name="api_save_voucher",
    ),
    path(API + "Voucher", api.endpoint(get=api.voucher_list), name="api_vouchers"),
    path(
        API + "Voucher/<int:voucher_id>",
        api.endpoint(get=api.voucher_detail),
        name="api_voucher",
    ),
    path(
        API + "Voucher/<int:voucher_id>/bookAmount",
        api.endpoint(put=api.voucher_book_amount),
        name="api_voucher_book_amount",
    ),
    path(
        API + "ReceiptGuidance/forRevenue",
        api.endpoint(get=api.receipt_guidance_for_revenue),
        name="api_guidance_for_revenue",
    ),
    path(
        API + "ReceiptGuidance/forTaxRule",
        api.endpoint(get=api.receipt_guidance_for_tax_rule),
        name="api_guidance_for_tax_rule",
    ),
    re_path(
        r"^api/v1/.*$",
        api.endpoint(
            **dict.fromkeys(["get", "post", "put", "delete", "patch"], api.unknown_resource)
        ),
        name="api_unknown",
    ),
]
