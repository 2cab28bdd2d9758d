from __future__ import annotations

from django.urls import path

from .views import case, complaints, queue

app_name = "requests"

urlpatterns = [
    path("", queue.queue, name="queue"),
    path("logged/", queue.logged, name="logged"),
    path("new/", case.intake, name="intake"),
    path("<int:pk>/", case.case_page, name="case"),
    path("<int:pk>/act/<slug:action>/", case.case_action, name="case_action"),
    path("<int:pk>/documents/<int:doc_pk>/", case.document_download, name="document"),
    path("<int:pk>/correspondence/new/", complaints.case_correspondence_add, name="case_correspondence_add"),
    path("<int:pk>/correspondence/<int:item_pk>/", complaints.case_attachment, name="case_correspondence"),
    path("complaints/", complaints.complaints, name="complaints"),
    path("complaints/new/", complaints.complaint_new, name="complaint_new"),
    path("complaints/logged/", complaints.complaints_logged, name="complaints_logged"),
    path("complaints/<int:pk>/", complaints.complaint_page, name="complaint"),
    path("complaints/<int:pk>/act/<slug:action>/", complaints.complaint_action, name="complaint_action"),
    path("complaints/<int:pk>/bundle/", complaints.complaint_bundle, name="complaint_bundle"),
    path(
        "complaints/<int:pk>/correspondence/<int:item_pk>/",
        complaints.complaint_attachment,
        name="complaint_correspondence",
    ),
]
