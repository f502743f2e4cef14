WITH opps AS (
    SELECT owner_id, created_at, closed_at FROM opportunities WHERE created_at >= $since
),
events AS (
    SELECT owner_id, created_at AS event_at, 1 AS delta FROM opps
    UNION ALL
    SELECT owner_id, assumeNotNull(closed_at), -1 FROM opps WHERE closed_at IS NOT NULL
),
peaks AS (
    SELECT owner_id, max(open_then) AS peak_open
    FROM (
        SELECT owner_id,
            sum(delta) OVER (PARTITION BY owner_id ORDER BY event_at, delta ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS open_then
        FROM events
    )
    GROUP BY owner_id
),
pace AS (
    SELECT owner_id, quantileExactInclusive(0.5)(days_since_previous) AS median_days_between_openings
    FROM (
        SELECT owner_id,
            (toUnixTimestamp64Micro(created_at) - toUnixTimestamp64Micro(previous)) / 86400e6 AS days_since_previous,
            rank
        FROM (
            SELECT owner_id, created_at,
                lagInFrame(created_at) OVER (PARTITION BY owner_id ORDER BY created_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS previous,
                row_number() OVER (PARTITION BY owner_id ORDER BY created_at) AS rank
            FROM opps
        )
    )
    WHERE rank > 1
    GROUP BY owner_id
),
per_rep AS (
    SELECT owner_id,
        count() AS opened,
        count(closed_at) AS closed,
        count() - count(closed_at) AS open_now,
        quantileExactInclusive(0.5)((toUnixTimestamp64Micro(closed_at) - toUnixTimestamp64Micro(created_at)) / 86400e6) AS median_days_to_close
    FROM opps
    GROUP BY owner_id
)
SELECT
    p.owner_id AS rep_id, r.name, r.team, p.opened, p.closed, p.open_now, k.peak_open,
    round(k.peak_open / quantileExactInclusive(0.5)(k.peak_open) OVER (), 2) AS peak_vs_median_rep,
    round(g.median_days_between_openings, 2) AS median_days_between_openings,
    round(p.median_days_to_close, 1) AS median_days_to_close
FROM per_rep p
INNER JOIN peaks k ON k.owner_id = p.owner_id
LEFT JOIN pace g ON g.owner_id = p.owner_id
LEFT JOIN reps r ON r.rep_id = p.owner_id
ORDER BY peak_vs_median_rep DESC, rep_id
