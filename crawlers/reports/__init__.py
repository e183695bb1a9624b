"""Practice reports (attestations, phone surveys, secret-shopper calls): read files, map columns, land observations."""
