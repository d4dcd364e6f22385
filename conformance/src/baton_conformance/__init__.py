"""Baton conformance suite."""
