-- 005: recommended action per finding (reconcile/actions.py): what the insurer should do, the value to publish,
-- and why. The findings view keeps every earlier column in its order and appends the new ones.
ALTER TABLE finding_state ADD COLUMN IF NOT EXISTS recommended_action VARCHAR;  -- update | remove_from_location | remove_from_network | verify | suppress_until_verified
ALTER TABLE finding_state ADD COLUMN IF NOT EXISTS proposed_value VARCHAR;      -- normalized value to publish (update only)
ALTER TABLE finding_state ADD COLUMN IF NOT EXISTS action_reason VARCHAR;       -- one line: the evidence, or who to call and what to ask

CREATE OR REPLACE VIEW findings AS
SELECT finding_id, finding_type, insurer, listing_id, npi, provider_name, address, field,
       directory_value, observed_value, evidence_source, evidence_url, evidence_text, observed_at,
       severity, confidence, status, first_seen, last_seen,
       resolved_at, run_id, evidence_sha256, observation_id, link_method, link_score,
       recommended_action, proposed_value, action_reason
FROM finding_state;
