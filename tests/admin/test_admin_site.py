"""The admin site refuses to start with a ModelAdmin that is not operator-scoped."""

from __future__ import annotations

from django.contrib import admin

from myspacecore.console.site import OperatorAdminSite
from myspacecore.tenancy.models import Lease, Unit
from myspacecore.tenancy.scoped_admin import OperatorScopedAdminMixin


def test_an_unscoped_model_admin_is_a_startup_error():
    site = OperatorAdminSite(name="check-only")
    site.register(Unit, admin.ModelAdmin)

    class ScopedLeaseAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
        pass

    site.register(Lease, ScopedLeaseAdmin)
    errors = [error for error in site.check(None) if error.id == "accounts.E101"]
    assert [error.obj.__name__ for error in errors] == ["ModelAdmin"]
    assert "tenancy.Unit" in errors[0].msg


def test_the_default_site_is_the_operator_console():
    assert isinstance(admin.site, OperatorAdminSite)
    assert not [error for error in admin.site.check(None) if error.id == "accounts.E101"]
