-- description: One row per rep with the five metrics over a window: activity reach, quota attainment, funnel depth, conversion against the team, and open opportunities (at the instant `until` and at peak)
-- param: since DATE = 2025-01-01
-- param: until DATE = 2026-01-01
WITH window_opps AS (
    SELECT * FROM opportunities WHERE created_at >= $since AND created_at < $until
),
reach AS (
    SELECT rep_id, count(*) AS touches, count(DISTINCT account_id) AS accounts_touched
    FROM activities
    WHERE occurred_at >= $since AND occurred_at < $until
    GROUP BY rep_id
),
targets AS (
    SELECT rep_id, sum(amount) AS quota
    FROM quotas
    WHERE lower(period) = 'month' AND period_start >= $since AND period_start < $until
    GROUP BY rep_id
),
ordered_stages AS (
    SELECT stage, position FROM stages WHERE position IS NOT NULL
),
depth AS (
    -- The furthest stage each opportunity of the window reached, averaged per rep.
    SELECT rep_id, round(avg(level), 2) AS avg_stage_reached
    FROM (
        SELECT o.opportunity_id, max(o.owner_id) AS rep_id, max(s.position) AS level
        FROM window_opps o
        JOIN (
            SELECT opportunity_id, stage FROM stage_history
            UNION ALL
            SELECT opportunity_id, stage FROM opportunities
        ) e ON e.opportunity_id = o.opportunity_id
        JOIN ordered_stages s ON s.stage = e.stage
        GROUP BY o.opportunity_id
    )
    GROUP BY rep_id
),
per_rep AS (
    -- Every figure that comes from opportunities alone, in one pass over them.
    SELECT
        owner_id AS rep_id,
        sum(amount) FILTER (
            WHERE lower(status) = 'won' AND closed_at >= $since AND closed_at < $until
        ) AS won_amount,
        count(*) FILTER (
            WHERE created_at >= $since AND created_at < $until AND lower(status) = 'won'
        ) AS won,
        count(*) FILTER (
            WHERE created_at >= $since AND created_at < $until AND lower(status) IN ('won', 'lost')
        ) AS decided,
        win_rate(status) FILTER (WHERE created_at >= $since AND created_at < $until) AS win_rate,
        max_concurrent(created_at, closed_at) FILTER (
            WHERE created_at >= $since AND created_at < $until
        ) AS peak_open,
        count(*) FILTER (WHERE open_at(created_at, closed_at, $until)) AS open_at_until
    FROM opportunities
    GROUP BY owner_id
)
SELECT
    r.rep_id,
    r.name,
    r.team,
    coalesce(a.touches, 0) AS touches,
    coalesce(a.accounts_touched, 0) AS accounts_touched,
    t.quota,
    coalesce(p.won_amount, 0) AS won_amount,
    round(CAST(coalesce(p.won_amount, 0) AS DOUBLE) / CAST(t.quota AS DOUBLE), 4) AS attainment,
    coalesce(p.decided, 0) AS decided,
    round(p.win_rate, 4) AS win_rate,
    -- The team's win rate (won ÷ decided over its reps' opportunities of the window).
    CASE WHEN r.team IS NOT NULL THEN round(
        CAST(sum(p.won) OVER (PARTITION BY r.team) AS DOUBLE)
            / CAST(nullif(sum(p.decided) OVER (PARTITION BY r.team), 0) AS DOUBLE),
        4) END AS team_win_rate,
    d.avg_stage_reached,
    coalesce(p.open_at_until, 0) AS open_at_until,
    coalesce(p.peak_open, 0) AS peak_open
FROM reps r
LEFT JOIN reach a ON a.rep_id = r.rep_id
LEFT JOIN targets t ON t.rep_id = r.rep_id
LEFT JOIN per_rep p ON p.rep_id = r.rep_id
LEFT JOIN depth d ON d.rep_id = r.rep_id
ORDER BY r.rep_id;
