-- description: cycle_time in plain SQL (no sales functions), to compare with queries/cycle_time.sql
-- param: since DATE = 2021-01-01
WITH closed AS (
    SELECT
        segment,
        lower(status) AS outcome,
        (date_part('epoch', closed_at) - date_part('epoch', created_at)) / 86400.0 AS days,
        -- Weekdays before each date, counted from Monday 1969-12-29.
        CAST(floor(date_part('epoch', CAST(created_at AS DATE)) / 86400) AS BIGINT) + 3 AS start_day,
        CAST(floor(date_part('epoch', CAST(closed_at AS DATE)) / 86400) AS BIGINT) + 3 AS end_day
    FROM opportunities
    WHERE lower(status) IN ('won', 'lost') AND closed_at >= $since
)
SELECT
    segment,
    outcome,
    count(*) AS deals,
    round(avg(days), 1) AS avg_days,
    round(median(days), 1) AS median_days,
    round(percentile_cont(0.9) WITHIN GROUP (ORDER BY days), 1) AS p90_days,
    median(
        CASE WHEN end_day >= start_day
            THEN floor(end_day / 7.0) * 5 + least(end_day % 7, 5) - (floor(start_day / 7.0) * 5 + least(start_day % 7, 5))
            ELSE -(floor(start_day / 7.0) * 5 + least(start_day % 7, 5) - (floor(end_day / 7.0) * 5 + least(end_day % 7, 5)))
        END
    ) AS median_business_days
FROM closed
GROUP BY segment, outcome
ORDER BY segment, outcome DESC;
