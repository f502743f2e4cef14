WITH
    (SELECT count() FROM stages WHERE position IS NOT NULL) AS steps,
    (SELECT arraySort(x -> x.1, groupArray((position, stage))) FROM stages WHERE position IS NOT NULL) AS ordered,
reached AS (
    SELECT e.opportunity_id AS opportunity_id, max(s.position) AS level
    FROM (
        SELECT opportunity_id, stage FROM stage_history
        UNION ALL
        SELECT opportunity_id, stage FROM opportunities
    ) e
    INNER JOIN (SELECT stage, position FROM stages WHERE position IS NOT NULL) s ON s.stage = e.stage
    GROUP BY e.opportunity_id
),
levels AS (
    SELECT o.opportunity_id AS opportunity_id, toStartOfQuarter(o.created_at) AS cohort, r.level AS level
    FROM opportunities o
    INNER JOIN reached r ON r.opportunity_id = o.opportunity_id
    WHERE o.created_at >= $since
),
counts AS (
    SELECT cohort, arrayMap(k -> toInt64(arrayCount(x -> x >= k, groupArray(level))), range(1, steps + 1)) AS stage_counts
    FROM levels
    GROUP BY cohort
),
shaped AS (
    SELECT cohort, stage_counts,
        arrayMap(i -> if(stage_counts[i] = 0, NULL, stage_counts[i + 1] / stage_counts[i]), range(1, steps)) AS conversion,
        arrayFirstIndex(x -> x = 0, stage_counts) AS first_zero,
        arrayMap(x -> assumeNotNull(x), arraySlice(conversion, 1, if(first_zero = 0, steps - 1, first_zero - 1))) AS defined,
        arrayAvg(defined) AS mean,
        sqrt(arrayAvg(arrayMap(r -> (r - mean) * (r - mean), defined))) AS deviation,
        arrayFirstIndex(r -> r = arrayMin(defined), defined) AS leak
    FROM counts
)
SELECT
    toDate(cohort) AS cohort,
    stage_counts[1] AS opportunities,
    stage_counts,
    conversion AS step_conversion,
    round(if(length(defined) = 0, NULL, if(mean = 0, 0, greatest(0, 1 - deviation / mean))), 4) AS shape,
    if(leak = 0, NULL, concat(ordered[leak].2, ' → ', ordered[leak + 1].2)) AS leakiest_step
FROM shaped
ORDER BY cohort
