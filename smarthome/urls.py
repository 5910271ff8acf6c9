from django.urls import path

from . import views

app_name = "smarthome"

urlpatterns = [
    path("mypage/smarthome/", views.device_list, name="device_list"),
    path("mypage/smarthome/devices/<int:device_id>/", views.device_detail, name="device_detail"),
    path(
        "mypage/smarthome/devices/<int:device_id>/remotes/add/",
        views.remote_setting_create,
        name="remote_setting_create",
    ),
    path(
        "mypage/smarthome/remotes/<int:remote_setting_id>/edit/",
        views.remote_setting_update,
        name="remote_setting_update",
    ),
    path(
        "mypage/smarthome/remotes/<int:remote_setting_id>/delete/",
        views.remote_setting_delete,
        name="remote_setting_delete",
    ),
    path("mypage/smarthome/devices/<int:device_id>/pins/add/", views.pin_code_create, name="pin_code_create"),
    path("mypage/smarthome/pins/<int:pin_code_id>/edit/", views.pin_code_update, name="pin_code_update"),
    path("mypage/smarthome/pins/<int:pin_code_id>/delete/", views.pin_code_delete, name="pin_code_delete"),
]
