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
bookings AS (
    SELECT owner_id AS rep_id, sum(amount) AS won_amount
    FROM opportunities
    WHERE lower(status) = 'won' AND closed_at >= $since AND closed_at < $until
    GROUP BY owner_id
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
pipeline AS (
    SELECT
        o.owner_id AS rep_id,
        r.team,
        count(*) FILTER (WHERE lower(o.status) IN ('won', 'lost')) AS decided,
        win_rate(o.status) AS win_rate,
        max_concurrent(o.created_at, o.closed_at) AS peak_open
    FROM window_opps o
    LEFT JOIN reps r ON r.rep_id = o.owner_id
    GROUP BY o.owner_id, r.team
),
team_rates AS (
    SELECT r.team, win_rate(o.status) AS team_win_rate
    FROM window_opps o
    JOIN reps r ON r.rep_id = o.owner_id
    GROUP BY r.team
),
open_at_end AS (
    SELECT owner_id AS rep_id, count(*) AS open_at_until
    FROM opportunities
    WHERE open_at(created_at, closed_at, $until)
    GROUP BY owner_id
)
SELECT
    r.rep_id,
    r.name,
    r.team,
    coalesce(a.touches, 0) AS touches,
    coalesce(a.accounts_touched, 0) AS accounts_touched,
    t.quota,
    coalesce(b.won_amount, 0) AS won_amount,
    round(CAST(coalesce(b.won_amount, 0) AS DOUBLE) / CAST(t.quota AS DOUBLE), 4) AS attainment,
    coalesce(p.decided, 0) AS decided,
    round(p.win_rate, 4) AS win_rate,
    round(tr.team_win_rate, 4) AS team_win_rate,
    d.avg_stage_reached,
    coalesce(e.open_at_until, 0) AS open_at_until,
    coalesce(p.peak_open, 0) AS peak_open
FROM reps r
LEFT JOIN reach a ON a.rep_id = r.rep_id
LEFT JOIN bookings b ON b.rep_id = r.rep_id
LEFT JOIN targets t ON t.rep_id = r.rep_id
LEFT JOIN pipeline p ON p.rep_id = r.rep_id
LEFT JOIN team_rates tr ON tr.team = r.team
LEFT JOIN depth d ON d.rep_id = r.rep_id
LEFT JOIN open_at_end e ON e.rep_id = r.rep_id
ORDER BY r.rep_id;
