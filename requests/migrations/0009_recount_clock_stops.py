"""Open cases' paused days counted as UK GDPR Art 12A(5) words them.

Before, a pause was counted one day short (the day answered was not counted), and a pause was
allowed on any right. Every open case's stopped days are recounted from its finished stops:
both days of each, and only for an access request (the only right the law lets pause), and its
due dates derived again, with a history row saying why. Closed cases keep what they had.
"""


from django.db import migrations

REASON = "Clock recounted under UK GDPR Art 12A(5): {days} days not counted (was {was})"


def recount(apps, schema_editor):
    from django.utils import timezone

    from privacy_portal.legal import CLOCK_STOP_RIGHTS, clock_paused_days
    from requests.services.cases import recompute_due

    Case = apps.get_model("requests", "Case")
    ClockStop = apps.get_model("requests", "ClockStop")
    HistoricalCase = apps.get_model("requests", "HistoricalCase")
    fields = [f.attname for f in Case._meta.concrete_fields]
    now = timezone.now()
    with_stops = ClockStop.objects.filter(ended_on__isnull=False).values("case_id")
    for case in Case.objects.filter(closed_on__isnull=True, pk__in=with_stops).iterator(chunk_size=1000):
        stops = ClockStop.objects.filter(case_id=case.pk, ended_on__isnull=False)
        days = 0
        if case.right in CLOCK_STOP_RIGHTS:
            days = sum(clock_paused_days(s.started_on, s.ended_on) for s in stops)
        if days == case.stopped_days:
            continue
        was = case.stopped_days
        case.stopped_days = days
        recompute_due(case)
        case.save(update_fields=["stopped_days", "due_on", "original_due_on"])
        HistoricalCase.objects.create(
            **{name: getattr(case, name) for name in fields},
            history_date=now,
            history_type="~",
            history_change_reason=REASON.format(days=days, was=was),
        )


class Migration(migrations.Migration):
    dependencies = [("requests", "0008_breaches")]

    operations = [migrations.RunPython(recount, migrations.RunPython.noop)]
