-- Periods as month indexes (year * 12 + month - 1), rolled back to the fiscal period start.
WITH
    lower($period) AS granularity,
    toInt64($fiscal_start) AS start_month,
    events AS (
        SELECT owner_id AS rep_id, toYear(closed_at) * 12 + toMonth(closed_at) - 1 AS month_index,
            toDecimal128(amount, 2) AS won_amount, toDecimal128(0, 2) AS quota_amount
        FROM opportunities
        WHERE lower(status) = 'won' AND closed_at IS NOT NULL
        UNION ALL
        SELECT rep_id, toYear(period_start) * 12 + toMonth(period_start) - 1,
            toDecimal128(0, 2), toDecimal128(amount, 2)
        FROM quotas
        WHERE lower(period) = 'month'
    ),
    per_rep AS (
        SELECT toNullable(rep_id) AS rep_id,
            multiIf(granularity = 'month', month_index,
                    granularity = 'quarter', month_index - (((month_index - (start_month - 1)) % 3) + 3) % 3,
                    month_index - (((month_index - (start_month - 1)) % 12) + 12) % 12) AS start_index,
            sum(quota_amount) AS quota, sum(won_amount) AS won
        FROM events
        GROUP BY rep_id, start_index
    ),
    with_company AS (
        SELECT rep_id, start_index, quota, won FROM per_rep
        UNION ALL
        SELECT NULL, start_index, sum(quota), sum(won) FROM per_rep GROUP BY start_index
    ),
    labelled AS (
        SELECT *,
            start_index - (((start_index - (start_month - 1)) % 12) + 12) % 12 AS year_start_index,
            if(quota > 0, toFloat64(won) / toFloat64(quota), NULL) AS attainment
        FROM with_company
    )
SELECT
    makeDate(intDiv(start_index, 12), start_index % 12 + 1, 1) AS period_start,
    intDiv(year_start_index + 11, 12) AS fiscal_year,
    intDiv((((start_index - (start_month - 1)) % 12) + 12) % 12, 3) + 1 AS fiscal_quarter,
    l.rep_id AS rep_id,
    if(l.rep_id IS NULL, 'company', r.name) AS name,
    l.quota AS quota,
    l.won AS won,
    round(l.attainment, 4) AS attainment,
    round(l.attainment - lagInFrame(l.attainment) OVER (
        PARTITION BY l.rep_id ORDER BY l.start_index ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 4) AS change
FROM labelled l
LEFT JOIN reps r ON r.rep_id = l.rep_id
ORDER BY l.start_index, l.rep_id NULLS FIRST
