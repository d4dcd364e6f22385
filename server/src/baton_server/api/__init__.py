"""The HTTP layer: app wiring, routes, wire schemas, versions and error mapping."""
