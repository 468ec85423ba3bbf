//! Whom to ask for shares: a penalty score per validator, lowered by requests that time out and,
//! much more, by shares that fail verification, and raised back by shares that arrive and
//! verify and, one step per completed retrieval, by time. No I/O, no clock.
//!
//! A retrieval asks the validators with the best scores it has not asked yet, as many as it
//! still needs. Scores never rise above zero, so every validator in good standing is equal;
//! among them a share request asks the holders of the original chunks first (no decoding), and
//! ties are broken by a rotation that depends on the block, so a node syncing whole blocks
//! from API nodes spreads its requests over all of them. A penalized validator is
//! asked only once the others are exhausted, until retrievals completed since restore it (a
//! timeout costs a few retrievals, an invalid share many), so one that was down and came back
//! is used again.

use std::time::Duration;

/// Score bounds: a lying validator sinks to the floor after one invalid share and climbs back
/// one step per retrieval completed since.
const SCORE_MAX: i32 = 0;
const SCORE_MIN: i32 = -64;
/// What an unanswered request costs.
const TIMEOUT_PENALTY: i32 = 4;
/// What a share that fails verification costs.
const INVALID_PENALTY: i32 = 64;

/// Shortest request timeout, whatever a validator's response time.
const TIMEOUT_MIN: Duration = Duration::from_millis(50);
/// A request is due within this many times the validator's smoothed response time.
const TIMEOUT_RTTS: u32 = 4;
/// Before any validator has answered, a request is due within this fraction of the configured
/// timeout.
const FIRST_TIMEOUT_DIVISOR: u32 = 4;

/// One score and one smoothed response time per validator index.
#[derive(Clone, Debug)]
pub(crate) struct Scores {
    scores: Vec<i32>,
    /// Smoothed response time (7/8 old + 1/8 new), once the validator has answered.
    rtt: Vec<Option<Duration>>,
}

impl Scores {
    /// `n` validators, all at zero.
    pub(crate) fn new(n: u16) -> Self {
        Self {
            scores: vec![0; usize::from(n)],
            rtt: vec![None; usize::from(n)],
        }
    }

    /// Validator `i` answered a request after `elapsed`.
    pub(crate) fn answered(&mut self, i: u16, elapsed: Duration) {
        if let Some(rtt) = self.rtt.get_mut(usize::from(i)) {
            *rtt = Some(match *rtt {
                Some(old) => (old * 7 + elapsed) / 8,
                None => elapsed,
            });
        }
    }

    /// How long to wait for validator `i`'s answer: a few of its smoothed response times, within
    /// `[TIMEOUT_MIN, max]`. Until it has answered once: a few of the slowest response time seen
    /// from any validator, or `max / FIRST_TIMEOUT_DIVISOR` before anyone has answered.
    ///
    /// A request is not lost when it times out (a late answer is still used); the retrieval
    /// asks one more validator. So a short first guess costs at most an extra request, while
    /// waiting the whole `max` for a request sent over a connection that was dropped right
    /// after (as happens while a restarted node and its peers dial each other) delayed the
    /// first blocks of a catch-up by a full second.
    pub(crate) fn timeout(&self, i: u16, max: Duration) -> Duration {
        let floor = TIMEOUT_MIN.min(max);
        match self.rtt.get(usize::from(i)).copied().flatten() {
            Some(rtt) => (rtt * TIMEOUT_RTTS).clamp(floor, max),
            None => match self.rtt.iter().flatten().max() {
                Some(slowest) => (*slowest * TIMEOUT_RTTS).clamp(floor, max),
                None => (max / FIRST_TIMEOUT_DIVISOR).clamp(floor, max),
            },
        }
    }

    /// Validator `i`'s score.
    pub(crate) fn get(&self, i: u16) -> i32 {
        self.scores
            .get(usize::from(i))
            .copied()
            .unwrap_or(SCORE_MIN)
    }

    fn add(&mut self, i: u16, delta: i32) {
        if let Some(s) = self.scores.get_mut(usize::from(i)) {
            *s = (*s + delta).clamp(SCORE_MIN, SCORE_MAX);
        }
    }

    /// Validator `i` sent a share that was used (it verified).
    pub(crate) fn delivered(&mut self, i: u16) {
        self.add(i, 1);
    }

    /// A retrieval completed: every penalty decays by one step.
    pub(crate) fn tick(&mut self) {
        for s in &mut self.scores {
            *s = (*s + 1).min(SCORE_MAX);
        }
    }

    /// A request to validator `i` was not answered in time.
    pub(crate) fn timed_out(&mut self, i: u16) {
        self.add(i, -TIMEOUT_PENALTY);
    }

    /// Validator `i` sent a share that does not verify against the header.
    pub(crate) fn invalid(&mut self, i: u16) {
        self.add(i, -INVALID_PENALTY);
    }

    /// Up to `count` of `candidates`, best score first; among equal scores the indices below
    /// `preferred_below` first, then the others, each group in the order of
    /// `(i + n - rotation % n) % n` (a different order per block).
    ///
    /// Share requests prefer the holders of the original chunks (indices below `k`): with the
    /// `k` originals in hand a block is the chunks in order, with no Reed–Solomon decoding,
    /// whose fixed cost (about a millisecond per block) was a fifth of a catching-up node's CPU.
    pub(crate) fn choose(
        &self,
        candidates: impl IntoIterator<Item = u16>,
        count: usize,
        rotation: u64,
        preferred_below: u16,
    ) -> Vec<u16> {
        let n = self.scores.len().max(1) as u64;
        let turn = |i: u16| (u64::from(i) + n - rotation % n) % n;
        let mut order: Vec<u16> = candidates.into_iter().collect();
        order.sort_by_key(|i| {
            (
                std::cmp::Reverse(self.get(*i)),
                *i >= preferred_below,
                turn(*i),
            )
        });
        order.dedup();
        order.truncate(count);
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeouts_follow_response_times() {
        let max = Duration::from_secs(1);
        let mut s = Scores::new(5);
        assert_eq!(
            s.timeout(1, max),
            max / FIRST_TIMEOUT_DIVISOR,
            "nobody has answered: a fraction of the configured timeout"
        );
        s.answered(1, Duration::from_millis(40));
        assert_eq!(s.timeout(1, max), Duration::from_millis(160));
        assert_eq!(
            s.timeout(4, max),
            Duration::from_millis(160),
            "never answered: as for the slowest that did"
        );
        s.answered(1, Duration::from_millis(120));
        assert_eq!(
            s.timeout(1, max),
            Duration::from_millis(200),
            "(7 x 40 + 120) / 8 = 50"
        );
        s.answered(2, Duration::from_millis(1));
        assert_eq!(s.timeout(2, max), TIMEOUT_MIN, "never below the floor");
        assert_eq!(
            s.timeout(4, max),
            Duration::from_millis(200),
            "the slowest known, not the fastest"
        );
        s.answered(3, Duration::from_secs(5));
        assert_eq!(s.timeout(3, max), max, "never above the configured timeout");
        assert_eq!(s.timeout(4, max), max);
        assert_eq!(s.timeout(9, max), max, "outside the set: as for the others");
        let short = Duration::from_millis(20);
        assert_eq!(
            Scores::new(4).timeout(0, short),
            short,
            "a configured timeout below the floor is kept"
        );
    }

    #[test]
    fn good_standing_is_equal_ties_rotate_by_block() {
        let mut s = Scores::new(7);
        let all = || 0..7u16;
        // All equal: the rotation decides, so consecutive blocks start at different validators.
        assert_eq!(s.choose(all(), 3, 0, 0), vec![0, 1, 2]);
        assert_eq!(s.choose(all(), 3, 5, 0), vec![5, 6, 0]);
        assert_eq!(
            s.choose(all(), 3, 12, 0),
            vec![5, 6, 0],
            "rotation is modulo n"
        );
        // Good answers do not make one validator preferred forever (load stays spread).
        for _ in 0..100 {
            s.delivered(4);
        }
        assert_eq!(s.choose(all(), 3, 0, 0), vec![0, 1, 2]);
        s.timed_out(0);
        assert_eq!(s.choose(all(), 3, 0, 0), vec![1, 2, 3]);
        assert_eq!(
            *s.choose(all(), 7, 0, 0).last().unwrap(),
            0,
            "timed out: asked last"
        );
        assert_eq!(
            s.choose([3, 3, 1], 5, 0, 0),
            vec![1, 3],
            "candidates deduplicated"
        );
        assert!(s.choose(all(), 0, 0, 0).is_empty());
    }

    #[test]
    fn holders_of_the_originals_are_asked_first_among_equals() {
        let mut s = Scores::new(10);
        let others = |me: u16| (0..10u16).filter(move |i| *i != me);
        // k = 4: validator 1 holds an original itself and asks the other three holders.
        assert_eq!(s.choose(others(1), 3, 0, 4), vec![0, 2, 3]);
        assert_eq!(s.choose(others(1), 3, 7, 4), vec![0, 2, 3]);
        // Beyond the originals the rotation spreads the rest.
        assert_eq!(s.choose(others(1), 5, 0, 4), vec![0, 2, 3, 4, 5]);
        assert_eq!(s.choose(others(1), 5, 7, 4), vec![0, 2, 3, 7, 8]);
        // The score still comes first: a holder that timed out is asked after the others.
        s.timed_out(2);
        assert_eq!(s.choose(others(1), 3, 0, 4), vec![0, 3, 4]);
        assert_eq!(*s.choose(others(1), 9, 0, 4).last().unwrap(), 2);
    }

    #[test]
    fn a_liar_sinks_below_slow_peers_and_penalties_decay() {
        let mut s = Scores::new(4);
        s.invalid(2);
        for _ in 0..5 {
            s.timed_out(1);
        }
        assert_eq!(s.choose(0..4, 4, 0, 0), vec![0, 3, 1, 2]);
        for _ in 0..1_000 {
            s.invalid(2);
        }
        assert_eq!(s.get(2), SCORE_MIN, "bounded below");
        // Retrievals completed since: the slow one first, then the liar, are asked again.
        for _ in 0..20 {
            s.tick();
        }
        assert_eq!(s.get(1), 0);
        assert_eq!(s.choose(0..4, 4, 0, 0), vec![0, 1, 3, 2]);
        for _ in 0..(SCORE_MAX - SCORE_MIN) {
            s.tick();
        }
        assert_eq!(s.get(2), SCORE_MAX, "penalties decay");
        assert_eq!(
            s.get(99),
            SCORE_MIN,
            "an index outside the set is never preferred"
        );
    }
}
