"""The metadata database: tables, engine and migrations."""
