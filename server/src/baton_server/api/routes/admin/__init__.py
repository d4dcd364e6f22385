"""Routes of the admin API: what operators and their tools need."""
