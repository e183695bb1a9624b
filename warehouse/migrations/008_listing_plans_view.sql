-- 008: `listing_plans` becomes a view over directory_listings.plans (the same rows and columns).
-- The loader wrote every plan twice: as the listing's `plans` JSON and as a listing_plans row. Writing the
-- rows was ~45% of a QHP load (7.7M plan rows per 2.6M listings); parsing the JSON when read is ~0.6 s per
-- 7.7M plans. Plan rows of existing warehouses are rebuilt from the listings they came from.
DROP TABLE IF EXISTS listing_plans;
CREATE OR REPLACE VIEW listing_plans AS
SELECT listing_id, run_id, insurer, p.plan_id, p.plan_id_type, p.network_tier, p.years::VARCHAR AS years
FROM (
    SELECT d.listing_id, d.run_id, d.insurer, unnest(json_transform(d.plans, '[{"plan_id": "VARCHAR", "plan_id_type": "VARCHAR", "network_tier": "VARCHAR", "years": "JSON"}]')) AS p
    FROM directory_listings d
    WHERE d.plans IS NOT NULL AND json_type(d.plans) = 'ARRAY'
);
