-- 007: the listings view also shows `raw` (source fields outside the contract, e.g. NPPES deactivation).
CREATE OR REPLACE VIEW listings AS
WITH latest AS (
    SELECT insurer, max(run_id) AS run_id FROM directory_listings GROUP BY insurer
)
SELECT d.listing_id, d.insurer, d.directory_kind, d.role, d.npi, d.provider_name,
       d.first_name, d.middle_name, d.last_name, d.credentials, d.practice_name,
       d.address, d.city, d.state, d.zip, d.phone, d.specialty, d.specialty_code,
       d.accepting_status, d.accepting_raw, d.networks, d.plans, d.website,
       d.last_updated, d.source_url, d.fetched_at, d.payload_sha256, d.source_key, d.run_id, d.raw
FROM directory_listings d JOIN latest USING (insurer, run_id);
