-- 001: runs, landing bookkeeping, listings, observations, evidence, quarantine, source runs.
CREATE TABLE IF NOT EXISTS runs (
    run_id       VARCHAR PRIMARY KEY,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP,
    status       VARCHAR,          -- running | ok | partial | failed
    as_of        DATE,
    flow_run_id  VARCHAR,
    config_path  VARCHAR,
    notes        VARCHAR
);

CREATE TABLE IF NOT EXISTS landing_files (
    sha256       VARCHAR PRIMARY KEY,
    path         VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,
    source       VARCHAR,
    run_id       VARCHAR,
    rows         BIGINT,
    quarantined  BIGINT,
    loaded_at    TIMESTAMP
);

CREATE TABLE IF NOT EXISTS directory_listings (
    listing_id       VARCHAR NOT NULL,
    run_id           VARCHAR NOT NULL,
    source_key       VARCHAR,
    insurer          VARCHAR NOT NULL,
    directory_kind   VARCHAR,
    role             VARCHAR DEFAULT 'audited',
    npi              VARCHAR,
    provider_name    VARCHAR,
    first_name       VARCHAR,
    middle_name      VARCHAR,
    last_name        VARCHAR,
    credentials      VARCHAR,
    practice_name    VARCHAR,
    address          VARCHAR,
    city             VARCHAR,
    state            VARCHAR,
    zip              VARCHAR,
    phone            VARCHAR,
    specialty        VARCHAR,
    specialty_code   VARCHAR,
    accepting_status VARCHAR,
    accepting_raw    VARCHAR,
    networks         VARCHAR[],
    plans            JSON,
    website          VARCHAR,
    last_updated     TIMESTAMP,
    source_url       VARCHAR NOT NULL,
    fetched_at       TIMESTAMP NOT NULL,
    payload_sha256   VARCHAR,
    raw              JSON,
    landing_sha256   VARCHAR
);

CREATE TABLE IF NOT EXISTS listing_plans (
    listing_id     VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    insurer        VARCHAR,
    plan_id        VARCHAR,
    plan_id_type   VARCHAR,
    network_tier   VARCHAR,
    years          VARCHAR
);

CREATE TABLE IF NOT EXISTS observation_records (
    observation_id        VARCHAR NOT NULL,
    run_id                VARCHAR NOT NULL,
    source                VARCHAR NOT NULL,
    npi                   VARCHAR,
    provider_name         VARCHAR,
    practice_name         VARCHAR,
    address               VARCHAR,
    city                  VARCHAR,
    state                 VARCHAR,
    zip                   VARCHAR,
    phone                 VARCHAR,
    accepting_status      VARCHAR,
    insurers_accepted     VARCHAR[],
    insurers_not_accepted VARCHAR[],
    reachable             BOOLEAN,
    call_outcome          VARCHAR,
    first_appointment     DATE,
    providers             VARCHAR[],
    roster_complete       BOOLEAN,
    departed_providers    VARCHAR[],
    phones                VARCHAR[],
    addresses             VARCHAR[],
    site_url              VARCHAR,
    evidence_url          VARCHAR,
    evidence_text         VARCHAR,
    evidence_sha256       VARCHAR,
    observed_at           TIMESTAMP NOT NULL,
    confidence            DOUBLE,
    raw                   JSON,
    landing_sha256        VARCHAR
);

CREATE TABLE IF NOT EXISTS evidence (
    url             VARCHAR NOT NULL,
    run_id          VARCHAR NOT NULL,
    site_url        VARCHAR,
    fetched_at      TIMESTAMP,
    http_status     INTEGER,
    content_sha256  VARCHAR,
    snapshot_path   VARCHAR,
    rendered        BOOLEAN,
    truncated       BOOLEAN,
    error           VARCHAR,
    snippet         VARCHAR,
    landing_sha256  VARCHAR
);

CREATE TABLE IF NOT EXISTS quarantine (
    run_id          VARCHAR,
    source          VARCHAR,
    file            VARCHAR,
    "row"           BIGINT,
    error           VARCHAR,
    raw_text        VARCHAR,
    quarantined_at  TIMESTAMP
);

CREATE TABLE IF NOT EXISTS source_runs (
    run_id       VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    kind         VARCHAR,
    status       VARCHAR,           -- ok | failed
    reason       VARCHAR,
    items        BIGINT,
    pages        BIGINT,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP
);

-- The latest crawl of each directory: the listings of each insurer's newest run.
CREATE OR REPLACE VIEW listings AS
WITH latest AS (
    SELECT insurer, max(run_id) AS run_id FROM directory_listings GROUP BY insurer
)
SELECT d.listing_id, d.insurer, d.directory_kind, d.role, d.npi, d.provider_name,
       d.first_name, d.middle_name, d.last_name, d.credentials, d.practice_name,
       d.address, d.city, d.state, d.zip, d.phone, d.specialty, d.specialty_code,
       d.accepting_status, d.accepting_raw, d.networks, d.plans, d.website,
       d.last_updated, d.source_url, d.fetched_at, d.payload_sha256, d.source_key, d.run_id
FROM directory_listings d JOIN latest USING (insurer, run_id);

-- Every practice report, and each website's newest crawl.
CREATE OR REPLACE VIEW observations AS
WITH latest_site AS (
    SELECT site_url, max(run_id) AS run_id
    FROM observation_records WHERE source = 'website' GROUP BY site_url
)
SELECT o.observation_id, o.source, o.npi, o.provider_name, o.practice_name, o.address,
       o.city, o.state, o.zip, o.phone, o.accepting_status, o.insurers_accepted,
       o.insurers_not_accepted, o.reachable, o.call_outcome, o.first_appointment,
       o.providers, o.roster_complete, o.departed_providers, o.phones, o.addresses,
       o.site_url, o.evidence_url, o.evidence_text, o.evidence_sha256, o.observed_at,
       o.confidence, o.raw, o.run_id
FROM observation_records o
LEFT JOIN latest_site l ON o.source = 'website' AND o.site_url IS NOT DISTINCT FROM l.site_url
WHERE o.source <> 'website' OR o.run_id = l.run_id;
