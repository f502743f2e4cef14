-- The stage funnel per opportunity with window_funnel: how many opportunities went through
-- the six stages in order, each within 365 days of its prospecting.
SELECT level, count(*) AS opportunities
FROM (
    SELECT opportunity_id,
        window_funnel(INTERVAL '365 days', entered_at,
            stage = 'prospecting', stage = 'qualification', stage = 'discovery',
            stage = 'proposal', stage = 'negotiation', stage = 'closed_won') AS level
    FROM stage_history
    GROUP BY opportunity_id
)
GROUP BY level
ORDER BY level;
