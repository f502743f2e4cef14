WITH closed AS (
    SELECT
        segment,
        lower(status) AS outcome,
        (toUnixTimestamp64Micro(closed_at) - toUnixTimestamp64Micro(created_at)) / 86400e6 AS days,
        intDiv(toUnixTimestamp64Micro(created_at), 86400000000) + 3 AS start_day,
        intDiv(toUnixTimestamp64Micro(closed_at), 86400000000) + 3 AS end_day
    FROM opportunities
    WHERE lower(status) IN ('won', 'lost') AND closed_at >= $since
)
SELECT
    segment,
    outcome,
    count() AS deals,
    round(avg(days), 1) AS avg_days,
    round(quantileExactInclusive(0.5)(days), 1) AS median_days,
    round(quantileExactInclusive(0.9)(days), 1) AS p90_days,
    quantileExactInclusive(0.5)(
        if(end_day >= start_day,
           intDiv(end_day, 7) * 5 + least(end_day % 7, 5) - (intDiv(start_day, 7) * 5 + least(start_day % 7, 5)),
           -(intDiv(start_day, 7) * 5 + least(start_day % 7, 5) - (intDiv(end_day, 7) * 5 + least(end_day % 7, 5))))
    ) AS median_business_days
FROM closed
GROUP BY segment, outcome
ORDER BY segment, outcome DESC
