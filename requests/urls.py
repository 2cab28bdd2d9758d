from __future__ import annotations

from django.urls import path

from .views import breaches, case, complaints, messages, queue

app_name = "requests"

urlpatterns = [
    # The queue, intake and a case's page, its actions and documents
    path("", queue.queue, name="queue"),
    path("logged/", queue.logged, name="logged"),
    path("new/", case.intake, name="intake"),
    path("<int:pk>/", case.case_page, name="case"),
    path("<int:pk>/act/<slug:action>/", case.case_action, name="case_action"),
    path("<int:pk>/documents/<int:doc_pk>/", case.document_download, name="document"),
    # A case's correspondence
    path("<int:pk>/correspondence/new/", complaints.case_correspondence_add, name="case_correspondence_add"),
    path("<int:pk>/correspondence/<int:item_pk>/", complaints.case_attachment, name="case_correspondence"),
    # Message templates
    path("messages/", messages.template_list, name="message_templates"),
    path("messages/<slug:key>/", messages.template_edit, name="message_template"),
    # Complaints, their actions, bundle and correspondence
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
    # Breaches: the register, its tasks, a breach's page, the people affected and the ICO report
    path("breaches/", breaches.breach_list, name="breaches"),
    path("breaches/new/", breaches.breach_new, name="breach_new"),
    path("breaches/register.csv", breaches.breach_csv, name="breaches_csv"),
    path("breaches/tasks/", breaches.breach_tasks, name="breach_tasks"),
    path("breaches/tasks/<int:pk>/done/", breaches.breach_task_done, name="breach_task_done"),
    path("breaches/from-access-log/", breaches.breach_from_access, name="breach_from_access"),
    path("breaches/<int:pk>/", breaches.breach_page, name="breach"),
    path("breaches/<int:pk>/act/<slug:action>/", breaches.breach_action, name="breach_action"),
    path("breaches/<int:pk>/affected/", breaches.breach_affected, name="breach_affected"),
    path("breaches/<int:pk>/affected/query/", breaches.breach_affected_query, name="breach_affected_query"),
    path("breaches/<int:pk>/affected/search/", breaches.breach_affected_search, name="breach_affected_search"),
    path("breaches/<int:pk>/affected/export.csv", breaches.breach_affected_export, name="breach_affected_export"),
    path("breaches/<int:pk>/ico-report/", breaches.breach_ico_report, name="breach_ico_report"),
    path("breaches/<int:pk>/ico-report.pdf", breaches.breach_ico_report_pdf, name="breach_ico_report_pdf"),
]
