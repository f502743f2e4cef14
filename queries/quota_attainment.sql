-- description: Quota attainment per rep and for the company by fiscal month, quarter or year (won amount ÷ the monthly quotas falling in the period), with the change from the previous period
-- param: period VARCHAR = quarter
-- param: fiscal_start INT = 1
WITH amounts AS (
    SELECT owner_id AS rep_id, fiscal_trunc($period, closed_at, $fiscal_start) AS period_start,
        CAST(0 AS DECIMAL(38, 2)) AS quota, CAST(amount AS DECIMAL(38, 2)) AS won
    FROM opportunities
    WHERE lower(status) = 'won' AND closed_at IS NOT NULL
    UNION ALL
    SELECT rep_id, fiscal_trunc($period, period_start, $fiscal_start),
        CAST(amount AS DECIMAL(38, 2)), CAST(0 AS DECIMAL(38, 2))
    FROM quotas
    WHERE lower(period) = 'month'
),
with_company AS (
    -- Per rep and period, and (rep_id NULL) for the whole company, in one pass.
    SELECT rep_id, period_start, sum(quota) AS quota, sum(won) AS won
    FROM amounts
    GROUP BY GROUPING SETS ((rep_id, period_start), (period_start))
),
attained AS (
    SELECT *, CASE WHEN quota > 0 THEN CAST(won AS DOUBLE) / CAST(quota AS DOUBLE) END AS attainment
    FROM with_company
)
SELECT
    a.period_start,
    fiscal_year(a.period_start, $fiscal_start) AS fiscal_year,
    fiscal_quarter(a.period_start, $fiscal_start) AS fiscal_quarter,
    a.rep_id,
    CASE WHEN a.rep_id IS NULL THEN 'company' ELSE r.name END AS name,
    a.quota,
    a.won,
    round(a.attainment, 4) AS attainment,
    round(a.attainment - lag(a.attainment) OVER (PARTITION BY a.rep_id ORDER BY a.period_start), 4) AS change
FROM attained a
LEFT JOIN reps r ON r.rep_id = a.rep_id
ORDER BY a.period_start, a.rep_id NULLS FIRST;
