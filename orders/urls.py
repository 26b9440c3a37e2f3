from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("billbee/", views.billbee_account, name="billbee_account"),
    path("<int:pk>/", views.OrderDetailView.as_view(), name="order_detail"),
    path("<int:pk>/invoice.pdf", views.order_invoice_pdf, name="order_invoice_pdf"),
]
