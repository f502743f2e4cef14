//! The search behind `window_funnel`: the longest chain of distinct events `e1…ek` with
//! `cond_i(e_i)`, `ts(e1) ≤ … ≤ ts(ek)` and `ts(ek) − ts(e1) ≤ window`, under the modes:
//!
//! - `strict_increase`: timestamps strictly increase along the chain;
//! - `strict_order`: no event meeting a condition other than `cond_i` and `cond_{i+1}` lies
//!   strictly between steps `i` and `i+1` (in time);
//! - `strict_deduplication`: a chain takes each step at the first event meeting its condition
//!   after the previous step, and a repeat of the condition of the step just reached ends it:
//!   no event outside the chain meeting `cond_i` or `cond_{i+1}` lies strictly between steps
//!   `i` and `i+1`.
//!
//! Events are taken in time order, a whole timestamp at a time, so the answer never depends on
//! the order of rows that share a timestamp. The state is, per level `L`, the latest start of a
//! live chain reaching `L` (the latest start leaves the most room in the window; live chains of
//! one level are all exposed to the same future interventions). Events sharing a timestamp may
//! fill several consecutive steps of one chain — found by bipartite matching of steps to
//! distinct events — except under `strict_increase`.

/// The most conditions a funnel may have.
pub const MAX_STEPS: usize = 32;

/// No chain reaches this level.
const NONE: i64 = i64::MIN;

/// The constant parameters of one `window_funnel` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunnelSpec {
    /// The number of conditions (1..=32).
    pub steps: usize,
    /// The window, in microseconds.
    pub window: i64,
    /// `strict_increase`.
    pub strict_increase: bool,
    /// `strict_order`.
    pub strict_order: bool,
    /// `strict_deduplication`.
    pub strict_deduplication: bool,
}

/// One event: its time (µs) and the conditions it meets (bit `i` = condition `i + 1`).
pub type Event = (i64, u32);

/// What the search reads of an event, so that a group's events are searched where they are
/// stored, without a copy.
pub trait FunnelEvent: Copy {
    /// The event's time, in microseconds.
    fn time(&self) -> i64;
    /// The conditions the event meets (bit `i` = condition `i + 1`).
    fn conditions(&self) -> u32;
}

impl FunnelEvent for Event {
    fn time(&self) -> i64 {
        self.0
    }

    fn conditions(&self) -> u32 {
        self.1
    }
}

/// Buffers reused across groups, so that evaluating millions of groups allocates nothing.
#[derive(Debug, Default)]
pub struct Scratch {
    slots: Vec<u32>,
    matched_by: Vec<usize>,
    visited: Vec<bool>,
}

/// The level `events` (sorted by time, then conditions) reach.
pub fn funnel_level<E: FunnelEvent>(spec: &FunnelSpec, events: &[E], scratch: &mut Scratch) -> u32 {
    let steps = spec.steps;
    let mut live = [NONE; MAX_STEPS + 1];
    let mut extended = [NONE; MAX_STEPS + 1];
    let step_mask = u32::MAX >> (32 - steps);
    let mut best = 0;
    let mut start = 0;
    while start < events.len() {
        let at = events[start].time();
        let mut end = start + 1;
        while end < events.len() && events[end].time() == at {
            end += 1;
        }
        let group = &events[start..end];
        start = end;

        let single_step = spec.strict_increase || group.len() == 1;
        let any: u32 = group.iter().fold(0, |acc, e| acc | e.conditions()) & step_mask;
        if single_step && !spec.strict_order && !spec.strict_deduplication {
            best = best.max(advance_in_place(&mut live, any, at, spec.window));
            if best == steps {
                break;
            }
            continue;
        }
        extended[..=steps].fill(NONE);
        if single_step {
            // A new chain.
            if any & 1 != 0 {
                extended[1] = at;
            }
            for level in 1..steps {
                let from = live[level];
                if from != NONE && at.saturating_sub(from) <= spec.window && any & (1 << level) != 0
                {
                    extended[level + 1] = extended[level + 1].max(from);
                }
            }
        } else {
            scratch.load(group, steps);
            for (level, &live_start) in live.iter().enumerate().take(steps) {
                let from = if level == 0 { at } else { live_start };
                if from == NONE || at.saturating_sub(from) > spec.window {
                    continue;
                }
                let reach = level + scratch.consecutive_matches(level, steps);
                for reached in extended.iter_mut().take(reach + 1).skip(level + 1) {
                    *reached = (*reached).max(from);
                }
            }
        }

        let present = any;
        for level in 1..=steps {
            let current = 1u32 << (level - 1);
            let next = if level < 32 { 1u32 << level } else { 0 };
            let intervened = (spec.strict_order && present & !(current | next) != 0)
                || (spec.strict_deduplication && present & (current | next) != 0);
            let survivor = if intervened { NONE } else { live[level] };
            live[level] = survivor.max(extended[level]);
            if live[level] != NONE {
                best = best.max(level);
            }
        }
        if best == steps {
            break;
        }
    }
    best as u32
}

/// One instant of a funnel without `strict_order` or `strict_deduplication`, whose events
/// (meeting `conditions`) can fill at most one step of a chain: each live level whose condition
/// is met and whose start is within the window moves up one level, and a first condition starts
/// a chain at `at`. Chains are never cut in these modes, so `live` only grows, and it is updated
/// in place from the top level down, each level being read before the level below writes it.
/// Returns the highest level a chain reached at this instant (0 if none).
fn advance_in_place(
    live: &mut [i64; MAX_STEPS + 1],
    conditions: u32,
    at: i64,
    window: i64,
) -> usize {
    let mut reached = 0;
    // Bit `level` (for level ≥ 1) is the condition that takes a chain from `level` to `level + 1`.
    let mut extending = conditions & !1;
    while extending != 0 {
        let level = 31 - extending.leading_zeros() as usize;
        extending &= !(1 << level);
        let from = live[level];
        if from != NONE && at.saturating_sub(from) <= window {
            live[level + 1] = live[level + 1].max(from);
            reached = reached.max(level + 1);
        }
    }
    if conditions & 1 != 0 {
        live[1] = live[1].max(at);
        reached = reached.max(1);
    }
    reached
}

impl Scratch {
    /// Loads the events of one timestamp as matching slots. More than `steps` events with the
    /// same conditions are never needed, so copies beyond that are dropped.
    fn load<E: FunnelEvent>(&mut self, group: &[E], steps: usize) {
        self.slots.clear();
        let limit = steps.max(1);
        let mut previous = None;
        let mut copies = 0;
        for mask in group.iter().map(FunnelEvent::conditions) {
            // Events of a group arrive sorted by mask, so copies are adjacent.
            if previous == Some(mask) {
                copies += 1;
                if copies >= limit {
                    continue;
                }
            } else {
                previous = Some(mask);
                copies = 0;
            }
            self.slots.push(mask);
        }
    }

    /// How many consecutive conditions from `first` (0-based) can be given distinct loaded
    /// events.
    fn consecutive_matches(&mut self, first: usize, steps: usize) -> usize {
        self.matched_by.clear();
        self.matched_by.resize(self.slots.len(), usize::MAX);
        let mut count = 0;
        for condition in first..steps {
            self.visited.clear();
            self.visited.resize(self.slots.len(), false);
            if !self.augment(condition) {
                break;
            }
            count += 1;
        }
        count
    }

    /// Kuhn's augmenting path: gives `condition` an event, moving earlier assignments if needed.
    fn augment(&mut self, condition: usize) -> bool {
        for slot in 0..self.slots.len() {
            if self.slots[slot] & (1 << condition) == 0 || self.visited[slot] {
                continue;
            }
            self.visited[slot] = true;
            let holder = self.matched_by[slot];
            if holder == usize::MAX || self.augment(holder) {
                self.matched_by[slot] = condition;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(steps: usize, window: i64) -> FunnelSpec {
        FunnelSpec {
            steps,
            window,
            strict_increase: false,
            strict_order: false,
            strict_deduplication: false,
        }
    }

    fn level(spec: &FunnelSpec, events: &[Event]) -> u32 {
        let mut sorted = events.to_vec();
        sorted.sort_unstable();
        funnel_level(spec, &sorted, &mut Scratch::default())
    }

    const A: u32 = 1;
    const B: u32 = 2;
    const C: u32 = 4;
    const D: u32 = 8;

    #[test]
    fn a_chain_must_fit_the_window_from_its_first_step() {
        let s = spec(3, 10);
        assert_eq!(level(&s, &[(0, A), (5, B), (10, C)]), 3);
        assert_eq!(level(&s, &[(0, A), (5, B), (11, C)]), 2);
        // A later start leaves room: the second A restarts the chain.
        assert_eq!(level(&s, &[(0, A), (3, A), (5, B), (13, C)]), 3);
        assert_eq!(
            level(&s, &[(0, B), (1, C)]),
            0,
            "nothing without the first step"
        );
    }

    #[test]
    fn one_event_never_fills_two_steps() {
        let s = spec(2, 100);
        assert_eq!(level(&s, &[(5, A | B)]), 1);
        assert_eq!(level(&s, &[(5, A | B), (6, A | B)]), 2);
    }

    #[test]
    fn ties_are_resolved_whatever_the_row_order() {
        let s = spec(3, 100);
        // B and A at the same time: A then B is a valid chain (≤).
        assert_eq!(level(&s, &[(5, B), (5, A), (7, C)]), 3);
        // The case a greedy scan gets wrong: A at 0, then {B} and {A, C} at 5.
        assert_eq!(level(&s, &[(0, A), (5, A | C), (5, B)]), 3);
    }

    #[test]
    fn strict_increase_needs_a_later_timestamp_per_step() {
        let mut s = spec(3, 100);
        s.strict_increase = true;
        assert_eq!(level(&s, &[(5, A), (5, B), (6, C)]), 1);
        assert_eq!(level(&s, &[(5, A), (6, B), (6, A), (7, C)]), 3);
        // Chains are not lost when a repeat of the first step shares the second's timestamp.
        assert_eq!(level(&s, &[(1, A), (2, A), (2, B), (3, C)]), 3);
    }

    #[test]
    fn strict_order_stops_at_an_event_of_another_step() {
        let mut s = spec(3, 100);
        s.strict_order = true;
        assert_eq!(
            level(&s, &[(1, A), (2, B), (3, D), (4, C)]),
            3,
            "D meets no condition"
        );
        let mut four = spec(4, 100);
        four.strict_order = true;
        assert_eq!(
            level(&four, &[(1, A), (2, B), (3, D), (4, C)]),
            2,
            "D is step 4"
        );
        assert_eq!(level(&s, &[(1, A), (2, C), (3, B), (4, C)]), 1);
        // A repeat of the step just reached does not intervene.
        assert_eq!(level(&s, &[(1, A), (2, B), (3, B), (4, C)]), 3);
    }

    #[test]
    fn strict_deduplication_ends_a_chain_at_a_repeat() {
        let mut s = spec(3, 100);
        s.strict_deduplication = true;
        assert_eq!(level(&s, &[(1, A), (2, B), (3, B), (4, C)]), 2);
        // A fresh chain after the repeat can still get further.
        assert_eq!(level(&s, &[(1, A), (2, A), (3, B), (4, C)]), 3);
        assert_eq!(level(&s, &[(0, A), (1, B), (2, A), (3, B), (4, C)]), 3);
        // Without the mode, the second B carries the chain on.
        s.strict_deduplication = false;
        assert_eq!(level(&s, &[(1, A), (2, B), (3, B), (4, C)]), 3);
    }

    #[test]
    fn thirty_two_steps_fit() {
        let s = spec(32, 1_000);
        let events: Vec<Event> = (0..32).map(|i| (i64::from(i), 1u32 << i)).collect();
        assert_eq!(level(&s, &events), 32);
    }
}
