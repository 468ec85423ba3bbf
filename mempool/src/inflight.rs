//! Transactions in flight: proposed in a block that is not finalized yet.
//!
//! A proposer marks the transactions it put in a block, and tells the other validators (a hint),
//! so the next leaders do not include them a second time while the block waits for finality
//! (validators see only shares of blocks, not their transactions). A mark ends when the
//! transaction is finalized or its time-to-live passes (the block was abandoned). Marks are soft
//! state: never journaled, bounded, oldest evicted first. Marks for hashes the pool does not hold
//! yet are kept too (a transaction may arrive by gossip after the hint). No I/O, no clock: the
//! caller passes the time.

use cortado_types::Hash;
use std::{
    collections::{HashMap, VecDeque},
    time::SystemTime,
};

/// A bounded set of in-flight marks with expiry.
pub(crate) struct InFlight {
    until: HashMap<Hash, SystemTime>,
    order: VecDeque<(Hash, SystemTime)>,
    max: usize,
}

impl InFlight {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            until: HashMap::new(),
            order: VecDeque::new(),
            max,
        }
    }

    /// Marks `hash` in flight until `until` (extending an earlier mark).
    pub(crate) fn mark(&mut self, hash: Hash, until: SystemTime) {
        if self.max == 0 {
            return;
        }
        match self.until.get_mut(&hash) {
            Some(current) if *current >= until => return,
            Some(current) => *current = until,
            None => {
                self.until.insert(hash, until);
            }
        }
        self.order.push_back((hash, until));
        while self.until.len() > self.max {
            self.evict_oldest();
        }
        // Stale order entries (superseded marks) are bounded by twice the live ones.
        if self.order.len() > 2 * self.max.max(1) {
            self.compact();
        }
    }

    fn evict_oldest(&mut self) {
        while let Some((hash, until)) = self.order.pop_front() {
            if self.until.get(&hash) == Some(&until) {
                self.until.remove(&hash);
                return;
            }
        }
    }

    fn compact(&mut self) {
        let until = &self.until;
        self.order.retain(|(h, t)| until.get(h) == Some(t));
    }

    /// Whether `hash` is in flight at `now`.
    pub(crate) fn contains(&self, hash: &Hash, now: SystemTime) -> bool {
        self.until.get(hash).is_some_and(|until| *until > now)
    }

    /// Ends the mark of `hash` (finalized).
    pub(crate) fn remove(&mut self, hash: &Hash) {
        self.until.remove(hash);
    }

    /// Drops marks that expired by `now`.
    pub(crate) fn expire(&mut self, now: SystemTime) {
        while let Some((hash, until)) = self.order.front().copied() {
            if until > now {
                break;
            }
            self.order.pop_front();
            if self.until.get(&hash).is_some_and(|u| *u <= now) {
                self.until.remove(&hash);
            }
        }
    }

    /// Live marks.
    pub(crate) fn len(&self) -> usize {
        self.until.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    fn h(i: u8) -> Hash {
        Hash([i; 32])
    }

    #[test]
    fn marks_expire_and_are_removed() {
        let mut f = InFlight::new(10);
        f.mark(h(1), t(5));
        assert!(f.contains(&h(1), t(4)));
        assert!(!f.contains(&h(1), t(5)), "expired at its deadline");
        f.mark(h(2), t(9));
        f.remove(&h(2));
        assert!(!f.contains(&h(2), t(1)));
        f.expire(t(6));
        assert_eq!(f.len(), 0);
    }

    #[test]
    fn a_later_mark_extends() {
        let mut f = InFlight::new(10);
        f.mark(h(1), t(5));
        f.mark(h(1), t(8));
        f.expire(t(6));
        assert!(
            f.contains(&h(1), t(7)),
            "the later mark survives the first expiry"
        );
    }

    #[test]
    fn bounded_oldest_evicted() {
        let mut f = InFlight::new(3);
        for i in 0..5u8 {
            f.mark(h(i), t(100));
        }
        assert_eq!(f.len(), 3);
        assert!(!f.contains(&h(0), t(1)) && !f.contains(&h(1), t(1)));
        assert!(f.contains(&h(4), t(1)));
        for _ in 0..100 {
            f.mark(h(4), t(100));
        }
        assert!(f.order.len() <= 6, "stale entries compacted");
    }
}
