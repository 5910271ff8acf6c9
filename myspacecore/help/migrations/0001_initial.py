"""The help centre's feedback moves from accounts to help: Django's state only (the table keeps its name).
"""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0008_userattribute_name_en'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables exist (made by accounts' migrations) and keep their names.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='HelpFeedback',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('topic', models.CharField(db_index=True, max_length=64, verbose_name='ヘルプ項目')),
                        ('helpful', models.BooleanField(verbose_name='役に立った')),
                        ('comment', models.TextField(blank=True, max_length=1000, verbose_name='コメント')),
                        ('language', models.CharField(blank=True, max_length=8, verbose_name='言語')),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='日時')),
                    ],
                    options={
                        'verbose_name': 'ヘルプの評価',
                        'verbose_name_plural': 'ヘルプの評価',
                        'db_table': 'accounts_helpfeedback',
                        'ordering': ['-created_at', '-pk'],
                    },
                ),
            ],
        ),
    ]
