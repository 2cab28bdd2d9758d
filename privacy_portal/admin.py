from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import JobRun, User
from .text_rules import TextRulesMixin


class TextRulesAdmin(admin.ModelAdmin):
    """The admin's forms (Django's, made per model) with the portal's text rules
    (privacy_portal/text_rules.py), as every form of the portal has them."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (TextRulesMixin, form), {"__module__": form.__module__})


@admin.register(User)
class PortalUserAdmin(TextRulesAdmin, UserAdmin, SimpleHistoryAdmin):
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Portal", {"fields": ("role", "access_ends_on")}))
    list_display = ("username", "first_name", "last_name", "role", "is_active", "access_ends_on")
    list_filter = ("role", "is_active")


@admin.register(JobRun)
class JobRunAdmin(TextRulesAdmin):
    list_display = ("name", "started_at", "finished_at", "outcome")
    list_filter = ("name", "outcome")
