//! All audit paths of a [`cortado_types::merkle`] tree at once.
//!
//! `merkle::proof` recomputes the sibling subtrees for every call, so proving all `n` leaves
//! costs `O(n²)` hashes. This builder hashes each inner node once and reads every path off the
//! stored levels. It builds the same tree: an RFC-6962 tree of `n` leaves (split at the largest
//! power of two below `n`) is the bottom-up tree that pairs neighbours level by level and lifts
//! an unpaired last node unchanged. The tests check roots and paths against `merkle` for every
//! size up to 300.

use commonware_cryptography::{Hasher, Sha256};
use cortado_types::{Hash, merkle};

const NODE: &[u8] = &[0x01];

/// `merkle`'s inner-node hash (private there): `H(domain || 0x01 || left || right)`.
fn node_hash(domain: &[u8], left: &Hash, right: &Hash) -> Hash {
    Hash(Sha256::hash(&[domain, NODE, &left.0, &right.0]).0)
}

/// A Merkle tree with every level kept.
pub(crate) struct Tree {
    domain: &'static [u8],
    /// `levels[0]` are the leaf hashes; the last level holds the root alone.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// Builds the tree over already-hashed leaves.
    pub(crate) fn new(domain: &'static [u8], leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|level| level.len() > 1) {
            let below = levels.last().expect("at least one level");
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(domain, left, right),
                    [single] => *single,
                    _ => unreachable!("chunks(2) yields one or two"),
                })
                .collect();
            levels.push(above);
        }
        Self { domain, levels }
    }

    /// The root (`merkle::root` of the leaves).
    pub(crate) fn root(&self) -> Hash {
        match self.levels.last() {
            Some(top) if top.len() == 1 => top[0],
            _ => merkle::root(self.domain, &[]),
        }
    }

    /// The audit path of leaf `index`, from the leaf upwards (`merkle::proof`'s layout).
    ///
    /// Panics if `index` is out of range (a caller bug).
    pub(crate) fn path(&self, index: usize) -> Vec<Hash> {
        assert!(index < self.levels[0].len(), "path index out of range");
        let mut path = Vec::with_capacity(self.levels.len());
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            // An unpaired last node is lifted unchanged: no sibling, no path element.
            if let Some(sibling) = level.get(i ^ 1) {
                path.push(*sibling);
            }
            i /= 2;
        }
        path
    }
}

/// The root over already-hashed leaves, keeping no levels.
pub(crate) fn root(domain: &'static [u8], leaves: Vec<Hash>) -> Hash {
    Tree::new(domain, leaves).root()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &[u8] = b"_TEST";

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| merkle::leaf_hash(DOMAIN, &(i as u64).to_le_bytes()))
            .collect()
    }

    #[test]
    fn matches_merkle_for_sizes_0_to_300() {
        for n in 0..=300 {
            let l = leaves(n);
            let tree = Tree::new(DOMAIN, l.clone());
            let root = merkle::root(DOMAIN, &l);
            assert_eq!(tree.root(), root, "n = {n}");
            for i in 0..n {
                let path = tree.path(i);
                assert_eq!(path, merkle::proof(DOMAIN, &l, i), "n = {n}, i = {i}");
                assert!(merkle::verify(DOMAIN, &root, l[i], i, n, &path));
                assert!(path.len() <= crate::params::tree_height(n));
            }
        }
    }

    #[test]
    fn root_only_matches() {
        for n in [0, 1, 2, 3, 7, 100, 1024] {
            assert_eq!(root(DOMAIN, leaves(n)), merkle::root(DOMAIN, &leaves(n)));
        }
    }
}
