from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import JobRun, User


@admin.register(User)
class PortalUserAdmin(UserAdmin, SimpleHistoryAdmin):
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Portal", {"fields": ("role", "access_ends_on")}))
    list_display = ("username", "first_name", "last_name", "role", "is_active", "access_ends_on")
    list_filter = ("role", "is_active")


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ("name", "started_at", "finished_at", "outcome")
    list_filter = ("name", "outcome")
