-- description: Time from creation to close per segment and outcome: average, median and 90th percentile in days, and median business days
-- param: since DATE = 2021-01-01
SELECT
    segment,
    lower(status) AS outcome,
    count(*) AS deals,
    round(avg(cycle_days(created_at, closed_at)), 1) AS avg_days,
    round(median(cycle_days(created_at, closed_at)), 1) AS median_days,
    round(percentile_cont(0.9) WITHIN GROUP (ORDER BY cycle_days(created_at, closed_at)), 1) AS p90_days,
    median(business_days(created_at, closed_at)) AS median_business_days
FROM opportunities
WHERE lower(status) IN ('won', 'lost') AND closed_at >= $since
GROUP BY segment, lower(status)
ORDER BY segment, outcome DESC;
