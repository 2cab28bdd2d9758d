# One reminder engine (issue 13 item 8), step 3 of 3: the old model, its rows moved by 0015.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('requests', '0015_reminders_sent_to_reminder_keys'),
    ]

    operations = [
        migrations.DeleteModel(
            name='HistoricalReminderSent',
        ),
        migrations.DeleteModel(
            name='ReminderSent',
        ),
    ]
