"""The form of the DPO's message wording page."""

from __future__ import annotations

from django import forms

from privacy_portal.text_rules import PortalForm


class TemplateForm(PortalForm):
    subject = forms.CharField(max_length=200, label="Subject line")
    body = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 14}), label="Message")
    reason = forms.CharField(max_length=500, label="Why the wording changes", help_text="Kept in the history.")
