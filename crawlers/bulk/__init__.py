"""FHIR bulk (NDJSON) and NPPES directories read with DuckDB into landing files."""
