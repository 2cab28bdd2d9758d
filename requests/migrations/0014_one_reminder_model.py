# One reminder engine (issue 13 item 8): a rights request's reminders, until now rows of
# ReminderSent (case, threshold), become rows of ReminderKey ("case:<id>:<threshold>", with the
# case), the one idempotency record every reminder goes through. Every sent reminder is kept,
# under the key the new code looks for, so nothing is sent twice after the deploy; each row's
# history comes with it (a row's history rows follow it to its new id).

# This first step adds the case to ReminderKey; 0015 moves the rows; 0016 drops the old model
# (three migrations: PostgreSQL creates the new indexes at the end of a migration, and will not
# while rows written in it have pending constraint checks).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('requests', '0013_correspondence_outbox'),
    ]

    operations = [
        # The old model gives up the name "reminders" on Case before ReminderKey takes it.
        migrations.AlterField(
            model_name='remindersent',
            name='case',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='requests.case'),
        ),
        migrations.AddField(
            model_name='historicalreminderkey',
            name='case',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='requests.case'),
        ),
        migrations.AddField(
            model_name='reminderkey',
            name='case',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='reminders', to='requests.case'),
        ),
    ]
