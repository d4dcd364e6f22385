"""The HEAD wire models of every API: what clients send and receive, never the database's rows."""
