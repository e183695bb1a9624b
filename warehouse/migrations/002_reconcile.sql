-- 002: reconciliation results: links, finding lifecycle and history, metrics, listing history.
-- No PRIMARY KEY constraints: warehouse/store.py keeps the keys unique (DuckDB's over-eager index checks
-- would otherwise refuse the updates that the lifecycle needs inside one transaction).

CREATE TABLE IF NOT EXISTS links (
    left_id      VARCHAR NOT NULL,   -- listing_id
    right_id     VARCHAR NOT NULL,   -- observation_id, or the other insurer's listing_id
    score        DOUBLE,
    method       VARCHAR,            -- npi, npi+address, website, phone, address+name, fuzzy, ...
    level        VARCHAR,            -- practice | provider | phone | directory
    kind         VARCHAR,            -- website | report | directory
    first_run_id VARCHAR,
    run_id       VARCHAR             -- run that last changed the row
);

CREATE TABLE IF NOT EXISTS finding_state (
    finding_id       VARCHAR NOT NULL,   -- sha1(insurer|listing_id|finding_type|field)[:16]
    finding_type     VARCHAR NOT NULL,
    insurer          VARCHAR,
    listing_id       VARCHAR,
    npi              VARCHAR,
    provider_name    VARCHAR,
    address          VARCHAR,
    field            VARCHAR,
    directory_value  VARCHAR,
    observed_value   VARCHAR,
    evidence_source  VARCHAR,
    evidence_url     VARCHAR,
    evidence_text    VARCHAR,
    observed_at      TIMESTAMP,
    severity         VARCHAR,            -- low | medium | high | critical
    confidence       DOUBLE,
    status           VARCHAR NOT NULL,   -- open | resolved | dismissed
    first_seen       DATE,
    last_seen        DATE,
    resolved_at      DATE,
    run_id           VARCHAR,            -- run that last changed the row
    evidence_sha256  VARCHAR,
    observation_id   VARCHAR,
    link_method      VARCHAR,
    link_score       DOUBLE
);

CREATE TABLE IF NOT EXISTS finding_history (
    finding_id      VARCHAR NOT NULL,
    run_id          VARCHAR,
    seen_at         DATE,
    status          VARCHAR,            -- open | changed | resolved | reopened | dismissed (user) ...
    directory_value VARCHAR,
    observed_value  VARCHAR
);

CREATE TABLE IF NOT EXISTS metric_values (
    run_id      VARCHAR NOT NULL,
    as_of       DATE,
    computed_at TIMESTAMP,
    insurer     VARCHAR,
    plan        VARCHAR,
    metric      VARCHAR,
    field       VARCHAR,
    numerator   BIGINT,
    denominator BIGINT,
    value       DOUBLE,
    ci_low      DOUBLE,
    ci_high     DOUBLE,
    method      VARCHAR
);

CREATE TABLE IF NOT EXISTS listing_history (
    run_id          VARCHAR NOT NULL,
    as_of           DATE,
    listing_id      VARCHAR NOT NULL,
    insurer         VARCHAR,
    field           VARCHAR,
    directory_value VARCHAR,
    observed_value  VARCHAR,
    agrees          BOOLEAN,
    evidence_source VARCHAR,
    observation_id  VARCHAR,
    observed_at     TIMESTAMP
);

CREATE OR REPLACE VIEW provider_links AS
SELECT left_id, right_id, score, method, level, kind FROM links;

CREATE OR REPLACE VIEW findings AS
SELECT finding_id, finding_type, insurer, listing_id, npi, provider_name, address, field,
       directory_value, observed_value, evidence_source, evidence_url, evidence_text, observed_at,
       severity, confidence, status, first_seen, last_seen,
       resolved_at, run_id, evidence_sha256, observation_id, link_method, link_score
FROM finding_state;

CREATE OR REPLACE VIEW metrics AS
WITH latest AS (
    SELECT run_id FROM metric_values ORDER BY as_of DESC, computed_at DESC, run_id DESC LIMIT 1
)
SELECT m.insurer, m.plan, m.metric, m.field, m.numerator, m.denominator, m.value, m.ci_low, m.ci_high,
       m.method, m.run_id, m.as_of
FROM metric_values m JOIN latest USING (run_id);
