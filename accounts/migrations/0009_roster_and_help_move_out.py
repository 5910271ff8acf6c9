"""The roster, the audit log and the help feedback leave accounts' state (tenancy 0001, help 0001).

State only: the tables stay. Their content types are renamed to the new app labels, so the
operator groups' permissions and the admin's history keep pointing at the same rows.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED = {
    "operator": "tenancy",
    "property": "tenancy",
    "unit": "tenancy",
    "lease": "tenancy",
    "auditlogentry": "tenancy",
    "helpfeedback": "help",
}


def content_types_follow(apps, schema_editor, *, source=None, moves=None):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, (old_app, new_app) in moves.items():
        old = ContentType.objects.filter(app_label=old_app, model=model).first()
        if old is None:
            continue
        # A content type made for the new label before this ran (a partial earlier run) holds
        # nothing yet: the old one, which holds the permissions, takes its place.
        ContentType.objects.filter(app_label=new_app, model=model).delete()
        old.app_label = new_app
        old.save(update_fields=["app_label"])


def forwards(apps, schema_editor):
    content_types_follow(apps, schema_editor, moves={m: ("accounts", app) for m, app in MOVED.items()})


def backwards(apps, schema_editor):
    content_types_follow(apps, schema_editor, moves={m: (app, "accounts") for m, app in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_userattribute_name_en"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("help", "0001_initial"),
        ("smarthome", "0003_device_unit_in_tenancy"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="user",
                    name="operator",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="staff",
                        to="tenancy.operator",
                        verbose_name="所属事業者",
                    ),
                ),
                migrations.DeleteModel(name="AuditLogEntry"),
                migrations.DeleteModel(name="Lease"),
                migrations.DeleteModel(name="Unit"),
                migrations.DeleteModel(name="Property"),
                migrations.DeleteModel(name="Operator"),
                migrations.DeleteModel(name="HelpFeedback"),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
