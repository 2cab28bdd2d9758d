# One reminder engine (issue 13 item 8), step 2 of 3: every ReminderSent row becomes a
# ReminderKey row ("case:<id>:<threshold>", with its case) and its history follows it.

from django.db import migrations


def to_reminder_keys(apps, schema_editor):
    ReminderSent = apps.get_model("requests", "ReminderSent")
    ReminderKey = apps.get_model("requests", "ReminderKey")
    HistoricalReminderSent = apps.get_model("requests", "HistoricalReminderSent")
    HistoricalReminderKey = apps.get_model("requests", "HistoricalReminderKey")
    for sent in ReminderSent.objects.order_by("pk").iterator(chunk_size=2000):
        key = ReminderKey.objects.create(
            key=f"case:{sent.case_id}:{sent.threshold}", case_id=sent.case_id, sent_at=sent.sent_at
        )
        HistoricalReminderKey.objects.bulk_create(
            HistoricalReminderKey(
                id=key.pk,
                key=key.key,
                case_id=h.case_id,
                sent_at=h.sent_at,
                history_date=h.history_date,
                history_change_reason=h.history_change_reason,
                history_type=h.history_type,
                history_user_id=h.history_user_id,
            )
            for h in HistoricalReminderSent.objects.filter(id=sent.pk).order_by("history_date", "history_id")
        )


def to_reminders_sent(apps, schema_editor):
    ReminderSent = apps.get_model("requests", "ReminderSent")
    ReminderKey = apps.get_model("requests", "ReminderKey")
    HistoricalReminderSent = apps.get_model("requests", "HistoricalReminderSent")
    HistoricalReminderKey = apps.get_model("requests", "HistoricalReminderKey")
    for key in ReminderKey.objects.filter(case__isnull=False).order_by("pk").iterator(chunk_size=2000):
        threshold = key.key.removeprefix(f"case:{key.case_id}:")
        sent = ReminderSent.objects.create(case_id=key.case_id, threshold=threshold, sent_at=key.sent_at)
        history = HistoricalReminderKey.objects.filter(id=key.pk)
        HistoricalReminderSent.objects.bulk_create(
            HistoricalReminderSent(
                id=sent.pk,
                case_id=h.case_id,
                threshold=threshold,
                sent_at=h.sent_at,
                history_date=h.history_date,
                history_change_reason=h.history_change_reason,
                history_type=h.history_type,
                history_user_id=h.history_user_id,
            )
            for h in history.order_by("history_date", "history_id")
        )
        history.delete()
        key.delete()


class Migration(migrations.Migration):

    dependencies = [
        ('requests', '0014_one_reminder_model'),
    ]

    operations = [
        migrations.RunPython(to_reminder_keys, to_reminders_sent),
    ]
