"""The two staff roles of the operator console, as Django groups with their permissions.

`operator_admin` manages the roster and the operator's staff accounts and reads the
operator's audit log; `operator_staff` reads the roster and handles residents' requests
(phone-number change, ending sessions). Which rows either sees is the scoping
(`myspacecore.tenancy.scoping`), never these permissions.

Migration accounts 0004 made the groups with the labels of its day; this table is today's,
and `operator_roles_sync` brings the groups to it (tests after a flush, a repair by hand).
"""

from __future__ import annotations

from django.apps import apps as django_apps
from django.contrib.auth.management import create_permissions
from django.db import transaction

OPERATOR_ADMIN_GROUP = "operator_admin"
OPERATOR_STAFF_GROUP = "operator_staff"
OPERATOR_GROUPS = (OPERATOR_ADMIN_GROUP, OPERATOR_STAFF_GROUP)

ROLES = {
    OPERATOR_ADMIN_GROUP: [
        "tenancy.view_operator",
        "tenancy.change_operator",
        "tenancy.view_property",
        "tenancy.add_property",
        "tenancy.change_property",
        "tenancy.delete_property",
        "tenancy.view_unit",
        "tenancy.add_unit",
        "tenancy.change_unit",
        "tenancy.delete_unit",
        "tenancy.view_lease",
        "tenancy.add_lease",
        "tenancy.change_lease",
        "tenancy.delete_lease",
        "accounts.view_residentaccount",
        "accounts.change_residentaccount",
        "accounts.view_staffaccount",
        "accounts.add_staffaccount",
        "accounts.change_staffaccount",
        "tenancy.view_auditlogentry",
        "smarthome.view_device",
        "smarthome.add_device",
        "smarthome.change_device",
        "smarthome.view_remotecontrolsetting",
        "smarthome.view_pincode",
    ],
    OPERATOR_STAFF_GROUP: [
        "tenancy.view_operator",
        "tenancy.view_property",
        "tenancy.view_unit",
        "tenancy.view_lease",
        "accounts.view_residentaccount",
        "accounts.change_residentaccount",
        "smarthome.view_device",
        "smarthome.view_remotecontrolsetting",
        "smarthome.view_pincode",
    ],
}


@transaction.atomic
def operator_roles_sync(*, apps=django_apps) -> None:
    """Create the two groups if missing and give each exactly the permissions of ROLES."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
