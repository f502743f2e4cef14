WITH deals AS (
    SELECT opportunity_id, segment, lower(status) AS outcome, created_at, closed_at
    FROM opportunities
    WHERE lower(status) IN ('won', 'lost') AND closed_at >= $since AND closed_at > created_at
),
touches AS (
    SELECT d.opportunity_id,
        (toUnixTimestamp64Micro(a.occurred_at) - toUnixTimestamp64Micro(d.created_at))
            / (toUnixTimestamp64Micro(d.closed_at) - toUnixTimestamp64Micro(d.created_at)) AS position
    FROM deals d
    INNER JOIN activities a ON a.opportunity_id = d.opportunity_id
    WHERE a.occurred_at >= d.created_at AND a.occurred_at <= d.closed_at
),
touch_counts AS (
    SELECT opportunity_id,
        count() AS touches,
        countIf(position < 0.25) AS first_quarter,
        countIf(position >= 0.25 AND position < 0.5) AS second_quarter,
        countIf(position >= 0.5 AND position < 0.75) AS third_quarter,
        countIf(position >= 0.75) AS last_quarter
    FROM touches
    GROUP BY opportunity_id
),
per_deal AS (
    SELECT d.segment, d.outcome,
        coalesce(t.touches, 0) AS touches,
        coalesce(t.first_quarter, 0) AS first_quarter,
        coalesce(t.second_quarter, 0) AS second_quarter,
        coalesce(t.third_quarter, 0) AS third_quarter,
        coalesce(t.last_quarter, 0) AS last_quarter
    FROM deals d
    LEFT JOIN touch_counts t ON t.opportunity_id = d.opportunity_id
)
SELECT
    segment,
    outcome,
    count() AS deals,
    round(avg(touches), 2) AS avg_touches,
    quantileExactInclusive(0.5)(touches) AS median_touches,
    round(sum(first_quarter) / nullIf(sum(touches), 0), 3) AS share_first_quarter,
    round(sum(second_quarter) / nullIf(sum(touches), 0), 3) AS share_second_quarter,
    round(sum(third_quarter) / nullIf(sum(touches), 0), 3) AS share_third_quarter,
    round(sum(last_quarter) / nullIf(sum(touches), 0), 3) AS share_last_quarter
FROM per_deal
GROUP BY segment, outcome
ORDER BY segment, outcome DESC
