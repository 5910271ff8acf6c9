from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("アカウント")

    def ready(self) -> None:
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401  (registers the start-up checks)
        from .last_login import last_login_record

        # The same write as Django's receiver, in plain SQL (accounts/last_login.py); only where
        # Django registered its own (django.contrib.auth comes first in INSTALLED_APPS).
        if user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login"):
            user_logged_in.connect(last_login_record, dispatch_uid="accounts.last_login_record")
