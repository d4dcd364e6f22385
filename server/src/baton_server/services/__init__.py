"""Business logic on HEAD shapes: no FastAPI imports; raises domain errors."""
