"""English names of the user attributes, for the English screens; the seeded three get theirs."""

from django.db import migrations, models

ENGLISH_NAMES = {
    "owner": "Owner (bought a device)",
    "rental_resident": "Rental resident",
    "managed": "Account issued by the operator",
}


def name_seeded(apps, schema_editor):
    UserAttribute = apps.get_model("accounts", "UserAttribute")
    for code, name_en in ENGLISH_NAMES.items():
        UserAttribute.objects.filter(code=code, name_en="").update(name_en=name_en)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_auditlogentry_recovery_codes_action"),
    ]

    operations = [
        migrations.AddField(
            model_name="userattribute",
            name="name_en",
            field=models.CharField(
                blank=True,
                help_text="英語の画面で表示する名称。空欄なら名称を表示します。",
                max_length=64,
                verbose_name="名称（英語）",
            ),
        ),
        migrations.RunPython(name_seeded, migrations.RunPython.noop),
    ]
