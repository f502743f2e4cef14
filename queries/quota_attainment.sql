-- description: Quota attainment per rep and for the company by fiscal month, quarter or year (won amount ÷ the monthly quotas falling in the period), with the change from the previous period
-- param: period VARCHAR = quarter
-- param: fiscal_start INT = 1
WITH won AS (
    SELECT owner_id AS rep_id, fiscal_trunc($period, closed_at, $fiscal_start) AS period_start, sum(amount) AS won
    FROM opportunities
    WHERE lower(status) = 'won' AND closed_at IS NOT NULL
    GROUP BY 1, 2
),
targets AS (
    SELECT rep_id, fiscal_trunc($period, period_start, $fiscal_start) AS period_start, sum(amount) AS quota
    FROM quotas
    WHERE lower(period) = 'month'
    GROUP BY 1, 2
),
per_rep AS (
    SELECT
        coalesce(t.rep_id, w.rep_id) AS rep_id,
        coalesce(t.period_start, w.period_start) AS period_start,
        coalesce(t.quota, 0) AS quota,
        coalesce(w.won, 0) AS won
    FROM targets t
    FULL JOIN won w ON w.rep_id = t.rep_id AND w.period_start = t.period_start
),
with_company AS (
    SELECT rep_id, period_start, quota, won FROM per_rep
    UNION ALL
    SELECT NULL, period_start, sum(quota), sum(won) FROM per_rep GROUP BY period_start
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
