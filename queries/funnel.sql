-- description: Stage funnel per quarter of creation: opportunities reaching each stage (in the order of the stages table), step conversions, the funnel's shape (1 = it narrows by the same ratio at every step) and its leakiest step
-- param: since DATE = 2021-01-01
WITH ordered_stages AS (
    SELECT stage, position FROM stages WHERE position IS NOT NULL
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
cohort_levels AS (
    SELECT date_trunc('quarter', o.created_at) AS cohort, l.level
    FROM opportunities o
    JOIN levels l ON l.opportunity_id = o.opportunity_id
    WHERE o.created_at >= $since
),
cohorts AS (
    SELECT l.cohort, array_slice(funnel(l.level, 32), 1, max(n.stages)) AS stage_counts
    FROM cohort_levels l
    CROSS JOIN (SELECT count(*) AS stages FROM ordered_stages) n
    GROUP BY l.cohort
)
SELECT
    CAST(c.cohort AS DATE) AS cohort,
    c.stage_counts[1] AS opportunities,
    c.stage_counts,
    step_conversion(c.stage_counts) AS step_conversion,
    round(funnel_shape(c.stage_counts), 4) AS shape,
    leak.stage || ' → ' || next.stage AS leakiest_step
FROM cohorts c
LEFT JOIN ordered_stages leak ON leak.position = funnel_leak(c.stage_counts)
LEFT JOIN ordered_stages next ON next.position = funnel_leak(c.stage_counts) + 1
ORDER BY 1;
