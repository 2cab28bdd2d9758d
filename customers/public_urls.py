"""Public (login-free) routes, mounted at the site root under /p/."""

from __future__ import annotations

from .views import deletion_tasks, public

app_name = "public"

urlpatterns = [*public.urlpatterns, *deletion_tasks.public_urlpatterns]
