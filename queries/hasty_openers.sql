-- description: Reps who open many opportunities without closing earlier ones: peak of concurrently open opportunities (against the median rep), open now, days between openings and days to close
-- param: since DATE = 2021-01-01
WITH opps AS (
    SELECT owner_id, created_at, closed_at FROM opportunities WHERE created_at >= $since
),
pace AS (
    SELECT owner_id, median(gap) AS median_days_between_openings
    FROM (
        SELECT owner_id, cycle_days(lag(created_at) OVER (PARTITION BY owner_id ORDER BY created_at), created_at) AS gap
        FROM opps
    )
    GROUP BY owner_id
),
per_rep AS (
    SELECT
        owner_id,
        count(*) AS opened,
        count(closed_at) AS closed,
        count(*) - count(closed_at) AS open_now,
        max_concurrent(created_at, closed_at) AS peak_open,
        median(cycle_days(created_at, closed_at)) AS median_days_to_close
    FROM opps
    GROUP BY owner_id
)
SELECT
    p.owner_id AS rep_id,
    r.name,
    r.team,
    p.opened,
    p.closed,
    p.open_now,
    p.peak_open,
    round(p.peak_open * 1.0 / median(p.peak_open) OVER (), 2) AS peak_vs_median_rep,
    round(g.median_days_between_openings, 2) AS median_days_between_openings,
    round(p.median_days_to_close, 1) AS median_days_to_close
FROM per_rep p
LEFT JOIN pace g ON g.owner_id = p.owner_id
LEFT JOIN reps r ON r.rep_id = p.owner_id
ORDER BY peak_vs_median_rep DESC, rep_id;
