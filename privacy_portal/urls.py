from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from . import audit_views, history_views, promise_views, register_views, views

if settings.PORTAL_REQUIRE_MFA:
    # The Django admin sits behind the same second factor as the portal.
    admin.site.__class__ = OTPAdminSite
admin.site.site_header = "Privacy Portal administration"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.sign_in, name="login"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("accounts/mfa/verify/", views.mfa_verify, name="mfa_verify"),
    path("accounts/mfa/enrol/", views.mfa_enrol, name="mfa_enrol"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/new/", views.staff_create, name="staff_create"),
    path("staff/<int:pk>/", views.staff_edit, name="staff_edit"),
    path("staff/<int:pk>/reset-mfa/", views.staff_reset_mfa, name="staff_reset_mfa"),
    path("staff/<int:pk>/unlock/", views.staff_unlock, name="staff_unlock"),
    path("staff/<int:pk>/password-link/", views.staff_resend_link, name="staff_resend_link"),
    path("staff/approvals/", views.staff_approvals, name="staff_approvals"),
    path("accounts/set-password/<str:uidb64>/<str:token>/", views.set_password, name="set_password"),
    *register_views.urlpatterns,
    *audit_views.urlpatterns,
    *promise_views.urlpatterns,
    *history_views.urlpatterns,
    path("customers/", include("customers.urls")),
    path("cases/", include("requests.urls")),
    path("p/", include("customers.public_urls")),
    path("p/", include("requests.views.public")),
    path("django-admin/", admin.site.urls),
]

handler403 = "privacy_portal.views.permission_denied"
