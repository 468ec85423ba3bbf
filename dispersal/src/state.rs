//! Shares held in memory: candidates for this node's own share (checked only when their header
//! is known, and only the leader's, with the leader's manifest), and shares other validators
//! pushed (for reconstruction). Bounded in bytes and blocks. When a bound is reached the sender
//! holding the most (bytes, or items when blocks are the bound) loses its oldest item first, so
//! a peer flooding shares for random blocks evicts its own and never an honest leader's
//! candidate or an honest pusher's share. No I/O, no clock.

use commonware_codec::EncodeSize;
use cortado_coding::Share;
use cortado_types::Hash;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// What an item is: a candidate for my own share, or the sender's own share pushed to me.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Candidate,
    Pushed,
}

struct Held {
    share: Share,
    manifest: Vec<Hash>,
    bytes: usize,
}

/// Bounded per-block share buffers, fair across senders.
pub(crate) struct Buffers {
    bytes_max: usize,
    blocks_max: usize,
    items: HashMap<(Hash, u16, Kind), Held>,
    /// Per block, its items (sender, kind).
    blocks: HashMap<Hash, BTreeSet<(u16, Kind)>>,
    /// Per sender, its items in arrival order, and the bytes they hold.
    senders: HashMap<u16, (VecDeque<(Hash, Kind)>, usize)>,
    bytes: usize,
}

/// Whether validator `me` pushes its share to API node `target` among `n` validators: the
/// `pushers` validators that follow `target` in index order (cyclically) push to it, so each
/// API node receives `pushers` shares of every block besides its own, and each validator pushes
/// to about `pushers / n` of the API nodes. Everyone computes the same assignment from the
/// genesis order; nothing is negotiated.
pub(crate) fn designated(me: u16, target: u16, n: u16, pushers: u16) -> bool {
    if me == target || n == 0 {
        return false;
    }
    let distance = (u32::from(me) + u32::from(n) - u32::from(target)) % u32::from(n);
    distance >= 1 && distance <= u32::from(pushers)
}

impl Buffers {
    pub(crate) fn new(bytes_max: usize, blocks_max: usize) -> Self {
        Self {
            bytes_max,
            blocks_max,
            items: HashMap::new(),
            blocks: HashMap::new(),
            senders: HashMap::new(),
            bytes: 0,
        }
    }

    fn add(
        &mut self,
        block: Hash,
        sender: u16,
        kind: Kind,
        share: Share,
        manifest: Vec<Hash>,
    ) -> bool {
        let key = (block, sender, kind);
        if self.items.contains_key(&key) {
            return false;
        }
        let bytes = share.encode_size() + manifest.len() * Hash::LENGTH;
        self.items.insert(
            key,
            Held {
                share,
                manifest,
                bytes,
            },
        );
        self.blocks.entry(block).or_default().insert((sender, kind));
        let (order, held) = self.senders.entry(sender).or_default();
        order.push_back((block, kind));
        *held += bytes;
        self.bytes += bytes;
        self.evict(key);
        self.items.contains_key(&key)
    }

    fn take(&mut self, block: &Hash, sender: u16, kind: Kind) -> Option<Held> {
        let held = self.items.remove(&(*block, sender, kind))?;
        self.bytes -= held.bytes;
        if let Some(set) = self.blocks.get_mut(block) {
            set.remove(&(sender, kind));
            if set.is_empty() {
                self.blocks.remove(block);
            }
        }
        if let Some((order, bytes)) = self.senders.get_mut(&sender) {
            *bytes -= held.bytes;
            if let Some(at) = order.iter().position(|(b, k)| b == block && *k == kind) {
                order.remove(at);
            }
            if order.is_empty() {
                self.senders.remove(&sender);
            }
        }
        Some(held)
    }

    /// Keeps a candidate for my own share of `block`, sent by validator `sender` with the
    /// manifest it claims for the block. False if `sender` already sent one (or it was evicted
    /// at once: `sender` holds the most).
    pub(crate) fn add_candidate(
        &mut self,
        block: Hash,
        sender: u16,
        share: Share,
        manifest: Vec<Hash>,
    ) -> bool {
        self.add(block, sender, Kind::Candidate, share, manifest)
    }

    /// Keeps a share validator `share.index` pushed for `block`.
    pub(crate) fn add_pushed(&mut self, block: Hash, share: Share) -> bool {
        let sender = share.index;
        self.add(block, sender, Kind::Pushed, share, Vec::new())
    }

    /// Takes the candidate `leader` sent for `block` with its manifest, if any (other
    /// candidates stay).
    pub(crate) fn take_candidate(
        &mut self,
        block: &Hash,
        leader: u16,
    ) -> Option<(Share, Vec<Hash>)> {
        self.take(block, leader, Kind::Candidate)
            .map(|held| (held.share, held.manifest))
    }

    /// The pushed shares of `block`, by ascending index (the original chunks first: decoding
    /// from them is the fastest).
    pub(crate) fn pushed(&self, block: &Hash) -> Vec<Share> {
        let Some(set) = self.blocks.get(block) else {
            return Vec::new();
        };
        set.iter()
            .filter(|(_, kind)| *kind == Kind::Pushed)
            .filter_map(|(sender, kind)| self.items.get(&(*block, *sender, *kind)))
            .map(|held| held.share.clone())
            .collect()
    }

    /// Drops the share validator `index` pushed for `block` (it did not verify).
    pub(crate) fn remove_pushed(&mut self, block: &Hash, index: u16) {
        self.take(block, index, Kind::Pushed);
    }

    /// Drops everything held for `block`.
    pub(crate) fn remove(&mut self, block: &Hash) {
        let Some(set) = self.blocks.get(block).cloned() else {
            return;
        };
        for (sender, kind) in set {
            self.take(block, sender, kind);
        }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Evicts until within bounds: the oldest item of the sender holding the most bytes (or,
    /// when the block count is the bound, the most items). `keep` goes only if its sender
    /// holds nothing else and is still the largest.
    fn evict(&mut self, keep: (Hash, u16, Kind)) {
        while self.bytes > self.bytes_max || self.blocks.len() > self.blocks_max {
            let by_bytes = self.bytes > self.bytes_max;
            let Some(sender) = self
                .senders
                .iter()
                .max_by_key(|(index, (order, bytes))| {
                    let size = if by_bytes { *bytes } else { order.len() };
                    (size, **index)
                })
                .map(|(index, _)| *index)
            else {
                break;
            };
            let (order, _) = &self.senders[&sender];
            let victim = order
                .iter()
                .find(|(b, k)| (*b, sender, *k) != keep)
                .or_else(|| order.front())
                .copied();
            let Some((block, kind)) = victim else {
                break;
            };
            self.take(&block, sender, kind);
        }
        debug_assert_eq!(
            self.bytes,
            self.items.values().map(|h| h.bytes).sum::<usize>(),
            "byte accounting"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_node_gets_exactly_its_pushers() {
        for n in [1u16, 4, 7, 10, 100] {
            for pushers in [0u16, 1, 3, n - 1, n + 5] {
                for target in 0..n {
                    let from: Vec<u16> = (0..n)
                        .filter(|me| designated(*me, target, n, pushers))
                        .collect();
                    assert_eq!(
                        from.len(),
                        usize::from(pushers.min(n - 1)),
                        "n {n} pushers {pushers}"
                    );
                    assert!(!from.contains(&target));
                    // The ones right after the target, wrapping around.
                    for me in &from {
                        assert!((me + n - target) % n <= pushers);
                    }
                }
            }
        }
        // 10 validators, 3 pushers: validator 0 pushes to 7, 8 and 9.
        let to: Vec<u16> = (0..10).filter(|t| designated(0, *t, 10, 3)).collect();
        assert_eq!(to, vec![7, 8, 9]);
    }
    use bytes::Bytes;
    use cortado_coding::Chunk;

    fn share(index: u16, len: usize) -> Share {
        Share {
            index,
            chunks: vec![Chunk {
                data: Bytes::from(vec![7u8; len]),
                path: vec![],
            }],
        }
    }

    fn block(i: u8) -> Hash {
        Hash([i; 32])
    }

    #[test]
    fn candidates_only_from_the_leader_are_taken() {
        let mut b = Buffers::new(1 << 20, 8);
        assert!(b.add_candidate(block(1), 3, share(0, 10), vec![block(7)]));
        assert!(
            !b.add_candidate(block(1), 3, share(0, 10), vec![]),
            "one per sender"
        );
        assert!(b.add_candidate(block(1), 2, share(0, 11), vec![]));
        assert!(b.take_candidate(&block(1), 1).is_none());
        assert_eq!(
            b.take_candidate(&block(1), 2).unwrap().0.chunks[0]
                .data
                .len(),
            11
        );
        let (_, manifest) = b.take_candidate(&block(1), 3).unwrap();
        assert_eq!(
            manifest,
            vec![block(7)],
            "the manifest comes with the share"
        );
        assert!(b.take_candidate(&block(1), 3).is_none());
        assert_eq!(b.bytes(), 0);
    }

    #[test]
    fn a_flooding_sender_evicts_only_its_own() {
        // Room for 16 blocks. The leader (2) sent my share of block 200 and two validators
        // pushed theirs; then validator 3 floods tiny shares for 10,000 random blocks.
        let mut b = Buffers::new(1 << 20, 16);
        assert!(b.add_candidate(Hash([200; 32]), 2, share(0, 1000), vec![]));
        assert!(b.add_pushed(Hash([200; 32]), share(1, 1000)));
        for i in 0..10_000u32 {
            let mut h = [0u8; 32];
            h[..4].copy_from_slice(&i.to_le_bytes());
            h[31] = 1;
            b.add_candidate(Hash(h), 3, share(0, 1), vec![]);
            b.add_pushed(Hash(h), share(3, 1));
        }
        assert_eq!(b.pushed(&Hash([200; 32])).len(), 1, "the honest push stays");
        assert!(
            b.take_candidate(&Hash([200; 32]), 2).is_some(),
            "the leader's candidate stays"
        );
        // Bytes: the largest holder goes first, whoever it is.
        let mut b = Buffers::new(3_000, 64);
        assert!(b.add_candidate(block(1), 2, share(0, 1000), vec![]));
        for i in 0..20u8 {
            b.add_pushed(Hash([i + 100; 32]), share(3, 400));
        }
        assert!(b.take_candidate(&block(1), 2).is_some());
        assert!(b.bytes() <= 3_000);
    }

    #[test]
    fn bounded_by_bytes_and_blocks_oldest_first() {
        let one = share(1, 100).encode_size();
        let mut b = Buffers::new(3 * one, 2);
        assert!(b.add_pushed(block(1), share(1, 100)));
        assert!(b.add_pushed(block(2), share(1, 100)));
        assert!(!b.add_pushed(block(2), share(1, 100)), "duplicates ignored");
        assert!(b.add_pushed(block(3), share(1, 100)));
        assert!(
            b.pushed(&block(1)).is_empty(),
            "oldest block evicted (block bound)"
        );
        assert_eq!(b.pushed(&block(3)).len(), 1);
        assert!(b.add_pushed(block(3), share(2, 100)));
        assert!(b.add_pushed(block(3), share(3, 100)));
        assert!(b.pushed(&block(2)).is_empty(), "evicted for bytes");
        assert_eq!(
            b.pushed(&block(3)).len(),
            3,
            "the block being filled is kept"
        );
        assert!(b.bytes() <= 3 * one);
        b.remove(&block(3));
        assert_eq!(b.bytes(), 0);
    }
}
