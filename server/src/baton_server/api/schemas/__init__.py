"""HEAD wire models of the API; older versions are derived from them by Cadwyn's version changes."""
