//! Whom to ask for shares: a score per validator, raised by shares that arrive and verify,
//! lowered by requests that time out and, much more, by shares that fail verification. No I/O,
//! no clock.
//!
//! A retrieval asks the best-scored validators it has not asked yet, as many as it still needs
//! plus a spare; ties are broken by a rotation that depends on the block, so that a node catching
//! up spreads its requests over every validator instead of asking the same `k` each time.
//! Scores are bounded, so a validator that was down and came back is asked again once the
//! others have timed out or misbehaved a few times, and its good answers restore it.

/// Score bounds: a lying validator sinks to the floor after one invalid share and climbs back
/// one good share at a time.
const SCORE_MAX: i32 = 32;
const SCORE_MIN: i32 = -64;
/// What an unanswered request costs.
const TIMEOUT_PENALTY: i32 = 4;
/// What a share that fails verification costs.
const INVALID_PENALTY: i32 = 64;

/// One score per validator index.
#[derive(Clone, Debug)]
pub(crate) struct Scores {
    scores: Vec<i32>,
}

impl Scores {
    /// `n` validators, all at zero.
    pub(crate) fn new(n: u16) -> Self {
        Self {
            scores: vec![0; usize::from(n)],
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

    /// A request to validator `i` was not answered in time.
    pub(crate) fn timed_out(&mut self, i: u16) {
        self.add(i, -TIMEOUT_PENALTY);
    }

    /// Validator `i` sent a share that does not verify against the header.
    pub(crate) fn invalid(&mut self, i: u16) {
        self.add(i, -INVALID_PENALTY);
    }

    /// Up to `count` of `candidates`, best score first; equal scores in the order of
    /// `(i + n - rotation % n) % n` (a different order per block).
    pub(crate) fn choose(
        &self,
        candidates: impl IntoIterator<Item = u16>,
        count: usize,
        rotation: u64,
    ) -> Vec<u16> {
        let n = self.scores.len().max(1) as u64;
        let turn = |i: u16| (u64::from(i) + n - rotation % n) % n;
        let mut order: Vec<u16> = candidates.into_iter().collect();
        order.sort_by_key(|i| (std::cmp::Reverse(self.get(*i)), turn(*i)));
        order.dedup();
        order.truncate(count);
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_scored_first_ties_rotate_by_block() {
        let mut s = Scores::new(7);
        let all = || 0..7u16;
        // All equal: the rotation decides, so consecutive blocks start at different validators.
        assert_eq!(s.choose(all(), 3, 0), vec![0, 1, 2]);
        assert_eq!(s.choose(all(), 3, 5), vec![5, 6, 0]);
        assert_eq!(
            s.choose(all(), 3, 12),
            vec![5, 6, 0],
            "rotation is modulo n"
        );
        s.delivered(4);
        s.timed_out(0);
        assert_eq!(s.choose(all(), 3, 0), vec![4, 1, 2]);
        assert_eq!(
            *s.choose(all(), 7, 0).last().unwrap(),
            0,
            "timed out: asked last"
        );
        assert_eq!(
            s.choose([3, 3, 1], 5, 0),
            vec![1, 3],
            "candidates deduplicated"
        );
        assert!(s.choose(all(), 0, 0).is_empty());
    }

    #[test]
    fn a_liar_sinks_below_slow_peers_and_can_recover() {
        let mut s = Scores::new(4);
        s.invalid(2);
        for _ in 0..5 {
            s.timed_out(1);
        }
        assert_eq!(s.choose(0..4, 4, 0), vec![0, 3, 1, 2]);
        for _ in 0..1_000 {
            s.invalid(2);
            s.delivered(3);
        }
        assert_eq!(s.get(2), SCORE_MIN, "bounded below");
        assert_eq!(s.get(3), SCORE_MAX, "bounded above");
        for _ in 0..(SCORE_MAX - SCORE_MIN) {
            s.delivered(2);
        }
        assert_eq!(s.get(2), SCORE_MAX, "good answers restore a score");
        assert_eq!(
            s.get(99),
            SCORE_MIN,
            "an index outside the set is never preferred"
        );
    }
}
