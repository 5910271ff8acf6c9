"""Seed the three user attributes of SPEC ("User attributes"). Staff may edit them later."""

from django.db import migrations

ATTRIBUTES = [
    {
        "code": "owner",
        "name": "オーナー（デバイス購入者）",
        "description": "SpaceCore デバイスを自分で購入したユーザー。",
        "can_set_email": True,
        "can_change_phone": True,
    },
    {
        "code": "rental_resident",
        "name": "賃貸入居者",
        "description": "導入事業者の賃貸物件に入居しているユーザー。電話番号の変更は管理会社に依頼する。",
        "can_set_email": True,
        "can_change_phone": False,
    },
    {
        "code": "managed",
        "name": "事業者発行アカウント",
        "description": "導入事業者が発行したアカウント（社宅など）。",
        "can_set_email": False,
        "can_change_phone": False,
    },
]


def seed(apps, schema_editor):
    UserAttribute = apps.get_model("accounts", "UserAttribute")
    for row in ATTRIBUTES:
        UserAttribute.objects.update_or_create(code=row["code"], defaults=row)


def unseed(apps, schema_editor):
    UserAttribute = apps.get_model("accounts", "UserAttribute")
    UserAttribute.objects.filter(code__in=[row["code"] for row in ATTRIBUTES]).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
