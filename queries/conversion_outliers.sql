-- description: Reps whose stage conversion is abnormally low compared with their team (z-score of the rep's rate among the team's reps), a coaching signal
-- param: since DATE = 2021-01-01
-- param: threshold DOUBLE = -1.5
-- param: min_entered INT = 20
WITH ordered_stages AS (
    SELECT stage, position, lead(stage) OVER (ORDER BY position) AS next_stage FROM stages WHERE position IS NOT NULL
),
steps AS (
    SELECT position, stage || ' → ' || next_stage AS step FROM ordered_stages WHERE next_stage IS NOT NULL
    UNION ALL
    SELECT 0, 'overall'
),
levels AS (
    -- The furthest stage each opportunity reached (a skipped stage counts as passed).
    SELECT e.opportunity_id, max(s.position) AS level
    FROM (
        SELECT opportunity_id, stage FROM stage_history
        UNION ALL
        SELECT opportunity_id, stage FROM opportunities
    ) e
    JOIN ordered_stages s ON s.stage = e.stage
    GROUP BY e.opportunity_id
),
decided AS (
    SELECT o.opportunity_id, o.owner_id, l.level, o.status
    FROM opportunities o
    JOIN levels l ON l.opportunity_id = o.opportunity_id
    WHERE o.created_at >= $since AND lower(o.status) IN ('won', 'lost')
),
reps_funnel AS (
    SELECT owner_id, funnel(level, 32) AS counts, count(*) AS decided, win_rate(status) AS overall
    FROM decided
    GROUP BY owner_id
),
rates AS (
    SELECT f.owner_id, r.name, r.team, s.position, s.step,
        CASE WHEN s.position = 0 THEN f.decided ELSE f.counts[s.position] END AS entered,
        CASE WHEN s.position = 0 THEN f.overall ELSE step_conversion(f.counts)[s.position] END AS rate
    FROM reps_funnel f
    CROSS JOIN steps s
    LEFT JOIN reps r ON r.rep_id = f.owner_id
),
scored AS (
    SELECT *,
        avg(rate) OVER (PARTITION BY team, position) AS team_average,
        stddev_pop(rate) OVER (PARTITION BY team, position) AS team_stddev,
        count(*) OVER (PARTITION BY team, position) AS team_reps
    FROM rates
    WHERE entered >= $min_entered
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
