from __future__ import annotations

from django.urls import path

from .views import (
    calls,
    deletion_tasks,
    desk,
    dialler,
    disclosures,
    imports,
    inbound_sms,
    list_unsubscribe,
    mps,
    purchases,
    retention,
    screening,
)

app_name = "customers"

urlpatterns = [
    # The agent's desk: break glass, search, a customer's record, its edits and its history
    path("break-glass/", desk.break_glass, name="break_glass"),
    path("", desk.search, name="search"),
    path("new/", desk.create, name="create"),
    path("<int:pk>/", desk.detail, name="detail"),
    path("<int:pk>/edit/", desk.edit, name="edit"),
    path("<int:pk>/preferences/", desk.record_preference, name="record_preference"),
    path("<int:pk>/object/", desk.object_to_marketing, name="object"),
    path("<int:pk>/bereavement/", desk.record_bereavement, name="bereavement"),
    path("<int:pk>/history/", desk.history, name="history"),
    # Calls, their transcripts, and correspondence
    path("<int:pk>/calls/", calls.calls, name="calls"),
    path("calls/<int:pk>/transcript/", calls.call_transcript, name="call_transcript"),
    path("<int:pk>/correspondence/", calls.correspondence, name="correspondence"),
    path("<int:pk>/correspondence/add/", calls.correspondence_add, name="correspondence_add"),
    # Bulk import of preference changes
    path("import/preferences/", imports.import_preferences, name="import_preferences"),
    # Purchases (read-only)
    path("<int:pk>/purchases/", purchases.purchases, name="purchases"),
    # Legal holds and the missed opt-out deadlines
    path("<int:pk>/legal-holds/new/", retention.legal_hold_place, name="legal_hold_place"),
    path("legal-holds/", retention.legal_hold_list, name="legal_holds"),
    path("legal-holds/<int:pk>/release/", retention.legal_hold_release, name="legal_hold_release"),
    # The URL name is kept from before the page was renamed "Missed opt-out deadlines".
    path("missed-opt-out-deadlines/", retention.missed_optouts, name="breaches"),
    # Deletion tasks at the stores outside the portal (the provider's own endpoint is in public_urls.py)
    path("deletion-tasks/", deletion_tasks.deletion_tasks, name="deletion_tasks"),
    path(
        "deletion-tasks/confirmation-file/recording-store/",
        deletion_tasks.deletion_confirmation_file,
        name="deletion_confirmation_file",
    ),
    path(
        "deletion-tasks/confirmation-file/recipient/<int:recipient_pk>/",
        deletion_tasks.deletion_confirmation_file,
        name="deletion_confirmation_file_recipient",
    ),
    path("deletion-tasks/<int:pk>/confirm/", deletion_tasks.deletion_task_confirm, name="deletion_task_confirm"),
    # Recipients and disclosures (Art 19), and their bulk import
    path("recipients/", disclosures.recipients, name="recipients"),
    path("recipients/new/", disclosures.recipient_create, name="recipient_create"),
    path("recipients/<int:pk>/", disclosures.recipient_detail, name="recipient"),
    path("recipients/<int:pk>/edit/", disclosures.recipient_edit, name="recipient_edit"),
    path("<int:pk>/disclosures/", disclosures.customer_disclosures_tab, name="disclosures"),
    path("<int:pk>/disclosures/new/", disclosures.disclosure_add, name="disclosure_add"),
    path(
        "<int:pk>/disclosures/history/",
        disclosures.customer_disclosure_history_view,
        name="disclosure_history",
    ),
    path("import/disclosures/", disclosures.import_disclosures, name="import_disclosures"),
    # TPS screening of a campaign's call list
    path("screening/", screening.screenings, name="screenings"),
    path("screening/<int:pk>/", screening.screening, name="screening"),
    path("screening/<int:pk>/result.csv", screening.screening_download, name="screening_download"),
    # MPS matches at a former address, for the DPO to confirm or dismiss
    path("mps-reviews/", mps.mps_reviews, name="mps_reviews"),
    path("mps-reviews/<int:pk>/decide/", mps.mps_review_decide, name="mps_review_decide"),
    # The dialler's tokens for the pre-dial check (the check itself is in public_urls.py)
    path("dialler-tokens/", dialler.dialler_token_list, name="dialler_tokens"),
    path("dialler-tokens/<int:pk>/revoke/", dialler.dialler_token_revoke, name="dialler_token_revoke"),
    # The email platform's List-Unsubscribe headers
    path("email/list-unsubscribe/", list_unsubscribe.list_unsubscribe, name="list_unsubscribe"),
    path("email/list-unsubscribe.csv", list_unsubscribe.list_unsubscribe_export, name="list_unsubscribe_export"),
    # Inbound text messages that are not a STOP
    path("inbound-sms/", inbound_sms.inbound_sms, name="inbound_sms"),
    path("inbound-sms/<int:pk>/handled/", inbound_sms.inbound_sms_handled, name="inbound_sms_handled"),
]
