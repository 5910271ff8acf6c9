from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "myspacecore.tenancy"
    label = "tenancy"
    verbose_name = _("事業者と入居者名簿")
