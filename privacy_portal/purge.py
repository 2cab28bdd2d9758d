"""Deleting rows with their history, batch by batch: the one audited purge that the retention
schedule's services (customers.services.retention, requests.services.retention) and the restore
drill (privacy_portal.services.restore) call. Below privacy_portal.retention, which runs those services by
name, so no service imports the schedule that runs it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models.deletion import Collector

from customers.services import legal_holds

from .private_storage import files_delete_after_commit
from .services.replay import note_deleted

# Rows deleted per transaction: short transactions, bounded memory, little lock contention.
PURGE_BATCH_SIZE = 5000


def _points_at_customer(model: type[models.Model]) -> bool:
    try:
        field = model._meta.get_field("customer")
    except FieldDoesNotExist:
        return False
    related = getattr(field, "related_model", None)
    return related is not None and related._meta.label == "customers.Customer"


def delete_with_history(
    queryset: models.QuerySet,
    *,
    batch_size: int = PURGE_BATCH_SIZE,
    files: Callable[[Any], str] | None = None,  # called with a row of `queryset`
    check_holds: bool = True,
) -> Counter:
    """Delete the rows of `queryset`, everything that cascades from them, and every history row
    of each, batch by batch (each batch one transaction, so a re-run finishes the job).

    THE AUDITED EXCEPTION (with erasure): history rows are deleted directly, including the
    "deleted" row simple-history writes on the way, which would copy the values once more.
    `files(obj)` names a private-storage file an object holds; it is unlinked once the batch
    commits. Returns counts per model label and per "<label> history", and "held": rows of a
    customer a hold came to cover during the run (checked again in each batch: held_among).
    """
    counts: Counter = Counter()
    ordered = queryset.order_by("pk")
    about_a_customer = check_holds and _points_at_customer(queryset.model)
    late_held: set[int] = set()
    while True:
        with transaction.atomic():
            batch = list((ordered.exclude(customer_id__in=late_held) if late_held else ordered)[:batch_size])
            if not batch:
                break
            if about_a_customer and (held_now := legal_holds.held_among(obj.customer_id for obj in batch)):
                late_held |= held_now
                counts["held"] += queryset.filter(customer_id__in=held_now).count()
                batch = [obj for obj in batch if obj.customer_id not in held_now]
                if not batch:
                    continue
            collector = Collector(using=DEFAULT_DB_ALIAS)
            collector.collect(batch)
            doomed = {model: [obj.pk for obj in objs] for model, objs in collector.data.items()}
            paths = [p for objs in collector.data.values() for obj in objs if files and (p := files(obj))]
            collector.delete()
            for model, ids in doomed.items():
                counts[model._meta.label] += len(ids)
                note_deleted(model._meta.label, ids)
                manager = getattr(model, "history", None)
                if manager is not None and hasattr(manager, "model"):
                    deleted, _ = manager.model.objects.filter(id__in=ids).delete()
                    counts[f"{model._meta.label} history"] += deleted
            if paths:
                files_delete_after_commit(paths)
    return counts
