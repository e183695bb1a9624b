"""Reference data shipped with reconcile (NUCC taxonomy, USPS tables, nicknames, insurer aliases)."""
