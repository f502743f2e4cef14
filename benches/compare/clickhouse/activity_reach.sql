SELECT
    a.rep_id,
    r.name,
    r.team,
    countIf(lower(a.type) = 'call') AS calls,
    countIf(lower(a.type) = 'email') AS emails,
    countIf(lower(a.type) = 'voicemail') AS voicemails,
    countIf(lower(a.type) = 'meeting') AS meetings,
    count() AS touches,
    count(DISTINCT a.opportunity_id) AS opportunities_touched,
    count(DISTINCT a.account_id) AS accounts_touched,
    round(count(a.opportunity_id) / nullIf(count(DISTINCT a.opportunity_id), 0), 2) AS touches_per_opportunity,
    round(sumIf(a.duration_s, lower(a.type) IN ('call', 'meeting')) / 3600.0, 1) AS talk_hours
FROM activities a
LEFT JOIN reps r ON r.rep_id = a.rep_id
WHERE a.occurred_at >= $since AND a.occurred_at < $until
GROUP BY a.rep_id, r.name, r.team
ORDER BY touches DESC, a.rep_id
