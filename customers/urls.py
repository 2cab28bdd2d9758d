from __future__ import annotations

from .views import calls, deletion_tasks, desk, disclosures, imports, purchases, retention, screening

app_name = "customers"

urlpatterns = [
    *desk.urlpatterns,
    *calls.urlpatterns,
    *imports.urlpatterns,
    *purchases.urlpatterns,
    *retention.urlpatterns,
    *deletion_tasks.urlpatterns,
    *disclosures.urlpatterns,
    *screening.urlpatterns,
]
