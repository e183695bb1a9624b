-- 004: per-source crawl statistics (sites reached/unreachable with their errors, pages rendered/truncated).
ALTER TABLE source_runs ADD COLUMN IF NOT EXISTS stats JSON;
