from __future__ import annotations

from .views import calls, desk, disclosures, imports, purchases, retention, screening

app_name = "customers"

urlpatterns = [
    *desk.urlpatterns,
    *calls.urlpatterns,
    *imports.urlpatterns,
    *purchases.urlpatterns,
    *retention.urlpatterns,
    *disclosures.urlpatterns,
    *screening.urlpatterns,
]
