"""The web UI served at ``/ui``: server-rendered pages, htmx for live states (docs/ui.md)."""

from baton_server.ui.app import create_ui_app

__all__ = ["create_ui_app"]
