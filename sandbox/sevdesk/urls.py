app_name = "sevdesk"

urlpatterns = []
