-- description: Touches a deal gets before it is won or lost, per segment, and when in the sales cycle they happen (share of touches in each quarter of the cycle)
-- param: since DATE = 2021-01-01
WITH deals AS (
    SELECT opportunity_id, segment, lower(status) AS outcome, created_at, closed_at
    FROM opportunities
    WHERE lower(status) IN ('won', 'lost') AND closed_at >= $since AND closed_at > created_at
),
touches AS (
    SELECT d.opportunity_id, cycle_days(d.created_at, a.occurred_at) / cycle_days(d.created_at, d.closed_at) AS position
    FROM deals d
    JOIN activities a ON a.opportunity_id = d.opportunity_id
    WHERE a.occurred_at >= d.created_at AND a.occurred_at <= d.closed_at
),
per_deal AS (
    SELECT
        d.segment,
        d.outcome,
        d.opportunity_id,
        count(t.opportunity_id) AS touches,
        count(*) FILTER (WHERE t.position < 0.25) AS first_quarter,
        count(*) FILTER (WHERE t.position >= 0.25 AND t.position < 0.5) AS second_quarter,
        count(*) FILTER (WHERE t.position >= 0.5 AND t.position < 0.75) AS third_quarter,
        count(*) FILTER (WHERE t.position >= 0.75) AS last_quarter
    FROM deals d
    LEFT JOIN touches t ON t.opportunity_id = d.opportunity_id
    GROUP BY d.segment, d.outcome, d.opportunity_id
)
SELECT
    segment,
    outcome,
    count(*) AS deals,
    round(avg(touches), 2) AS avg_touches,
    median(touches) AS median_touches,
    round(sum(first_quarter) * 1.0 / nullif(sum(touches), 0), 3) AS share_first_quarter,
    round(sum(second_quarter) * 1.0 / nullif(sum(touches), 0), 3) AS share_second_quarter,
    round(sum(third_quarter) * 1.0 / nullif(sum(touches), 0), 3) AS share_third_quarter,
    round(sum(last_quarter) * 1.0 / nullif(sum(touches), 0), 3) AS share_last_quarter
FROM per_deal
GROUP BY segment, outcome
ORDER BY segment, outcome DESC;
