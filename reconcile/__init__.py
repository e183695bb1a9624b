"""ghostcheck reconcile package."""
