"""Baton Task SDK."""

__all__: list[str] = []
