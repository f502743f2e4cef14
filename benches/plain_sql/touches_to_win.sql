-- description: touches_to_win in plain SQL (no sales functions), to compare with queries/touches_to_win.sql
-- param: since DATE = 2021-01-01
WITH deals AS (
    SELECT opportunity_id, segment, lower(status) AS outcome, created_at, closed_at
    FROM opportunities
    WHERE lower(status) IN ('won', 'lost') AND closed_at >= $since AND closed_at > created_at
),
touches AS (
    SELECT
        d.opportunity_id,
        (date_part('epoch', a.occurred_at) - date_part('epoch', d.created_at))
            / (date_part('epoch', d.closed_at) - date_part('epoch', d.created_at)) AS cycle_position
    FROM deals d
    JOIN activities a ON a.opportunity_id = d.opportunity_id
    WHERE a.occurred_at >= d.created_at AND a.occurred_at <= d.closed_at
),
touch_counts AS (
    SELECT
        opportunity_id,
        count(*) AS touches,
        count(*) FILTER (WHERE cycle_position < 0.25) AS first_quarter,
        count(*) FILTER (WHERE cycle_position >= 0.25 AND cycle_position < 0.5) AS second_quarter,
        count(*) FILTER (WHERE cycle_position >= 0.5 AND cycle_position < 0.75) AS third_quarter,
        count(*) FILTER (WHERE cycle_position >= 0.75) AS last_quarter
    FROM touches
    GROUP BY opportunity_id
),
per_deal AS (
    SELECT
        d.segment,
        d.outcome,
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
