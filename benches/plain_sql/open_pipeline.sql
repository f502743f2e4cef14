-- description: open_pipeline in plain SQL (no sales functions), to compare with queries/open_pipeline.sql
-- param: since DATE = 2021-02-01
-- param: until DATE = 2026-01-01
WITH snapshots AS (
    SELECT CAST(t AS TIMESTAMP) AS as_of
    FROM unnest(generate_series(CAST($since AS DATE), CAST($until AS DATE), INTERVAL '1 month')) AS s(t)
),
owners AS (
    SELECT DISTINCT owner_id FROM opportunities
)
SELECT
    s.as_of,
    w.owner_id AS rep_id,
    count(o.opportunity_id) AS open_opportunities
FROM snapshots s
CROSS JOIN owners w
LEFT JOIN opportunities o
    ON o.owner_id = w.owner_id
    AND o.created_at <= s.as_of
    AND (o.closed_at IS NULL OR o.closed_at > s.as_of)
GROUP BY s.as_of, w.owner_id
ORDER BY s.as_of, w.owner_id;
