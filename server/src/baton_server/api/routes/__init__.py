"""Thin route handlers, grouped by API: execution, workers and admin."""
