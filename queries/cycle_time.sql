-- description: Days from creation to close per segment and outcome: average, median and 90th percentile
-- param: since DATE = 2021-01-01
WITH closed AS (
    SELECT
        segment,
        lower(status) AS outcome,
        (date_part('epoch', closed_at) - date_part('epoch', created_at)) / 86400.0 AS days
    FROM opportunities
    WHERE lower(status) IN ('won', 'lost') AND closed_at >= $since
)
SELECT
    segment,
    outcome,
    count(*) AS deals,
    round(avg(days), 1) AS avg_days,
    round(median(days), 1) AS median_days,
    round(percentile_cont(0.9) WITHIN GROUP (ORDER BY days), 1) AS p90_days
FROM closed
GROUP BY segment, outcome
ORDER BY segment, outcome DESC;
