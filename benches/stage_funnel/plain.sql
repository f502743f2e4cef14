-- The same funnel in plain SQL: from every prospecting entry, the earliest entry of each next
-- stage after the previous one and within 365 days of the start (for a fixed start the earliest
-- next step is the best choice, and the six stages are distinct conditions), then the furthest
-- level over all starts.
WITH s1 AS (
    SELECT opportunity_id, entered_at AS t1 FROM stage_history WHERE stage = 'prospecting'
),
s2 AS (
    SELECT s.opportunity_id, s.t1, min(h.entered_at) AS t2
    FROM s1 s JOIN stage_history h ON h.opportunity_id = s.opportunity_id AND h.stage = 'qualification'
        AND h.entered_at >= s.t1 AND h.entered_at <= s.t1 + INTERVAL '365 days'
    GROUP BY s.opportunity_id, s.t1
),
s3 AS (
    SELECT s.opportunity_id, s.t1, min(h.entered_at) AS t3
    FROM s2 s JOIN stage_history h ON h.opportunity_id = s.opportunity_id AND h.stage = 'discovery'
        AND h.entered_at >= s.t2 AND h.entered_at <= s.t1 + INTERVAL '365 days'
    GROUP BY s.opportunity_id, s.t1
),
s4 AS (
    SELECT s.opportunity_id, s.t1, min(h.entered_at) AS t4
    FROM s3 s JOIN stage_history h ON h.opportunity_id = s.opportunity_id AND h.stage = 'proposal'
        AND h.entered_at >= s.t3 AND h.entered_at <= s.t1 + INTERVAL '365 days'
    GROUP BY s.opportunity_id, s.t1
),
s5 AS (
    SELECT s.opportunity_id, s.t1, min(h.entered_at) AS t5
    FROM s4 s JOIN stage_history h ON h.opportunity_id = s.opportunity_id AND h.stage = 'negotiation'
        AND h.entered_at >= s.t4 AND h.entered_at <= s.t1 + INTERVAL '365 days'
    GROUP BY s.opportunity_id, s.t1
),
s6 AS (
    SELECT s.opportunity_id, s.t1, min(h.entered_at) AS t6
    FROM s5 s JOIN stage_history h ON h.opportunity_id = s.opportunity_id AND h.stage = 'closed_won'
        AND h.entered_at >= s.t5 AND h.entered_at <= s.t1 + INTERVAL '365 days'
    GROUP BY s.opportunity_id, s.t1
),
starts AS (
    SELECT s1.opportunity_id,
        CASE WHEN s6.t6 IS NOT NULL THEN 6 WHEN s5.t5 IS NOT NULL THEN 5 WHEN s4.t4 IS NOT NULL THEN 4
             WHEN s3.t3 IS NOT NULL THEN 3 WHEN s2.t2 IS NOT NULL THEN 2 ELSE 1 END AS level
    FROM s1
    LEFT JOIN s2 ON s2.opportunity_id = s1.opportunity_id AND s2.t1 = s1.t1
    LEFT JOIN s3 ON s3.opportunity_id = s1.opportunity_id AND s3.t1 = s1.t1
    LEFT JOIN s4 ON s4.opportunity_id = s1.opportunity_id AND s4.t1 = s1.t1
    LEFT JOIN s5 ON s5.opportunity_id = s1.opportunity_id AND s5.t1 = s1.t1
    LEFT JOIN s6 ON s6.opportunity_id = s1.opportunity_id AND s6.t1 = s1.t1
),
levels AS (
    SELECT o.opportunity_id, coalesce(max(s.level), 0) AS level
    FROM (SELECT DISTINCT opportunity_id FROM stage_history) o
    LEFT JOIN starts s ON s.opportunity_id = o.opportunity_id
    GROUP BY o.opportunity_id
)
SELECT CAST(level AS INT) AS level, count(*) AS opportunities
FROM levels
GROUP BY level
ORDER BY level;
