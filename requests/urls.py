from __future__ import annotations

from django.urls import path

from .views import case, queue

app_name = "requests"

urlpatterns = [
    path("", queue.queue, name="queue"),
    path("logged/", queue.logged, name="logged"),
    path("new/", case.intake, name="intake"),
    path("<int:pk>/", case.case_page, name="case"),
    path("<int:pk>/act/<slug:action>/", case.case_action, name="case_action"),
    path("<int:pk>/documents/<int:doc_pk>/", case.document_download, name="document"),
]
