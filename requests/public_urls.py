"""The requests app's public (login-free) routes: the public's own door, mounted at the site root
under /p/.

Separate from requests/urls.py on purpose: these are mounted under the public prefix /p/ with a URL
namespace of their own ("public_requests"), not under /cases/ where the staff pages are; every view
here is declared @public."""

from __future__ import annotations

from django.urls import path

from .views import public

app_name = "public_requests"

urlpatterns = [
    # The door's front page and the complaint form
    path("", public.index, name="index"),
    path("complaint/", public.complaint, name="complaint"),
    # The rights-request form, its emailed code and a new link
    path("request/", public.rights_request, name="request"),
    path("request/verify/<str:token>/", public.verify, name="verify"),
    path("request/new-link/", public.resend, name="resend"),
    # The requester's secure page for their case (signed link)
    path("case/<str:token>/", public.case_page, name="case"),
    path("case/<str:token>/reply/", public.case_reply, name="case_reply"),
    path("case/<str:token>/upload/", public.case_upload, name="case_upload"),
    path("case/<str:token>/export/", public.case_export, name="case_export"),
]
