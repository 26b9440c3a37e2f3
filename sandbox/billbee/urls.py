from django.urls import path

from . import api, views

app_name = "billbee"

# No trailing slashes: Billbee's routes have none, and clients build URLs the same way.
urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("api/v1/orders", api.orders_list, name="api_orders"),
    path("api/v1/orders/invoices", api.invoices_list, name="api_invoices"),
    path("api/v1/orders/<int:billbee_id>", api.order_detail, name="api_order"),
    path("api/v1/orders/<int:billbee_id>/tags", api.order_tags, name="api_order_tags"),
    path(
        "api/v1/orders/CreateInvoice/<int:billbee_id>",
        api.create_invoice,
        name="api_create_invoice",
    ),
    path("api/v1/shopaccounts", api.shop_accounts, name="api_shopaccounts"),
    path("api/v1/webhooks", api.webhooks_root, name="api_webhooks"),
    path("api/v1/webhooks/filters", api.webhook_filters, name="api_webhook_filters"),
    path("api/v1/webhooks/<str:webhook_id>", api.webhook_delete, name="api_webhook"),
    path("api/v1/enums/orderstates", api.enum_order_states, name="api_enum_orderstates"),
    path("api/v1/enums/paymenttypes", api.enum_payment_types, name="api_enum_paymenttypes"),
]
