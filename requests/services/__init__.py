"""Business rules for rights requests, one module per concern."""
