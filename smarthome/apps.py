from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmarthomeConfig(AppConfig):
    name = "smarthome"
    verbose_name = _("スマートホーム")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the start-up checks)
