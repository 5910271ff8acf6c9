"""The two roles of the operator console as Django groups, with their permissions.

`operator_admin` manages the roster and the operator's staff accounts and reads the
operator's audit log; `operator_staff` reads the roster and handles residents' requests
(phone-number change, ending sessions). Which rows either sees is the admin's scoping
(accounts.admin_scoping), never these permissions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "operator_admin": [
        "accounts.view_operator",
        "accounts.change_operator",
        "accounts.view_property",
        "accounts.add_property",
        "accounts.change_property",
        "accounts.delete_property",
        "accounts.view_unit",
        "accounts.add_unit",
        "accounts.change_unit",
        "accounts.delete_unit",
        "accounts.view_lease",
        "accounts.add_lease",
        "accounts.change_lease",
        "accounts.delete_lease",
        "accounts.view_residentaccount",
        "accounts.change_residentaccount",
        "accounts.view_staffaccount",
        "accounts.add_staffaccount",
        "accounts.change_staffaccount",
        "accounts.view_auditlogentry",
        "smarthome.view_device",
        "smarthome.add_device",
        "smarthome.change_device",
        "smarthome.view_remotecontrolsetting",
        "smarthome.view_pincode",
    ],
    "operator_staff": [
        "accounts.view_operator",
        "accounts.view_property",
        "accounts.view_unit",
        "accounts.view_lease",
        "accounts.view_residentaccount",
        "accounts.change_residentaccount",
        "smarthome.view_device",
        "smarthome.view_remotecontrolsetting",
        "smarthome.view_pincode",
    ],
}


def groups_create(apps, schema_editor):
    # Permissions are normally created after the last migration (post_migrate); create
    # them now so a fresh database gets complete groups in one `migrate`.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def groups_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_operator_console"),
        ("smarthome", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(groups_create, groups_delete)]
