-- description: conversion_outliers in plain SQL (no sales functions), to compare with queries/conversion_outliers.sql
-- param: since DATE = 2021-01-01
-- param: threshold DOUBLE = -1.5
-- param: min_entered INT = 20
WITH ordered_stages AS (
    SELECT stage, position, lead(stage) OVER (ORDER BY position) AS next_stage
    FROM stages
    WHERE position IS NOT NULL
),
entries AS (
    SELECT opportunity_id, stage FROM stage_history
    UNION ALL
    SELECT opportunity_id, stage FROM opportunities
),
reached AS (
    SELECT e.opportunity_id, max(s.position) AS level
    FROM entries e
    JOIN ordered_stages s ON s.stage = e.stage
    GROUP BY e.opportunity_id
),
levels AS (
    SELECT o.opportunity_id, o.owner_id, r.level
    FROM opportunities o
    JOIN reached r ON r.opportunity_id = o.opportunity_id
    WHERE o.created_at >= $since AND lower(o.status) IN ('won', 'lost')
),
top AS (
    SELECT max(position) AS last_position FROM ordered_stages
),
rep_steps AS (
    SELECT
        l.owner_id,
        s.position,
        s.stage || ' → ' || s.next_stage AS step,
        count(*) FILTER (WHERE l.level >= s.position) AS entered,
        count(*) FILTER (WHERE l.level >= s.position + 1) AS advanced
    FROM levels l
    CROSS JOIN ordered_stages s
    WHERE s.next_stage IS NOT NULL
    GROUP BY l.owner_id, s.position, s.stage, s.next_stage
    UNION ALL
    SELECT l.owner_id, 0 AS position, 'overall' AS step, count(*) AS entered,
        count(*) FILTER (WHERE l.level >= t.last_position) AS advanced
    FROM levels l
    CROSS JOIN top t
    GROUP BY l.owner_id
),
rates AS (
    SELECT rs.owner_id, r.name, r.team, rs.position, rs.step, rs.entered,
        rs.advanced * 1.0 / rs.entered AS rate
    FROM rep_steps rs
    LEFT JOIN reps r ON r.rep_id = rs.owner_id
    WHERE rs.entered >= $min_entered
),
scored AS (
    SELECT *,
        avg(rate) OVER (PARTITION BY team, position) AS team_average,
        stddev_pop(rate) OVER (PARTITION BY team, position) AS team_stddev,
        count(*) OVER (PARTITION BY team, position) AS team_reps
    FROM rates
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
