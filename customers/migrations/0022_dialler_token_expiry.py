"""Dialler tokens expire: each token issued before gets the default validity from its issue date
(legal.DIALLER_TOKEN_DEFAULT_DAYS after created_at), its history rows likewise."""

import datetime

from django.db import migrations, models

# legal.DIALLER_TOKEN_DEFAULT_DAYS when this migration was written (a migration keeps its own copy).
DEFAULT_DAYS = 90


def expire_from_issue(apps, schema_editor):
    # Every row is given the value the new column needs, tokens and their history alike; saved one
    # by one (no QuerySet.update): a handful of rows, and the history's rows are written as they are
    # (what each token's expiry was, had the column existed), not as new history.
    for label in ("customers.DiallerToken", "customers.HistoricalDiallerToken"):
        model = apps.get_model(label)
        for row in model.objects.all():
            row.expires_at = row.created_at + datetime.timedelta(days=DEFAULT_DAYS)
            row.save(update_fields=["expires_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0021_tps_change_files_loaded_once"),
    ]

    operations = [
        migrations.AddField(
            model_name="diallertoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="historicaldiallertoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(expire_from_issue, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="diallertoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="historicaldiallertoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
        migrations.AddConstraint(
            model_name="diallertoken",
            constraint=models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="dialler_token_expires_after_issue"
            ),
        ),
    ]
