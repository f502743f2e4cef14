//! The model behind the synthetic history: stages and their base pass rates, segments with
//! their deal sizes and cycle lengths, seasonality, and the reps with the traits the saved
//! queries must be able to find (weak converters, stage-specific weaknesses, reps who open
//! many opportunities without closing them).

use crate::generate::calendar::{self, Months};
use crate::generate::random::{self, Random};

/// Stage names by index; 0–4 are open stages, 5 is won, 6 is lost (the default `stages`).
pub const STAGES: [&str; 7] = [
    "prospecting",
    "qualification",
    "discovery",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
];
/// The index of `closed_won` in [`STAGES`].
pub const WON: u8 = 5;
/// The index of `closed_lost` in [`STAGES`].
pub const LOST: u8 = 6;

/// The team-average probability of passing from open stage `k` to `k + 1`.
pub const BASE_PASS: [f64; 5] = [0.82, 0.76, 0.74, 0.78, 0.80];

/// A customer segment.
#[derive(Debug)]
pub struct Segment {
    /// Its name.
    pub name: &'static str,
    /// Its share of new opportunities.
    pub share: f64,
    /// Median deal size, in dollars.
    pub median_amount: f64,
    /// Median time from creation to close, in days.
    pub median_cycle_days: f64,
    /// Average activities on an opportunity of this segment.
    pub touches: f64,
}

/// The segments.
pub const SEGMENTS: [Segment; 3] = [
    Segment {
        name: "smb",
        share: 0.6,
        median_amount: 9_000.0,
        median_cycle_days: 24.0,
        touches: 5.5,
    },
    Segment {
        name: "mid_market",
        share: 0.3,
        median_amount: 36_000.0,
        median_cycle_days: 55.0,
        touches: 9.0,
    },
    Segment {
        name: "enterprise",
        share: 0.1,
        median_amount: 110_000.0,
        median_cycle_days: 110.0,
        touches: 15.0,
    },
];
/// The shape (σ) of the log-normal deal size.
pub const AMOUNT_SIGMA: f64 = 0.45;

/// Lead sources and their shares.
pub const SOURCES: [(&str, f64); 5] = [
    ("inbound", 0.35),
    ("outbound", 0.30),
    ("partner", 0.12),
    ("referral", 0.13),
    ("event", 0.10),
];

/// Activity types (SPEC §1).
pub const ACTIVITY_TYPES: [&str; 4] = ["call", "email", "voicemail", "meeting"];
/// Activity outcomes.
pub const OUTCOMES: [&str; 10] = [
    "connected",
    "no_answer",
    "busy",
    "sent",
    "replied",
    "bounced",
    "left_message",
    "held",
    "no_show",
    "rescheduled",
];

/// New business per calendar month (January = index 0): strong Q1 and autumn, a summer dip.
const SEASON: [f64; 12] = [
    1.15, 1.1, 1.15, 1.0, 1.0, 0.95, 0.8, 0.75, 1.05, 1.1, 1.05, 0.8,
];
/// Yearly growth of new business.
const GROWTH: f64 = 1.10;

/// Relative rate of new opportunities in month `index` of the history.
pub fn demand(index: usize) -> f64 {
    SEASON[index % 12] * GROWTH.powi((index / 12) as i32)
}

/// Expected activities not linked to any opportunity, per expected opportunity.
pub const UNLINKED_TOUCHES_PER_OPPORTUNITY: f64 = 1.6;
/// Expected touches on the account in the weeks before an opportunity is opened.
pub const PRE_OPPORTUNITY_TOUCHES: f64 = 1.5;

/// The regions teams belong to.
pub const REGIONS: [(&str, f64); 3] = [("AMER", 0.5), ("EMEA", 0.3), ("APAC", 0.2)];
/// Reps per team (the first is its manager).
pub const TEAM_SIZE: usize = 8;

const FIRST_NAMES: [&str; 24] = [
    "Ava", "Ben", "Chloe", "Diego", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wes", "Yuki",
];
const LAST_NAMES: [&str; 20] = [
    "Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
    "Kowalski", "Lopez", "Meyer", "Nakamura", "Okafor", "Petrov", "Rossi", "Silva", "Tanaka",
    "Weber",
];

/// A sales rep and the traits that drive their numbers.
#[derive(Debug, Clone)]
pub struct Rep {
    /// `rep_id`, from 1.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Team name.
    pub team: String,
    /// Team index.
    pub team_index: usize,
    /// Region.
    pub region: &'static str,
    /// The team manager's id (`None` for managers).
    pub manager_id: Option<i64>,
    /// Hire time (µs).
    pub hired_at: i64,
    /// Pass probabilities of open stages 0–4.
    pub pass: [f64; 5],
    /// Relative rate of opening opportunities.
    pub open_rate: f64,
    /// Multiplier of time spent in each stage.
    pub pace: f64,
    /// Chance that an opportunity stalls (sits open for a long time).
    pub stall: f64,
    /// Multiplier of activities per opportunity.
    pub intensity: f64,
    /// The rep's accounts: ids `first_account .. first_account + accounts`.
    pub first_account: i64,
    /// See `first_account`.
    pub accounts: i64,
}

impl Rep {
    /// The probability that one of this rep's opportunities is won.
    pub fn win_probability(&self) -> f64 {
        self.pass.iter().product()
    }
}

/// The number of reps at `scale`: grows with the square root of the scale.
pub fn rep_count(scale: f64) -> usize {
    ((100.0 * scale.sqrt()).round() as usize).max(8)
}

/// Draws the reps. Traits are random, but every eighth rep (from the fourth) converts clearly
/// worse than the team and every tenth (from the seventh) hoards opportunities, so even a
/// small dataset has some of each.
pub fn draw_reps(seed: u64, scale: f64, months: &Months) -> Vec<Rep> {
    let count = rep_count(scale);
    let start = calendar::start();
    let mut reps: Vec<Rep> = (0..count)
        .map(|index| {
            let mut rng = random::seeded(seed, 1, index as u64);
            draw_rep(index, &mut rng, start)
        })
        .collect();
    size_accounts(&mut reps, scale, months);
    reps
}

fn draw_rep(index: usize, rng: &mut Random, start: i64) -> Rep {
    let team_index = index / TEAM_SIZE;
    let is_manager = index.is_multiple_of(TEAM_SIZE);
    let mut team_rng = random::seeded(0, 2, team_index as u64);
    let region = REGIONS[random::weighted(&mut team_rng, &REGIONS.map(|r| r.1))].0;
    let hired_at = if is_manager || random::chance(rng, 0.75) {
        start - (random::uniform(rng) * 6.0 * 365.0 + 30.0) as i64 * calendar::DAY
    } else {
        start + (random::uniform(rng) * 3.5 * 365.0) as i64 * calendar::DAY
    };

    let struggling = index % 8 == 3;
    let hoarder = index % 10 == 6 || (!struggling && random::chance(rng, 0.04));
    let skill = if struggling {
        0.5 + 0.08 * random::uniform(rng)
    } else {
        (1.0 + 0.12 * random::normal(rng)).clamp(0.75, 1.35)
    };
    let mut pass = BASE_PASS.map(|p: f64| p.powf(1.0 / skill));
    if random::chance(rng, 0.3) {
        let weak_stage = random::weighted(rng, &[1.0; 5]);
        pass[weak_stage] *= 0.7;
    }
    Rep {
        id: index as i64 + 1,
        name: format!(
            "{} {}",
            FIRST_NAMES[(index * 7 + index / 24) % FIRST_NAMES.len()],
            LAST_NAMES[(index * 13 + index / 20) % LAST_NAMES.len()]
        ),
        team: format!("{region} Team {}", team_index + 1),
        team_index,
        region,
        manager_id: (!is_manager).then_some((team_index * TEAM_SIZE) as i64 + 1),
        hired_at,
        pass,
        open_rate: if hoarder {
            1.9
        } else {
            (1.0 + 0.15 * random::normal(rng)).clamp(0.6, 1.5)
        },
        pace: if hoarder {
            2.5
        } else {
            (1.0 + 0.2 * random::normal(rng)).clamp(0.6, 1.6)
        },
        stall: if hoarder { 0.35 } else { 0.02 },
        intensity: (1.0 + 0.2 * random::normal(rng)).clamp(0.5, 1.6),
        first_account: 0,
        accounts: 0,
    }
}

/// Gives each rep a pool of accounts sized to the opportunities they are expected to open.
fn size_accounts(reps: &mut [Rep], scale: f64, months: &Months) {
    let mut next = 1;
    let per_rep_rates: Vec<f64> = reps.iter().map(|r| expected_weight(r, months)).collect();
    let total: f64 = per_rep_rates.iter().sum();
    for (rep, weight) in reps.iter_mut().zip(per_rep_rates) {
        let expected_opportunities = 100_000.0 * scale * weight / total;
        rep.accounts = ((expected_opportunities / 2.5).round() as i64).max(3);
        rep.first_account = next;
        next += rep.accounts;
    }
}

/// The fraction of month `index` during which `rep` is employed.
pub fn active_fraction(rep: &Rep, months: &Months, index: usize) -> f64 {
    let (from, to) = (months.start(index), months.start(index + 1));
    if rep.hired_at <= from {
        1.0
    } else if rep.hired_at >= to {
        0.0
    } else {
        (to - rep.hired_at) as f64 / (to - from) as f64
    }
}

/// The rep's share of new business over the whole history (unnormalized).
pub fn expected_weight(rep: &Rep, months: &Months) -> f64 {
    (0..calendar::MONTHS)
        .map(|m| active_fraction(rep, months, m) * demand(m) * rep.open_rate)
        .sum()
}

/// The expected deal size over the segment mix, in dollars.
pub fn mean_amount() -> f64 {
    let lognormal_mean = (AMOUNT_SIGMA * AMOUNT_SIGMA / 2.0).exp();
    SEGMENTS
        .iter()
        .map(|s| s.share * s.median_amount * lognormal_mean)
        .sum()
}
