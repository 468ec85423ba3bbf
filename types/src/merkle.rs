//! A binary Merkle tree in the shape of RFC 6962 (Certificate Transparency).
//!
//! `root([])` is the hash of the empty string under the leaf domain; a leaf hashes
//! `0x00 || leaf`; an inner node hashes `0x01 || left || right`; a list of `n > 1` leaves
//! splits at the largest power of two strictly below `n`. Unlike Bitcoin's tree, no node is
//! duplicated, so two different leaf lists never share a root (CVE-2012-2459 does not apply).
//! Every hash is also prefixed by a caller-chosen domain, so roots of different trees
//! (namespace tables, headers) cannot be confused.

use crate::Hash;
use commonware_cryptography::{Hasher, Sha256};

const LEAF: &[u8] = &[0x00];
const NODE: &[u8] = &[0x01];

/// Hash of one leaf.
pub fn leaf_hash(domain: &[u8], leaf: &[u8]) -> Hash {
    Hash(Sha256::hash(&[domain, LEAF, leaf]).0)
}

fn node_hash(domain: &[u8], left: &Hash, right: &Hash) -> Hash {
    Hash(Sha256::hash(&[domain, NODE, &left.0, &right.0]).0)
}

fn split(n: usize) -> usize {
    debug_assert!(n > 1);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn root_of(domain: &[u8], leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash(Sha256::hash(&[domain, LEAF]).0),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(
                domain,
                &root_of(domain, &leaves[..k]),
                &root_of(domain, &leaves[k..]),
            )
        }
    }
}

/// The root over already-hashed leaves.
pub fn root(domain: &[u8], leaf_hashes: &[Hash]) -> Hash {
    root_of(domain, leaf_hashes)
}

/// The audit path of leaf `index` among `leaf_hashes`, from the leaf upwards.
///
/// Panics if `index` is out of range (a caller bug, not input).
pub fn proof(domain: &[u8], leaf_hashes: &[Hash], index: usize) -> Vec<Hash> {
    assert!(index < leaf_hashes.len(), "proof index out of range");
    let mut path = Vec::new();
    fn walk(domain: &[u8], leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
        if leaves.len() <= 1 {
            return;
        }
        let k = split(leaves.len());
        if index < k {
            walk(domain, &leaves[..k], index, path);
            path.push(root_of(domain, &leaves[k..]));
        } else {
            walk(domain, &leaves[k..], index - k, path);
            path.push(root_of(domain, &leaves[..k]));
        }
    }
    walk(domain, leaf_hashes, index, &mut path);
    path
}

/// Recomputes the root from a leaf hash, its index, the tree size and the audit path.
/// Returns `None` if the path has the wrong length for that position.
pub fn root_from_proof(
    domain: &[u8],
    leaf: Hash,
    index: usize,
    size: usize,
    path: &[Hash],
) -> Option<Hash> {
    if index >= size {
        return None;
    }
    // Descend to find, for each level, whether we are the left or right child.
    let mut sides = Vec::new(); // true = sibling on the right
    let (mut lo, mut n, mut i) = (0usize, size, index);
    while n > 1 {
        let k = split(n);
        if i < k {
            sides.push(true);
            n = k;
        } else {
            sides.push(false);
            i -= k;
            lo += k;
            n -= k;
        }
    }
    let _ = lo;
    if sides.len() != path.len() {
        return None;
    }
    let mut acc = leaf;
    for (sibling, right) in path.iter().zip(sides.iter().rev()) {
        acc = if *right {
            node_hash(domain, &acc, sibling)
        } else {
            node_hash(domain, sibling, &acc)
        };
    }
    Some(acc)
}

/// Checks that `leaf` sits at `index` of a tree of `size` leaves with root `root`.
pub fn verify(
    domain: &[u8],
    root: &Hash,
    leaf: Hash,
    index: usize,
    size: usize,
    path: &[Hash],
) -> bool {
    root_from_proof(domain, leaf, index, size, path).as_ref() == Some(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(b"t", &(i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn every_leaf_proves_for_sizes_1_to_33() {
        for n in 1..=33 {
            let l = leaves(n);
            let r = root(b"t", &l);
            for i in 0..n {
                let p = proof(b"t", &l, i);
                assert!(verify(b"t", &r, l[i], i, n, &p), "n={n} i={i}");
                // Wrong index or size never verifies with the same path (unless symmetric by accident of equal leaves, which ours are not).
                if n > 1 {
                    assert!(!verify(b"t", &r, l[i], (i + 1) % n, n, &p), "n={n} i={i}");
                    assert!(!verify(b"u", &r, l[i], i, n, &p), "domain must matter");
                }
            }
        }
    }

    #[test]
    fn distinct_lists_distinct_roots() {
        // [a,b,c] vs [a,b,c,c] would collide in a duplicating tree.
        let l = leaves(3);
        let mut l4 = l.clone();
        l4.push(l[2]);
        assert_ne!(root(b"t", &l), root(b"t", &l4));
        assert_ne!(root(b"t", &[]), root(b"t", &leaves(1)));
    }

    proptest! {
        #[test]
        fn tampered_path_fails(n in 2usize..64, i in 0usize..64, which in 0usize..8) {
            let i = i % n;
            let l = leaves(n);
            let r = root(b"t", &l);
            let mut p = proof(b"t", &l, i);
            let w = which % p.len();
            p[w].0[0] ^= 1;
            prop_assert!(!verify(b"t", &r, l[i], i, n, &p));
            let short = &p[..p.len() - 1];
            prop_assert!(!verify(b"t", &r, l[i], i, n, short));
        }
    }
}
