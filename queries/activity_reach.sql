-- description: Touches per rep by channel (calls, emails, voicemails, meetings), with the opportunities and accounts they reach
-- param: since DATE = 2021-01-01
-- param: until DATE = 2026-01-01
SELECT
    a.rep_id,
    r.name,
    r.team,
    count(*) FILTER (WHERE lower(a.type) = 'call') AS calls,
    count(*) FILTER (WHERE lower(a.type) = 'email') AS emails,
    count(*) FILTER (WHERE lower(a.type) = 'voicemail') AS voicemails,
    count(*) FILTER (WHERE lower(a.type) = 'meeting') AS meetings,
    count(*) AS touches,
    count(DISTINCT a.opportunity_id) AS opportunities_touched,
    count(DISTINCT a.account_id) AS accounts_touched,
    round(count(a.opportunity_id) * 1.0 / nullif(count(DISTINCT a.opportunity_id), 0), 2) AS touches_per_opportunity,
    round(sum(a.duration_s) FILTER (WHERE lower(a.type) IN ('call', 'meeting')) / 3600.0, 1) AS talk_hours
FROM activities a
LEFT JOIN reps r ON r.rep_id = a.rep_id
WHERE a.occurred_at >= $since AND a.occurred_at < $until
GROUP BY a.rep_id, r.name, r.team
ORDER BY touches DESC, a.rep_id;
