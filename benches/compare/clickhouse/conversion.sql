WITH ordered_stages AS (
    SELECT stage, position,
        leadInFrame(stage) OVER (ORDER BY position ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS next_stage
    FROM stages WHERE position IS NOT NULL
),
reached AS (
    SELECT e.opportunity_id AS opportunity_id, max(s.position) AS level
    FROM (
        SELECT opportunity_id, stage FROM stage_history
        UNION ALL
        SELECT opportunity_id, stage FROM opportunities
    ) e
    INNER JOIN ordered_stages s ON s.stage = e.stage
    GROUP BY e.opportunity_id
),
levels AS (
    SELECT o.opportunity_id AS opportunity_id, o.owner_id AS owner_id, r.level AS level
    FROM opportunities o
    INNER JOIN reached r ON r.opportunity_id = o.opportunity_id
    WHERE o.created_at >= $since AND lower(o.status) IN ('won', 'lost')
),
top AS (SELECT max(position) AS last_position FROM ordered_stages),
rep_steps AS (
    SELECT l.owner_id, s.position, concat(s.stage, ' → ', s.next_stage) AS step,
        countIf(l.level >= s.position) AS entered,
        countIf(l.level >= s.position + 1) AS advanced
    FROM levels l CROSS JOIN ordered_stages s
    WHERE s.next_stage != ''
    GROUP BY l.owner_id, s.position, s.stage, s.next_stage
    UNION ALL
    SELECT l.owner_id, 0, 'overall', count(), countIf(l.level >= (SELECT last_position FROM top))
    FROM levels l
    GROUP BY l.owner_id
),
with_team AS (
    SELECT rs.*, r.name, r.team FROM rep_steps rs LEFT JOIN reps r ON r.rep_id = rs.owner_id
),
team_steps AS (
    SELECT team, position, sum(advanced) / nullIf(sum(entered), 0) AS team_rate FROM with_team GROUP BY team, position
)
SELECT
    w.owner_id AS rep_id, w.name, w.team, w.step, w.entered, w.advanced,
    round(w.advanced / nullIf(w.entered, 0), 4) AS rate,
    round(t.team_rate, 4) AS team_rate,
    round(w.advanced / nullIf(w.entered, 0) - t.team_rate, 4) AS gap
FROM with_team w
LEFT JOIN team_steps t ON t.team = w.team AND t.position = w.position
ORDER BY w.owner_id, w.position
