"""Rights-request views: intake, queues, the case page and its actions."""
