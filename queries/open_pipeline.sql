-- description: Open opportunities per rep at each month end from `since` to `until` (open at the instant a month ends: created at or before it, not yet closed)
-- param: since DATE = 2021-02-01
-- param: until DATE = 2026-01-01
WITH series AS (
    SELECT owner_id, open_series(created_at, closed_at, $since, $until, INTERVAL '1 month') AS open
    FROM opportunities
    GROUP BY owner_id
)
SELECT
    CAST(unnest(generate_series(CAST($since AS DATE), CAST($until AS DATE), INTERVAL '1 month')) AS TIMESTAMP) AS as_of,
    owner_id AS rep_id,
    unnest(open) AS open_opportunities
FROM series
ORDER BY as_of, rep_id;
