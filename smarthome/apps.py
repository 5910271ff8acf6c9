from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmarthomeConfig(AppConfig):
    name = "smarthome"
    verbose_name = _("スマートホーム")
