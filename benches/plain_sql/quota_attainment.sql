-- description: quota_attainment in plain SQL (no sales functions), to compare with queries/quota_attainment.sql
-- param: period VARCHAR = quarter
-- param: fiscal_start INT = 1
WITH settings AS (
    SELECT lower($period) AS granularity, CAST($fiscal_start AS BIGINT) AS start_month
),
events AS (
    SELECT owner_id AS rep_id, closed_at AS at, amount AS won_amount, CAST(0 AS DECIMAL(18, 2)) AS quota_amount
    FROM opportunities
    WHERE lower(status) = 'won' AND closed_at IS NOT NULL
    UNION ALL
    SELECT rep_id, CAST(period_start AS TIMESTAMP) AS at, CAST(0 AS DECIMAL(18, 2)) AS won_amount, amount AS quota_amount
    FROM quotas
    WHERE lower(period) = 'month'
),
indexed AS (
    SELECT e.rep_id, e.won_amount, e.quota_amount, s.granularity, s.start_month,
        CAST(date_part('year', e.at) AS BIGINT) * 12 + CAST(date_part('month', e.at) AS BIGINT) - 1 AS month_index
    FROM events e
    CROSS JOIN settings s
),
periods AS (
    SELECT rep_id, won_amount, quota_amount, start_month,
        CASE granularity
            WHEN 'month' THEN month_index
            WHEN 'quarter' THEN month_index - (((month_index - (start_month - 1)) % 3) + 3) % 3
            WHEN 'year' THEN month_index - (((month_index - (start_month - 1)) % 12) + 12) % 12
        END AS start_index
    FROM indexed
),
per_rep AS (
    SELECT rep_id, start_index, start_month, sum(quota_amount) AS quota, sum(won_amount) AS won
    FROM periods
    WHERE start_index IS NOT NULL
    GROUP BY rep_id, start_index, start_month
),
with_company AS (
    SELECT rep_id, start_index, start_month, quota, won FROM per_rep
    UNION ALL
    SELECT NULL AS rep_id, start_index, start_month, sum(quota), sum(won) FROM per_rep GROUP BY start_index, start_month
),
labelled AS (
    SELECT *,
        start_index - (((start_index - (start_month - 1)) % 12) + 12) % 12 AS year_start_index,
        CASE WHEN quota > 0 THEN CAST(won AS DOUBLE) / CAST(quota AS DOUBLE) END AS attainment
    FROM with_company
)
SELECT
    make_date(CAST(floor(start_index / 12.0) AS BIGINT), CAST(start_index % 12 + 1 AS BIGINT), 1) AS period_start,
    CAST(floor((year_start_index + 11) / 12.0) AS BIGINT) AS fiscal_year,
    CAST(floor(((((start_index - (start_month - 1)) % 12) + 12) % 12) / 3.0) AS BIGINT) + 1 AS fiscal_quarter,
    l.rep_id,
    CASE WHEN l.rep_id IS NULL THEN 'company' ELSE r.name END AS name,
    l.quota,
    l.won,
    round(l.attainment, 4) AS attainment,
    round(l.attainment - lag(l.attainment) OVER (PARTITION BY l.rep_id ORDER BY l.start_index), 4) AS change
FROM labelled l
LEFT JOIN reps r ON r.rep_id = l.rep_id
ORDER BY l.start_index, l.rep_id NULLS FIRST;
