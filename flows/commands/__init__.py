"""CLI command groups; each module has `register(app, ctx)` called by flows.cli."""
