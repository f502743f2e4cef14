-- description: Touches per rep by channel (calls, emails, voicemails, meetings), with the opportunities and accounts they reach
-- param: since DATE = 2021-01-01
-- param: until DATE = 2026-01-01
WITH per_rep AS (
    -- Counted per rep first: the rep's name and team join the few result rows, not every touch.
    SELECT
        rep_id,
        count(*) FILTER (WHERE lower(type) = 'call') AS calls,
        count(*) FILTER (WHERE lower(type) = 'email') AS emails,
        count(*) FILTER (WHERE lower(type) = 'voicemail') AS voicemails,
        count(*) FILTER (WHERE lower(type) = 'meeting') AS meetings,
        count(*) AS touches,
        count(DISTINCT opportunity_id) AS opportunities_touched,
        count(DISTINCT account_id) AS accounts_touched,
        round(count(opportunity_id) * 1.0 / nullif(count(DISTINCT opportunity_id), 0), 2) AS touches_per_opportunity,
        round(sum(duration_s) FILTER (WHERE lower(type) IN ('call', 'meeting')) / 3600.0, 1) AS talk_hours
    FROM activities
    WHERE occurred_at >= $since AND occurred_at < $until
    GROUP BY rep_id
)
SELECT
    p.rep_id,
    r.name,
    r.team,
    p.calls,
    p.emails,
    p.voicemails,
    p.meetings,
    p.touches,
    p.opportunities_touched,
    p.accounts_touched,
    p.touches_per_opportunity,
    p.talk_hours
FROM per_rep p
LEFT JOIN reps r ON r.rep_id = p.rep_id
ORDER BY p.touches DESC, p.rep_id;
