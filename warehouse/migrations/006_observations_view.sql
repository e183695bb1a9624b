-- 006: the observations view joins each website observation to its site's newest crawl with an
-- equality join (the NULL-safe join of 001 was slow at scale); a website observation without a
-- site_url is kept as it is.
CREATE OR REPLACE VIEW observations AS
WITH latest_site AS (
    SELECT site_url, max(run_id) AS run_id
    FROM observation_records WHERE source = 'website' AND site_url IS NOT NULL GROUP BY site_url
)
SELECT o.observation_id, o.source, o.npi, o.provider_name, o.practice_name, o.address,
       o.city, o.state, o.zip, o.phone, o.accepting_status, o.insurers_accepted,
       o.insurers_not_accepted, o.reachable, o.call_outcome, o.first_appointment,
       o.providers, o.roster_complete, o.departed_providers, o.phones, o.addresses,
       o.site_url, o.evidence_url, o.evidence_text, o.evidence_sha256, o.observed_at,
       o.confidence, o.raw, o.run_id
FROM observation_records o
LEFT JOIN latest_site l ON o.site_url = l.site_url
WHERE o.source <> 'website' OR o.site_url IS NULL OR o.run_id = l.run_id;
