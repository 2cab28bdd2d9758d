"""Template helpers for case-file correspondence, so the case page can show it without its
view knowing about it."""

from __future__ import annotations

from django import template
from django.urls import reverse

from privacy_portal import legal

from ..complaint_forms import CorrespondenceForm

register = template.Library()


@register.simple_tag
def case_correspondence(case) -> dict:
    """A rights request's correspondence, newest first, with the add form and its URL."""
    return {
        "items": case.correspondence.select_related("recorded_by").order_by("-occurred_on", "-pk"),
        "form": CorrespondenceForm(auto_id="case_corr_%s"),
        "add_url": reverse("requests:case_correspondence_add", args=[case.pk]),
        "years": legal.CASE_FILE_RETENTION_YEARS,
    }
