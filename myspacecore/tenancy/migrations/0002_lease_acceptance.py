"""A lease grants nothing until its resident accepts it (SPEC "tenancy trust").

Leases already linked to an account were linked by a sign-in under the earlier rule, and
their residents have used them since: they count as accepted. Every other lease waits for
its resident's answer.
"""

from django.db import migrations, models
from django.db.models import F


def linked_leases_accepted(apps, schema_editor):
    Lease = apps.get_model("tenancy", "Lease")
    Lease.objects.filter(resident__isnull=False).update(acceptance="accepted", answered_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_userattribute_precedence"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="lease",
            name="acceptance",
            field=models.CharField(
                choices=[
                    ("pending", "入居者の確認待ち"),
                    ("accepted", "入居者が承認"),
                    ("declined", "入居者が辞退（心当たりなし）"),
                ],
                default="pending",
                max_length=16,
                verbose_name="入居者の確認",
            ),
        ),
        migrations.AddField(
            model_name="lease",
            name="answered_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="確認日時"),
        ),
        migrations.RunPython(linked_leases_accepted, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="lease",
            constraint=models.CheckConstraint(
                condition=models.Q(("resident__isnull", True), ("acceptance", "accepted"), _connector="OR"),
                name="lease_linked_only_when_accepted",
            ),
        ),
    ]
