"""Customer views, one module per area; each module declares its own `urlpatterns`."""
