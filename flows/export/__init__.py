"""Exports of findings for other systems: FHIR VerificationResult NDJSON (and corrections files)."""
