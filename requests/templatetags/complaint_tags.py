"""Template helpers for case-file correspondence, so the case page can show it without its
view knowing about it."""

from __future__ import annotations

from django import template
from django.urls import reverse

from privacy_portal import legal

from ..forms.complaints import CorrespondenceForm
from ..selectors.cases import case_correspondence_items

register = template.Library()


@register.simple_tag
def case_correspondence(case) -> dict:
    """A rights request's correspondence, newest first, with the add form and its URL."""
    return {
        "items": case_correspondence_items(case),
        "form": CorrespondenceForm(auto_id="case_corr_%s"),
        "add_url": reverse("requests:case_correspondence_add", args=[case.pk]),
        "years": legal.CASE_FILE_RETENTION_YEARS,
    }
