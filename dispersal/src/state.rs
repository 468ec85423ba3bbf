//! Shares held in memory: candidates for this node's own share (checked only when their header
//! is known, and only the leader's), and shares other validators pushed (for reconstruction).
//! Bounded in bytes and blocks; the oldest block is evicted first. No I/O, no clock.

use commonware_codec::EncodeSize;
use cortado_coding::Share;
use cortado_types::Hash;
use std::collections::{BTreeMap, HashMap, VecDeque};

#[derive(Default)]
struct Entry {
    /// Shares for my index, with the sender's validator index.
    candidates: Vec<(u16, Share)>,
    /// Shares of other validators, by their index.
    pushed: BTreeMap<u16, Share>,
    bytes: usize,
}

/// Bounded per-block share buffers.
pub(crate) struct Buffers {
    bytes_max: usize,
    blocks_max: usize,
    order: VecDeque<Hash>,
    blocks: HashMap<Hash, Entry>,
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

/// Candidates kept per block (an honest leader sends one; more are peers' noise).
const CANDIDATES_PER_BLOCK_MAX: usize = 4;

impl Buffers {
    pub(crate) fn new(bytes_max: usize, blocks_max: usize) -> Self {
        Self {
            bytes_max,
            blocks_max,
            order: VecDeque::new(),
            blocks: HashMap::new(),
            bytes: 0,
        }
    }

    fn entry(&mut self, block: Hash) -> &mut Entry {
        if !self.blocks.contains_key(&block) {
            self.order.push_back(block);
        }
        self.blocks.entry(block).or_default()
    }

    /// Keeps a candidate for my own share of `block`, sent by validator `sender`.
    pub(crate) fn add_candidate(&mut self, block: Hash, sender: u16, share: Share) -> bool {
        let size = share.encode_size();
        let entry = self.entry(block);
        if entry.candidates.len() >= CANDIDATES_PER_BLOCK_MAX
            || entry.candidates.iter().any(|(s, _)| *s == sender)
        {
            return false;
        }
        entry.candidates.push((sender, share));
        entry.bytes += size;
        self.bytes += size;
        self.evict(block);
        true
    }

    /// Keeps a share validator `share.index` pushed for `block`.
    pub(crate) fn add_pushed(&mut self, block: Hash, share: Share) -> bool {
        let size = share.encode_size();
        let entry = self.entry(block);
        if entry.pushed.contains_key(&share.index) {
            return false;
        }
        entry.pushed.insert(share.index, share);
        entry.bytes += size;
        self.bytes += size;
        self.evict(block);
        true
    }

    /// Takes the candidate `leader` sent for `block`, if any (other candidates stay).
    pub(crate) fn take_candidate(&mut self, block: &Hash, leader: u16) -> Option<Share> {
        let entry = self.blocks.get_mut(block)?;
        let at = entry.candidates.iter().position(|(s, _)| *s == leader)?;
        let (_, share) = entry.candidates.swap_remove(at);
        let size = share.encode_size();
        entry.bytes -= size;
        self.bytes -= size;
        Some(share)
    }

    /// The pushed shares of `block`, by ascending index (the original chunks first: decoding
    /// from them is the fastest).
    pub(crate) fn pushed(&self, block: &Hash) -> Vec<Share> {
        self.blocks
            .get(block)
            .map(|e| e.pushed.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Drops the share validator `index` pushed for `block` (it did not verify).
    pub(crate) fn remove_pushed(&mut self, block: &Hash, index: u16) {
        if let Some(entry) = self.blocks.get_mut(block)
            && let Some(share) = entry.pushed.remove(&index)
        {
            let size = share.encode_size();
            entry.bytes -= size;
            self.bytes -= size;
        }
    }

    /// Drops everything held for `block`.
    pub(crate) fn remove(&mut self, block: &Hash) {
        if let Some(entry) = self.blocks.remove(block) {
            self.bytes -= entry.bytes;
            self.order.retain(|b| b != block);
        }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Evicts the oldest blocks (never `keep`) until within bounds.
    fn evict(&mut self, keep: Hash) {
        let mut rotations = 0;
        while (self.bytes > self.bytes_max || self.blocks.len() > self.blocks_max)
            && rotations <= self.order.len()
        {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if oldest == keep {
                self.order.push_back(oldest);
                rotations += 1;
                continue;
            }
            if let Some(entry) = self.blocks.remove(&oldest) {
                self.bytes -= entry.bytes;
            }
        }
        debug_assert_eq!(
            self.bytes,
            self.blocks.values().map(|e| e.bytes).sum::<usize>(),
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
        assert!(b.add_candidate(block(1), 3, share(0, 10)));
        assert!(
            !b.add_candidate(block(1), 3, share(0, 10)),
            "one per sender"
        );
        assert!(b.add_candidate(block(1), 2, share(0, 11)));
        assert!(b.take_candidate(&block(1), 1).is_none());
        assert_eq!(
            b.take_candidate(&block(1), 2).unwrap().chunks[0].data.len(),
            11
        );
        assert!(b.take_candidate(&block(1), 3).is_some());
        assert!(b.take_candidate(&block(1), 3).is_none());
        assert_eq!(b.bytes(), 0);
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
