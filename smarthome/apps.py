from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmarthomeConfig(AppConfig):
    name = "smarthome"
    verbose_name = _("スマートホーム")

    def ready(self) -> None:
        from myspacecore.core.personal_data import personal_data_holder_register

        from . import checks  # noqa: F401  (registers the start-up checks)
        from .personal_data import SMART_HOME_DATA

        # The data download and the account deletion reach the smart-home settings through this.
        personal_data_holder_register(SMART_HOME_DATA)
