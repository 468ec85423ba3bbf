//! The pool's gossiped copies, by age and by the peer that sent each, so that a full pool makes
//! room for one peer's copy by evicting another's only when that other holds more.

use cortado_types::{Hash, Namespace};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Who gossiped a copy: a small number the mempool actor gives each peer it hears from (the
/// p2p layer admits only the chain's validators, so there are at most that many).
pub(crate) type Peer = u32;

/// Numbers given to peers, on first sight, while fewer than `max` have one; any further peer
/// shares the last number (so the map stays bounded whoever connects).
pub(crate) struct PeerNumbers {
    numbers: HashMap<Vec<u8>, Peer>,
    max: usize,
}

impl PeerNumbers {
    /// At most `max` (at least 1) distinct numbers.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            numbers: HashMap::new(),
            max: max.max(1),
        }
    }

    /// The number of the peer whose encoded key is `key`.
    pub(crate) fn number(&mut self, key: &[u8]) -> Peer {
        if let Some(number) = self.numbers.get(key) {
            return *number;
        }
        if self.numbers.len() >= self.max {
            return (self.max - 1) as Peer;
        }
        let number = self.numbers.len() as Peer;
        self.numbers.insert(key.to_vec(), number);
        number
    }
}

/// One peer's copies (in one namespace, or in all): their bytes and sequence numbers.
#[derive(Default)]
struct Holding {
    bytes: usize,
    seqs: BTreeSet<u64>,
}

impl Holding {
    fn add(&mut self, seq: u64, size: usize) {
        self.bytes += size;
        self.seqs.insert(seq);
    }

    /// Removes `seq`; whether the holding is now empty.
    fn take(&mut self, seq: u64, size: usize) -> bool {
        self.bytes -= size;
        self.seqs.remove(&seq);
        self.seqs.is_empty()
    }
}

/// Every gossiped copy in the pool.
#[derive(Default)]
pub(super) struct Copies {
    /// Sequence number → hash, oldest first.
    order: BTreeMap<u64, Hash>,
    bytes: usize,
    by_peer: HashMap<Peer, Holding>,
    by_namespace: HashMap<Namespace, HashMap<Peer, Holding>>,
}

impl Copies {
    pub(super) fn insert(
        &mut self,
        seq: u64,
        hash: Hash,
        peer: Peer,
        namespace: Namespace,
        size: usize,
    ) {
        self.order.insert(seq, hash);
        self.bytes += size;
        self.by_peer.entry(peer).or_default().add(seq, size);
        self.by_namespace
            .entry(namespace)
            .or_default()
            .entry(peer)
            .or_default()
            .add(seq, size);
    }

    pub(super) fn remove(&mut self, seq: u64, peer: Peer, namespace: Namespace, size: usize) {
        self.order.remove(&seq);
        self.bytes -= size;
        if let Some(holding) = self.by_peer.get_mut(&peer)
            && holding.take(seq, size)
        {
            self.by_peer.remove(&peer);
        }
        if let Some(peers) = self.by_namespace.get_mut(&namespace)
            && let Some(holding) = peers.get_mut(&peer)
            && holding.take(seq, size)
        {
            peers.remove(&peer);
            if peers.is_empty() {
                self.by_namespace.remove(&namespace);
            }
        }
    }

    /// Payload bytes of every copy.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many copies.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// The copies' hashes, oldest first.
    pub(super) fn oldest_first(&self) -> impl Iterator<Item = &Hash> {
        self.order.values()
    }

    /// What `holding` weighs by `measure`.
    fn weight(holding: &Holding, measure: Measure) -> usize {
        match measure {
            Measure::Bytes => holding.bytes,
            Measure::Count => holding.seqs.len(),
        }
    }

    /// What `peer` holds in copies (of `namespace`, if given), by `measure`.
    fn held(&self, peer: Peer, namespace: Option<Namespace>, measure: Measure) -> usize {
        let holding = match namespace {
            None => self.by_peer.get(&peer),
            Some(ns) => self.by_namespace.get(&ns).and_then(|p| p.get(&peer)),
        };
        holding.map_or(0, |h| Self::weight(h, measure))
    }

    /// The copy to evict so that `peer`'s copy of `size` bytes fits: the oldest of the peer
    /// holding the most (of `namespace`, if given; ties go to the lowest peer number) by
    /// `measure`, provided that peer holds more than `peer` will with the new copy. None when
    /// no other peer holds more: then the new copy is refused, so a peer flooding copies
    /// displaces only itself and every peer keeps an equal share of a full pool.
    ///
    /// `measure` is the bound the pool is short of: payload bytes, or the transaction count (so
    /// a peer sending many tiny copies cannot hold more than its share of the count bound by
    /// holding few bytes).
    pub(super) fn fair_victim(
        &self,
        peer: Peer,
        size: usize,
        namespace: Option<Namespace>,
        measure: Measure,
    ) -> Option<Hash> {
        let holdings = match namespace {
            None => &self.by_peer,
            Some(ns) => self.by_namespace.get(&ns)?,
        };
        let (top, holding) = holdings
            .iter()
            .max_by_key(|(p, h)| (Self::weight(h, measure), std::cmp::Reverse(**p)))?;
        let adding = match measure {
            Measure::Bytes => size,
            Measure::Count => 1,
        };
        if *top == peer
            || Self::weight(holding, measure) <= self.held(peer, namespace, measure) + adding
        {
            return None;
        }
        let seq = holding.seqs.first()?;
        self.order.get(seq).copied()
    }
}

/// Which bound a full pool is short of, for sharing it fairly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Measure {
    /// Payload bytes (of the pool or of one namespace).
    Bytes,
    /// Transactions.
    Count,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_numbers_are_bounded() {
        let mut numbers = PeerNumbers::new(3);
        assert_eq!(numbers.number(b"a"), 0);
        assert_eq!(numbers.number(b"b"), 1);
        assert_eq!(numbers.number(b"a"), 0);
        assert_eq!(numbers.number(b"c"), 2);
        // Beyond the bound: the last number, shared, and nothing more is remembered.
        for key in 0..100u32 {
            assert_eq!(numbers.number(&key.to_be_bytes()), 2);
        }
        assert_eq!(numbers.numbers.len(), 3);
        assert_eq!(numbers.number(b"b"), 1);
    }
}
