-- description: hasty_openers in plain SQL (no sales functions), to compare with queries/hasty_openers.sql
-- param: since DATE = 2021-01-01
WITH opps AS (
    SELECT owner_id, created_at, closed_at FROM opportunities WHERE created_at >= $since
),
events AS (
    SELECT owner_id, created_at AS event_at, 1 AS delta FROM opps
    UNION ALL
    SELECT owner_id, closed_at AS event_at, -1 AS delta FROM opps WHERE closed_at IS NOT NULL
),
running AS (
    SELECT owner_id,
        sum(delta) OVER (PARTITION BY owner_id ORDER BY event_at, delta ROWS UNBOUNDED PRECEDING) AS open_then
    FROM events
),
peaks AS (
    SELECT owner_id, max(open_then) AS peak_open FROM running GROUP BY owner_id
),
gaps AS (
    SELECT owner_id,
        (date_part('epoch', created_at)
            - date_part('epoch', lag(created_at) OVER (PARTITION BY owner_id ORDER BY created_at))) / 86400.0 AS days_since_previous
    FROM opps
),
pace AS (
    SELECT owner_id, median(days_since_previous) AS median_days_between_openings FROM gaps GROUP BY owner_id
),
per_rep AS (
    SELECT
        owner_id,
        count(*) AS opened,
        count(closed_at) AS closed,
        count(*) - count(closed_at) AS open_now,
        median((date_part('epoch', closed_at) - date_part('epoch', created_at)) / 86400.0) AS median_days_to_close
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
    k.peak_open,
    round(k.peak_open * 1.0 / median(k.peak_open) OVER (), 2) AS peak_vs_median_rep,
    round(g.median_days_between_openings, 2) AS median_days_between_openings,
    round(p.median_days_to_close, 1) AS median_days_to_close
FROM per_rep p
JOIN peaks k ON k.owner_id = p.owner_id
LEFT JOIN pace g ON g.owner_id = p.owner_id
LEFT JOIN reps r ON r.rep_id = p.owner_id
ORDER BY peak_vs_median_rep DESC, rep_id;
