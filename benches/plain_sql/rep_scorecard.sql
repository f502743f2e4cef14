-- description: rep_scorecard in plain SQL (no sales functions), to compare with queries/rep_scorecard.sql
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
entries AS (
    SELECT opportunity_id, stage FROM stage_history
    UNION ALL
    SELECT opportunity_id, stage FROM opportunities
),
depth AS (
    SELECT o.owner_id AS rep_id, o.opportunity_id, max(s.position) AS level
    FROM window_opps o
    JOIN entries e ON e.opportunity_id = o.opportunity_id
    JOIN ordered_stages s ON s.stage = e.stage
    GROUP BY o.owner_id, o.opportunity_id
),
funnel_depth AS (
    SELECT rep_id, round(avg(level), 2) AS avg_stage_reached FROM depth GROUP BY rep_id
),
decided AS (
    -- Bookings, decided deals of the window and deals open at `until`, in one pass.
    SELECT owner_id AS rep_id,
        sum(amount) FILTER (WHERE lower(status) = 'won' AND closed_at >= $since AND closed_at < $until) AS won_amount,
        count(*) FILTER (WHERE created_at >= $since AND created_at < $until AND lower(status) = 'won') AS won,
        count(*) FILTER (WHERE created_at >= $since AND created_at < $until AND lower(status) = 'lost') AS lost,
        count(*) FILTER (WHERE created_at <= $until AND (closed_at IS NULL OR closed_at > $until)) AS open_at_until
    FROM opportunities
    GROUP BY owner_id
),
team_rates AS (
    SELECT r.team, sum(d.won) * 1.0 / nullif(sum(d.won) + sum(d.lost), 0) AS team_win_rate
    FROM decided d
    JOIN reps r ON r.rep_id = d.rep_id
    GROUP BY r.team
),
events AS (
    SELECT owner_id AS rep_id, created_at AS event_at, 1 AS delta FROM window_opps
    UNION ALL
    SELECT owner_id, closed_at, -1 FROM window_opps WHERE closed_at IS NOT NULL
),
running AS (
    SELECT rep_id, sum(delta) OVER (PARTITION BY rep_id ORDER BY event_at, delta ROWS UNBOUNDED PRECEDING) AS open_then
    FROM events
),
openness AS (
    SELECT rep_id, max(open_then) AS peak_open FROM running GROUP BY rep_id
)
SELECT
    r.rep_id,
    r.name,
    r.team,
    coalesce(a.touches, 0) AS touches,
    coalesce(a.accounts_touched, 0) AS accounts_touched,
    t.quota,
    coalesce(d.won_amount, 0) AS won_amount,
    round(CAST(coalesce(d.won_amount, 0) AS DOUBLE) / CAST(t.quota AS DOUBLE), 4) AS attainment,
    coalesce(d.won, 0) + coalesce(d.lost, 0) AS decided,
    round(d.won * 1.0 / nullif(d.won + d.lost, 0), 4) AS win_rate,
    round(tr.team_win_rate, 4) AS team_win_rate,
    f.avg_stage_reached,
    coalesce(d.open_at_until, 0) AS open_at_until,
    coalesce(o.peak_open, 0) AS peak_open
FROM reps r
LEFT JOIN reach a ON a.rep_id = r.rep_id
LEFT JOIN targets t ON t.rep_id = r.rep_id
LEFT JOIN decided d ON d.rep_id = r.rep_id
LEFT JOIN team_rates tr ON tr.team = r.team
LEFT JOIN funnel_depth f ON f.rep_id = r.rep_id
LEFT JOIN openness o ON o.rep_id = r.rep_id
ORDER BY r.rep_id;
