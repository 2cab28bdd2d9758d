from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from .views import accounts, audit, history, promises, register

if settings.PORTAL_REQUIRE_MFA:
    # The Django admin sits behind the same second factor as the portal.
    admin.site.__class__ = OTPAdminSite
admin.site.site_header = "Privacy Portal administration"

urlpatterns = [
    # Home, sign-in and the second factor
    path("", accounts.home, name="home"),
    path("accounts/login/", accounts.sign_in, name="login"),
    path("accounts/logout/", accounts.sign_out, name="logout"),
    path("accounts/mfa/verify/", accounts.mfa_verify, name="mfa_verify"),
    path("accounts/mfa/enrol/", accounts.mfa_enrol, name="mfa_enrol"),
    # Staff accounts (the IT administrator's pages) and the one-time password link
    path("staff/", accounts.staff_list, name="staff_list"),
    path("staff/new/", accounts.staff_create, name="staff_create"),
    path("staff/<int:pk>/", accounts.staff_edit, name="staff_edit"),
    path("staff/<int:pk>/reset-mfa/", accounts.staff_reset_mfa, name="staff_reset_mfa"),
    path("staff/<int:pk>/unlock/", accounts.staff_unlock, name="staff_unlock"),
    path("staff/<int:pk>/password-link/", accounts.staff_resend_link, name="staff_resend_link"),
    path("staff/approvals/", accounts.staff_approvals, name="staff_approvals"),
    path("accounts/set-password/<str:uidb64>/<str:token>/", accounts.set_password, name="set_password"),
    # The register of processing activities, the retention schedule and the privacy notices
    path("register/", register.register, name="register"),
    path("retention/", register.retention_schedule, name="retention_schedule"),
    path("register.csv", register.register_csv, name="register_csv"),
    path("register/new/", register.register_activity_create, name="register_activity_create"),
    path("register/<int:pk>/", register.register_activity, name="register_activity"),
    path("register/<int:pk>/edit/", register.register_activity_edit, name="register_activity_edit"),
    path("notices/", register.notices, name="notices"),
    path("notices/new/", register.notice_publish, name="notice_publish"),
    path("notices/<int:pk>/", register.notice_version, name="notice_version"),
    # The access log, read: break-glass review, per customer, per member of staff
    path("audit/break-glass/<int:event_id>/review/", audit.break_glass_review, name="break_glass_review"),
    path("audit/customers/<int:customer_id>/access/", audit.customer_access, name="customer_access"),
    path("audit/staff/<int:user_id>/access/", audit.staff_access, name="staff_access"),
    # The promise report
    path("promises/", promises.promise_report_page, name="promise_report"),
    path("promises/report.<str:fmt>", promises.promise_report_download, name="promise_report_download"),
    path("promises/verify/", promises.promise_report_verify, name="promise_report_verify"),
    path("promises/summarise/", promises.promise_summarise, name="promise_summarise"),
    # Change history: search, export, one record's history
    path("audit/history/", history.history_search_page, name="history_search"),
    path("audit/history/export.csv", history.history_export, name="history_export"),
    path("audit/history/<str:kind>/<int:record_id>/", history.record_history, name="record_history"),
    # The apps' own URLconfs; the public door (no sign-in) is under /p/, one namespace per app
    path("customers/", include("customers.urls")),
    path("cases/", include("requests.urls")),
    path("p/", include("customers.public_urls")),
    path("p/", include("requests.public_urls")),
    # Django's admin (behind the same second factor)
    path("django-admin/", admin.site.urls),
]

handler403 = "privacy_portal.views.accounts.permission_denied"
