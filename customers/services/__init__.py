"""Business rules for the customers app, one module per concern."""
