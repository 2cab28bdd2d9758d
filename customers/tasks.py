"""Background jobs of the customers app. Thin: each calls one service and records the run."""

from __future__ import annotations

from celery import shared_task

from privacy_portal.services.jobs import run_job

from .services.feed import suppression_feed_build
from .services.retention import purge_expired_calls as purge_expired_calls_service


@shared_task(name="customers.tasks.purge_expired_calls")
def purge_expired_calls() -> int:
    """Nightly: delete calls, transcripts and correspondence past six months, history included."""
    return run_job("purge_expired_calls", purge_expired_calls_service).pk


@shared_task(name="customers.tasks.build_suppression_feed")
def build_suppression_feed() -> int:
    """Daily: write the suppression feed files and record which opt-outs it actioned."""
    return run_job("build_suppression_feed", suppression_feed_build).pk


@shared_task(name="customers.tasks.screen_call_list")
def screen_call_list(screening_id: int) -> None:
    """Screen an uploaded call list (queued by campaign_screen); a second delivery does nothing."""
    from .services.campaign import campaign_screening_run

    campaign_screening_run(screening_id=screening_id)


@shared_task(name="customers.tasks.sweep_campaign_screenings")
def sweep_campaign_screenings() -> dict:
    """Every minute: send again screenings whose task was lost or whose worker died."""
    from .services.campaign import campaign_screenings_sweep

    return campaign_screenings_sweep()


@shared_task(name="customers.tasks.flush_waiting_sms_parts")
def flush_waiting_sms_parts() -> int:
    """Hourly: texts whose other parts never came, acted on as far as they go (services.sms)."""
    from .services.sms import sms_inbound_parts_flush

    return run_job("flush_waiting_sms_parts", sms_inbound_parts_flush).pk
