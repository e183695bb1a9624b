-- 009: the values a landing file's listings all share are kept once per file.
-- Every listing of a QHP providers file carries the same source URL, fetch time and payload hash, and
-- every listing of any file the same kind, role and landing hash. DuckDB's storage spends 0.3-0.6 CPU s
-- per 2.6M rows on each string column even when it holds a single value (statistics, dictionary and FSST
-- analysis), so the loader now writes such a value once into `listing_files` and NULL on the rows.
-- `directory_listings` becomes a view with the columns it always had, so every reader is unchanged;
-- the rows themselves live in `listing_rows`, written only by the warehouse loader.
ALTER TABLE directory_listings RENAME TO listing_rows;
ALTER TABLE listing_rows ADD COLUMN file_id INTEGER;
ALTER TABLE listing_rows ALTER COLUMN source_url DROP NOT NULL;
ALTER TABLE listing_rows ALTER COLUMN fetched_at DROP NOT NULL;

CREATE TABLE IF NOT EXISTS listing_files (
    file_id        INTEGER PRIMARY KEY,
    landing_sha256 VARCHAR,
    directory_kind VARCHAR,
    role           VARCHAR,
    source_url     VARCHAR,
    fetched_at     TIMESTAMP,
    payload_sha256 VARCHAR
);

CREATE VIEW directory_listings AS
SELECT r.listing_id, r.run_id, r.source_key, r.insurer,
       coalesce(r.directory_kind, f.directory_kind) AS directory_kind,
       coalesce(r.role, f.role) AS role,
       r.npi, r.provider_name, r.first_name, r.middle_name, r.last_name, r.credentials, r.practice_name,
       r.address, r.city, r.state, r.zip, r.phone, r.specialty, r.specialty_code,
       r.accepting_status, r.accepting_raw, r.networks, r.plans, r.website, r.last_updated,
       coalesce(r.source_url, f.source_url) AS source_url,
       coalesce(r.fetched_at, f.fetched_at) AS fetched_at,
       coalesce(r.payload_sha256, f.payload_sha256) AS payload_sha256,
       r.raw,
       coalesce(r.landing_sha256, f.landing_sha256) AS landing_sha256
FROM listing_rows r LEFT JOIN listing_files f ON f.file_id = r.file_id;
