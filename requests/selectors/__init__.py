"""Reads of the requests app: the case queue and dashboard, breaches, complaints."""
