"""The customers app's public (login-free) routes, mounted at the site root under /p/.

Separate from customers/urls.py on purpose: these are mounted under the public prefix /p/ with a URL
namespace of their own ("public"), not under /customers/ where the staff pages are; every view here
is declared @public."""

from __future__ import annotations

from django.urls import path

from .views import deletion_tasks, public

app_name = "public"

urlpatterns = [
    # The dialler's screening endpoint
    path("dialler/screen", public.dialler_screen, name="dialler_screen"),
    # The unsubscribe link in an email
    path("unsubscribe/<str:token>/", public.unsubscribe, name="unsubscribe"),
    # The email platform's and the SMS gateways' webhooks
    path("email/sendgrid/events/", public.email_sendgrid_events, name="email_sendgrid_events"),
    path("sms/inbound/", public.sms_inbound, name="sms_inbound"),
    path("sms/twilio/", public.sms_twilio, name="sms_twilio"),
    path("sms/vonage/", public.sms_vonage, name="sms_vonage"),
    path("sms/esendex/<str:secret>/", public.sms_esendex, name="sms_esendex"),
    # A storage provider confirms a deletion task (token-authenticated)
    path("deletion-tasks/<int:pk>/confirm/", deletion_tasks.deletion_confirm, name="deletion_confirm"),
]
