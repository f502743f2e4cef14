-- description: Stage-to-stage and overall conversion of decided (won or lost) opportunities per rep, next to the rep's team
-- param: since DATE = 2021-01-01
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
    -- Per rep: how many decided opportunities reached each stage, and how many were won.
    SELECT owner_id, funnel(level, 32) AS counts, count(*) AS decided, count(*) FILTER (WHERE lower(status) = 'won') AS won
    FROM decided
    GROUP BY owner_id
),
rep_steps AS (
    SELECT f.owner_id, r.name, r.team, s.position, s.step,
        CASE WHEN s.position = 0 THEN f.decided ELSE f.counts[s.position] END AS entered,
        CASE WHEN s.position = 0 THEN f.won ELSE f.counts[s.position + 1] END AS advanced
    FROM reps_funnel f
    CROSS JOIN steps s
    LEFT JOIN reps r ON r.rep_id = f.owner_id
),
rates AS (
    SELECT *,
        advanced * 1.0 / nullif(entered, 0) AS rate,
        sum(advanced) OVER (PARTITION BY team, position) * 1.0
            / nullif(sum(entered) OVER (PARTITION BY team, position), 0) AS team_rate
    FROM rep_steps
)
SELECT
    owner_id AS rep_id,
    name,
    team,
    step,
    entered,
    advanced,
    round(rate, 4) AS rate,
    round(team_rate, 4) AS team_rate,
    round(rate - team_rate, 4) AS gap
FROM rates
ORDER BY owner_id, position;
