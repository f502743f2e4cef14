-- description: Stage-to-stage and overall conversion of decided (won or lost) opportunities per rep, next to the rep's team
-- param: since DATE = 2021-01-01
WITH ordered_stages AS (
    SELECT stage, position, lead(stage) OVER (ORDER BY position) AS next_stage FROM stages WHERE position IS NOT NULL
),
entries AS (
    SELECT opportunity_id, stage FROM stage_history
    UNION ALL
    SELECT opportunity_id, stage FROM opportunities
),
decided AS (
    SELECT o.opportunity_id, o.owner_id, r.team, max(s.position) AS level, min(o.status) AS status
    FROM opportunities o
    JOIN entries e ON e.opportunity_id = o.opportunity_id
    JOIN ordered_stages s ON s.stage = e.stage
    LEFT JOIN reps r ON r.rep_id = o.owner_id
    WHERE o.created_at >= $since AND lower(o.status) IN ('won', 'lost')
    GROUP BY o.opportunity_id, o.owner_id, r.team
),
reps_funnel AS (
    SELECT owner_id, team, funnel(level, 32) AS counts, win_rate(status) AS overall, count(*) AS decided
    FROM decided GROUP BY owner_id, team
),
teams_funnel AS (
    SELECT team, funnel(level, 32) AS counts, win_rate(status) AS overall FROM decided GROUP BY team
),
steps AS (
    SELECT f.owner_id, f.team, s.position, s.stage || ' → ' || s.next_stage AS step,
        f.counts[s.position] AS entered, f.counts[s.position + 1] AS advanced,
        step_conversion(f.counts)[s.position] AS rate,
        step_conversion(t.counts)[s.position] AS team_rate
    FROM reps_funnel f
    JOIN teams_funnel t ON t.team IS NOT DISTINCT FROM f.team
    CROSS JOIN ordered_stages s
    WHERE s.next_stage IS NOT NULL
    UNION ALL
    SELECT f.owner_id, f.team, 0, 'overall', f.decided, CAST(round(f.overall * f.decided) AS BIGINT), f.overall, t.overall
    FROM reps_funnel f
    JOIN teams_funnel t ON t.team IS NOT DISTINCT FROM f.team
)
SELECT
    s.owner_id AS rep_id,
    r.name,
    s.team,
    s.step,
    s.entered,
    s.advanced,
    round(s.rate, 4) AS rate,
    round(s.team_rate, 4) AS team_rate,
    round(s.rate - s.team_rate, 4) AS gap
FROM steps s
LEFT JOIN reps r ON r.rep_id = s.owner_id
ORDER BY s.owner_id, s.position;
