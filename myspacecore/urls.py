from django.contrib import admin
from django.urls import include, path

from accounts.views.language import language_switch

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("text-size/", views.text_size, name="text_size"),
    # Django's set_language, which also keeps a signed-in resident's choice on the account.
    path("i18n/setlang/", language_switch, name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("smarthome.urls")),
    path("", include("myspacecore.help.urls")),
]

# A lost database connection raised by a middleware (session, signed-in user) gets the outage
# page, not the 500 page (myspacecore.core.database_outage).
handler500 = "myspacecore.core.database_outage.server_error"
