-- description: funnel in plain SQL (no sales functions), to compare with queries/funnel.sql
-- param: since DATE = 2021-01-01
WITH ordered_stages AS (
    SELECT stage, position FROM stages WHERE position IS NOT NULL
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
    SELECT o.opportunity_id, date_trunc('quarter', o.created_at) AS cohort, r.level
    FROM opportunities o
    JOIN reached r ON r.opportunity_id = o.opportunity_id
    WHERE o.created_at >= $since
),
counts AS (
    SELECT l.cohort, s.position, s.stage, count(*) FILTER (WHERE l.level >= s.position) AS reached
    FROM levels l
    CROSS JOIN ordered_stages s
    GROUP BY l.cohort, s.position, s.stage
),
steps AS (
    SELECT
        cohort,
        position,
        stage,
        reached,
        lead(stage) OVER (PARTITION BY cohort ORDER BY position) AS next_stage,
        CASE WHEN reached > 0
            THEN lead(reached) OVER (PARTITION BY cohort ORDER BY position) * 1.0 / reached
        END AS conversion
    FROM counts
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY cohort ORDER BY conversion ASC NULLS LAST, position) AS leak_rank
    FROM steps
    WHERE next_stage IS NOT NULL
)
SELECT
    CAST(c.cohort AS DATE) AS cohort,
    max(c.reached) AS opportunities,
    array_agg(c.reached ORDER BY c.position) AS stage_counts,
    array_agg(c.conversion ORDER BY c.position) FILTER (WHERE c.next_stage IS NOT NULL) AS step_conversion,
    round(CASE
        WHEN avg(c.conversion) = 0 THEN 0
        ELSE greatest(0, 1 - stddev_pop(c.conversion) / avg(c.conversion))
    END, 4) AS shape,
    max(CASE WHEN c.leak_rank = 1 AND c.conversion IS NOT NULL THEN c.stage || ' → ' || c.next_stage END) AS leakiest_step
FROM (
    SELECT s.*, r.leak_rank
    FROM steps s
    LEFT JOIN ranked r ON r.cohort = s.cohort AND r.position = s.position
) c
GROUP BY c.cohort
ORDER BY 1;
