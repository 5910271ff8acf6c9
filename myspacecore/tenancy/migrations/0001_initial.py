"""The roster and the audit log move from accounts to tenancy: Django's state only.

The tables were made by accounts 0001-0007 and keep their names (`db_table`); accounts 0009
removes the models from accounts' state and renames their content types, so permissions,
groups and the admin's history stay attached.
"""

import django.db.models.deletion
import django.utils.timezone
import phonenumber_field.modelfields
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0008_userattribute_name_en'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables exist (made by accounts' migrations) and keep their names.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Operator',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True, verbose_name='事業者名')),
                        ('contact_phone', models.CharField(blank=True, max_length=32, verbose_name='連絡先電話番号')),
                        ('contact_email', models.EmailField(blank=True, max_length=254, verbose_name='連絡先メールアドレス')),
                        ('contact_hours', models.CharField(blank=True, max_length=100, verbose_name='受付時間')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='作成日時')),
                    ],
                    options={
                        'verbose_name': '導入事業者',
                        'verbose_name_plural': '導入事業者',
                        'db_table': 'accounts_operator',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Property',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, verbose_name='物件名')),
                        ('address', models.CharField(blank=True, max_length=200, verbose_name='所在地')),
                        ('operator', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='properties', to='tenancy.operator', verbose_name='導入事業者')),
                    ],
                    options={
                        'verbose_name': '物件',
                        'verbose_name_plural': '物件',
                        'db_table': 'accounts_property',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Unit',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.CharField(max_length=20, verbose_name='部屋番号')),
                        ('last_reset_at', models.DateTimeField(blank=True, null=True, verbose_name='最終リセット日時')),
                        ('property', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='units', to='tenancy.property', verbose_name='物件')),
                    ],
                    options={
                        'verbose_name': '住戸',
                        'verbose_name_plural': '住戸',
                        'db_table': 'accounts_unit',
                        'ordering': ['property__name', 'number'],
                    },
                ),
                migrations.CreateModel(
                    name='Lease',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('phone_number', phonenumber_field.modelfields.PhoneNumberField(db_index=True, max_length=128, region=None, verbose_name='入居者電話番号')),
                        ('start_date', models.DateField(verbose_name='契約開始日')),
                        ('end_date', models.DateField(blank=True, null=True, verbose_name='契約終了日')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='作成日時')),
                        ('attribute', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='leases', to='accounts.userattribute', verbose_name='ユーザー属性')),
                        ('resident', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='leases', to=settings.AUTH_USER_MODEL, verbose_name='アカウント')),
                        ('unit', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='leases', to='tenancy.unit', verbose_name='住戸')),
                    ],
                    options={
                        'verbose_name': '入居契約',
                        'verbose_name_plural': '入居契約',
                        'db_table': 'accounts_lease',
                        'ordering': ['-start_date', 'pk'],
                    },
                ),
                migrations.CreateModel(
                    name='AuditLogEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('actor_label', models.CharField(max_length=150, verbose_name='実行者名')),
                        ('action', models.CharField(choices=[('phone_change', '電話番号の変更'), ('sessions_end', '全セッションの終了'), ('unit_reset', '退去リセット'), ('lease_import', '入居契約のCSV取り込み'), ('staff_create', 'スタッフアカウントの作成'), ('staff_update', 'スタッフアカウントの変更'), ('staff_otp_confirm', '二段階認証の設定'), ('staff_otp_reset', '二段階認証のリセット'), ('staff_recovery_codes', 'リカバリーコードの発行')], max_length=32, verbose_name='操作')),
                        ('target_label', models.CharField(max_length=200, verbose_name='対象')),
                        ('old_value', models.CharField(blank=True, max_length=200, verbose_name='変更前')),
                        ('new_value', models.CharField(blank=True, max_length=200, verbose_name='変更後')),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='日時')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='実行者')),
                        ('operator', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_log_entries', to='tenancy.operator', verbose_name='導入事業者')),
                    ],
                    options={
                        'verbose_name': '操作履歴',
                        'verbose_name_plural': '操作履歴',
                        'db_table': 'accounts_auditlogentry',
                        'ordering': ['-created_at', '-pk'],
                        'indexes': [models.Index(fields=['operator', '-created_at'], name='audit_operator_created_idx')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='property',
                    constraint=models.UniqueConstraint(fields=('operator', 'name'), name='property_unique_name_per_operator'),
                ),
                migrations.AddConstraint(
                    model_name='unit',
                    constraint=models.UniqueConstraint(fields=('property', 'number'), name='unit_unique_number_per_property'),
                ),
                migrations.AddIndex(
                    model_name='lease',
                    index=models.Index(fields=['end_date'], name='lease_end_date_idx'),
                ),
                migrations.AddConstraint(
                    model_name='lease',
                    constraint=models.CheckConstraint(condition=models.Q(('end_date__isnull', True), ('end_date__gte', models.F('start_date')), _connector='OR'), name='lease_end_not_before_start'),
                ),
            ],
        ),
    ]
