WITH per_rep AS (
    SELECT
        rep_id,
        countIf(lower(type) = 'call') AS calls,
        countIf(lower(type) = 'email') AS emails,
        countIf(lower(type) = 'voicemail') AS voicemails,
        countIf(lower(type) = 'meeting') AS meetings,
        count() AS touches,
        count(DISTINCT opportunity_id) AS opportunities_touched,
        count(DISTINCT account_id) AS accounts_touched,
        round(count(opportunity_id) / nullIf(count(DISTINCT opportunity_id), 0), 2) AS touches_per_opportunity,
        round(sumIf(duration_s, lower(type) IN ('call', 'meeting')) / 3600.0, 1) AS talk_hours
    FROM activities
    WHERE occurred_at >= $since AND occurred_at < $until
    GROUP BY rep_id
)
SELECT
    p.rep_id AS rep_id,
    r.name AS name,
    r.team AS team,
    p.calls AS calls,
    p.emails AS emails,
    p.voicemails AS voicemails,
    p.meetings AS meetings,
    p.touches AS touches,
    p.opportunities_touched AS opportunities_touched,
    p.accounts_touched AS accounts_touched,
    p.touches_per_opportunity AS touches_per_opportunity,
    p.talk_hours AS talk_hours
FROM per_rep p
LEFT JOIN reps r ON r.rep_id = p.rep_id
ORDER BY touches DESC, rep_id
