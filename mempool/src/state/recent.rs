//! Bounded memories of finalized hashes: the recent set and the manifests' claims.

use cortado_types::Hash;
use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::SystemTime,
};

/// A bounded FIFO set of recently finalized hashes.
pub(super) struct Recent {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
    max: usize,
}

impl Recent {
    pub(super) fn new(max: usize) -> Self {
        Self {
            set: HashSet::new(),
            order: VecDeque::new(),
            max,
        }
    }

    pub(super) fn contains(&self, hash: &Hash) -> bool {
        self.set.contains(hash)
    }

    pub(super) fn insert(&mut self, hash: Hash) {
        if self.max == 0 || !self.set.insert(hash) {
            return;
        }
        self.order.push_back(hash);
        if self.order.len() > self.max {
            let oldest = self.order.pop_front().expect("order is not empty");
            self.set.remove(&oldest);
        }
        assert_eq!(self.set.len(), self.order.len(), "recent set out of sync");
    }
}

/// A bounded FIFO map of hashes finalized blocks' manifests named, with when they were first
/// named.
pub(super) struct Claims {
    since: HashMap<Hash, SystemTime>,
    order: VecDeque<Hash>,
    max: usize,
}

impl Claims {
    pub(super) fn new(max: usize) -> Self {
        Self {
            since: HashMap::new(),
            order: VecDeque::new(),
            max,
        }
    }

    /// When `hash` was first claimed, if it is held.
    pub(super) fn since(&self, hash: &Hash) -> Option<SystemTime> {
        self.since.get(hash).copied()
    }

    /// Records a claim (a repeated claim keeps the first time: repeating it cannot extend it).
    pub(super) fn insert(&mut self, hash: Hash, now: SystemTime) {
        if self.max == 0 || self.since.contains_key(&hash) {
            return;
        }
        self.since.insert(hash, now);
        self.order.push_back(hash);
        if self.order.len() > self.max {
            let oldest = self.order.pop_front().expect("order is not empty");
            self.since.remove(&oldest);
        }
    }
}
