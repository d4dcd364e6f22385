"""Routes of the Worker API: what workers need, under a worker credential."""
