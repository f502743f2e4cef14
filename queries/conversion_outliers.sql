-- description: Reps whose stage conversion is abnormally low compared with their team (z-score of the rep's rate among the team's reps), a coaching signal
-- param: since DATE = 2021-01-01
-- param: threshold DOUBLE = -1.5
-- param: min_entered INT = 20
WITH ordered_stages AS (
    SELECT stage, position, lead(stage) OVER (ORDER BY position) AS next_stage FROM stages WHERE position IS NOT NULL
),
entries AS (
    SELECT opportunity_id, stage FROM stage_history
    UNION ALL
    SELECT opportunity_id, stage FROM opportunities
),
decided AS (
    SELECT o.opportunity_id, o.owner_id, max(s.position) AS level, min(o.status) AS status
    FROM opportunities o
    JOIN entries e ON e.opportunity_id = o.opportunity_id
    JOIN ordered_stages s ON s.stage = e.stage
    WHERE o.created_at >= $since AND lower(o.status) IN ('won', 'lost')
    GROUP BY o.opportunity_id, o.owner_id
),
reps_funnel AS (
    SELECT owner_id, funnel(level, 32) AS counts, win_rate(status) AS overall, count(*) AS decided
    FROM decided GROUP BY owner_id
),
rates AS (
    SELECT f.owner_id, s.position, s.stage || ' → ' || s.next_stage AS step,
        f.counts[s.position] AS entered, step_conversion(f.counts)[s.position] AS rate
    FROM reps_funnel f
    CROSS JOIN ordered_stages s
    WHERE s.next_stage IS NOT NULL
    UNION ALL
    SELECT owner_id, 0, 'overall', decided, overall FROM reps_funnel
),
scored AS (
    SELECT rt.*, r.name, r.team,
        avg(rt.rate) OVER (PARTITION BY r.team, rt.position) AS team_average,
        stddev_pop(rt.rate) OVER (PARTITION BY r.team, rt.position) AS team_stddev,
        count(*) OVER (PARTITION BY r.team, rt.position) AS team_reps
    FROM rates rt
    LEFT JOIN reps r ON r.rep_id = rt.owner_id
    WHERE rt.entered >= $min_entered
)
SELECT
    owner_id AS rep_id,
    name,
    team,
    step,
    entered,
    round(rate, 4) AS rate,
    round(team_average, 4) AS team_average,
    round((rate - team_average) / team_stddev, 2) AS z_score
FROM scored
WHERE team_reps >= 3 AND team_stddev > 0 AND (rate - team_average) / team_stddev <= $threshold
ORDER BY z_score, rep_id, position;
