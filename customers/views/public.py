"""Login-free pages: the unsubscribe link and the SMS gateway's webhook."""

from __future__ import annotations

urlpatterns: list = []
