"""User attributes get a precedence: an account with accepted leases of several operators
takes the attribute of highest precedence among them (the most restrictive)."""

from django.db import migrations, models

# The seeded three (0002): managed restricts most, then rental_resident; owner is the default.
PRECEDENCE = {"owner": 0, "rental_resident": 10, "managed": 20}


def seed(apps, schema_editor):
    UserAttribute = apps.get_model("accounts", "UserAttribute")
    for code, precedence in PRECEDENCE.items():
        UserAttribute.objects.filter(code=code).update(precedence=precedence)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_roster_and_help_move_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="userattribute",
            name="precedence",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="複数の入居契約を承認したアカウントは、優先度が最も高い属性になります。",
                verbose_name="優先度",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
