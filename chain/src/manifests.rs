//! What the blocks this node may build on hold: the manifest (transaction hashes) of every
//! proposal it made or voted for, until the block is finalized and processed.
//!
//! A leader excludes from its proposal every transaction named by the manifests of its
//! not-yet-finalized ancestors (validators hold only shares, never the transactions of a
//! block that is not final). A manifest is the block leader's own word, received with its share
//! for this validator over the leader's authenticated connection; no other peer can add to it
//! or mark anything. Shared by the application (propose, verify) and the finalizer (drops a
//! finalized block's entry, and hands it to the mempool of a node that does not reconstruct).
//! Bounded in blocks and hashes, oldest forgotten first: a forgotten manifest only makes a
//! later proposal on that ancestor empty.

use cortado_dispersal::Manifest;
use cortado_types::Hash;
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

/// Most blocks whose manifests are held.
const BLOCKS_MAX: usize = 4_096;
/// Most transaction hashes held over all manifests (32 MiB).
const HASHES_MAX: usize = 1 << 20;

#[derive(Default)]
struct Inner {
    by_block: HashMap<Hash, (u64, Manifest)>,
    order: VecDeque<Hash>,
    hashes: usize,
}

/// The manifests of recent proposals, by block hash. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Manifests(Arc<Mutex<Inner>>);

impl Manifests {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The critical sections cannot panic half-way; a poisoned lock still holds a
        // consistent table.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what `block` (at `height`) holds, by its leader's word.
    pub fn insert(&self, block: Hash, height: u64, manifest: Manifest) {
        if manifest.len() > HASHES_MAX {
            return;
        }
        let mut inner = self.lock();
        if inner.by_block.contains_key(&block) {
            return;
        }
        inner.hashes += manifest.len();
        inner.by_block.insert(block, (height, manifest));
        inner.order.push_back(block);
        while inner.by_block.len() > BLOCKS_MAX || inner.hashes > HASHES_MAX {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some((_, gone)) = inner.by_block.remove(&oldest) {
                inner.hashes -= gone.len();
            }
        }
    }

    /// What `block` holds, if known.
    pub fn get(&self, block: &Hash) -> Option<Manifest> {
        self.lock().by_block.get(block).map(|(_, m)| m.clone())
    }

    /// Forgets `block` (finalized) and every other block at or below `height` (they can no
    /// longer be built on); returns `block`'s manifest if it was known.
    pub fn finalized(&self, block: &Hash, height: u64) -> Option<Manifest> {
        let mut inner = self.lock();
        let manifest = inner.by_block.remove(block).map(|(_, m)| m);
        if let Some(m) = &manifest {
            inner.hashes -= m.len();
        }
        let Inner {
            by_block,
            order,
            hashes,
        } = &mut *inner;
        by_block.retain(|_, (h, m)| {
            let keep = *h > height;
            if !keep {
                *hashes -= m.len();
            }
            keep
        });
        order.retain(|b| by_block.contains_key(b));
        manifest
    }

    /// Blocks held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().by_block.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u8) -> Hash {
        Hash([i; 32])
    }

    #[test]
    fn finalized_blocks_and_their_forks_are_forgotten() {
        let m = Manifests::default();
        m.insert(h(1), 5, Arc::from(vec![h(10)]));
        m.insert(h(2), 5, Arc::from(vec![h(11)]));
        m.insert(h(3), 6, Arc::from(vec![h(12), h(13)]));
        assert_eq!(m.get(&h(3)).unwrap().len(), 2);
        assert_eq!(m.finalized(&h(1), 5).unwrap()[0], h(10));
        assert!(
            m.get(&h(2)).is_none(),
            "the other block at height 5 is gone"
        );
        assert_eq!(m.len(), 1);
        assert!(m.finalized(&h(9), 6).is_none());
        assert_eq!(m.len(), 0);
        assert_eq!(m.lock().hashes, 0);
    }

    #[test]
    fn bounded_oldest_first() {
        let m = Manifests::default();
        for i in 0..(BLOCKS_MAX + 10) as u64 {
            let mut b = [0u8; 32];
            b[..8].copy_from_slice(&i.to_le_bytes());
            m.insert(Hash(b), i, Arc::from(vec![h(1)]));
        }
        assert_eq!(m.len(), BLOCKS_MAX);
        assert!(m.get(&Hash([0; 32])).is_none());
    }
}
