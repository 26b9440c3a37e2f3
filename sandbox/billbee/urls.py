app_name = "billbee"

urlpatterns = []
