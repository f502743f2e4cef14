SELECT level, count() AS opportunities
FROM (
    SELECT opportunity_id,
        windowFunnel(365 * 86400 * 1000000)(toUInt64(toUnixTimestamp64Micro(entered_at)),
            stage = 'prospecting', stage = 'qualification', stage = 'discovery',
            stage = 'proposal', stage = 'negotiation', stage = 'closed_won') AS level
    FROM stage_history
    GROUP BY opportunity_id
)
GROUP BY level
ORDER BY level
