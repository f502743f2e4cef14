-- Each opportunity contributes to the month ends it is open at: month index i is open when
-- created_at <= as_of(i) < closed_at, found arithmetically, then expanded with arrayJoin.
WITH
    toDateTime64($since, 6, 'UTC') AS first,
    dateDiff('month', toDate($since), toDate($until)) + 1 AS points,
    per_opportunity AS (
        SELECT owner_id,
            -- first month end at or after created_at
            greatest(0, dateDiff('month', toDate(first), toDate(created_at))
                + if(addMonths(first, dateDiff('month', toDate(first), toDate(created_at))) < created_at, 1, 0)) AS open_from,
            -- first month end at or after closed_at (never, while open)
            if(closed_at IS NULL, points,
               least(points, greatest(0, dateDiff('month', toDate(first), toDate(closed_at))
                   + if(addMonths(first, dateDiff('month', toDate(first), toDate(closed_at))) < closed_at, 1, 0)))) AS open_until
        FROM opportunities
    ),
    counts AS (
        SELECT owner_id, arrayJoin(range(toUInt64(open_from), toUInt64(greatest(open_from, open_until)))) AS i, count() AS n
        FROM per_opportunity
        WHERE open_until > open_from
        GROUP BY owner_id, i
    ),
    grid AS (
        SELECT o.owner_id AS owner_id, arrayJoin(range(toUInt64(points))) AS i
        FROM (SELECT DISTINCT owner_id FROM opportunities) o
    )
SELECT addMonths(first, g.i) AS as_of, g.owner_id AS rep_id, ifNull(c.n, 0) AS open_opportunities
FROM grid g
LEFT JOIN counts c ON c.owner_id = g.owner_id AND c.i = g.i
ORDER BY as_of, rep_id
