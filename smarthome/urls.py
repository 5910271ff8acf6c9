app_name = "smarthome"

urlpatterns: list = []
