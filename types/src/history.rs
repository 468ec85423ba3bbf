//! The header history accumulator: a Merkle mountain range (MMR) over the hashes of all previous
//! headers, so that one verified recent header proves any past one.
//!
//! The header at height `h` carries the *peaks* of the MMR whose leaves are the hashes of the
//! headers at heights `0..h` (so `h` leaves; genesis carries none). The peaks are the roots of
//! the perfect binary trees the leaf count decomposes into, largest (oldest) first: one per set
//! bit of `h`, so at most 64. Carrying the peaks (not only a root) makes the accumulator
//! stateless: a validator checks a proposal's peaks from its parent's peaks and the parent's hash
//! alone ([`append`]).
//!
//! - Leaves are header hashes as they are (already domain-separated by `_CORTADO_HEADER`).
//! - An inner node is `SHA-256("_CORTADO_HISTORY" || 0x01 || left || right)`.
//! - The accumulator root of a header is `SHA-256("_CORTADO_HISTORY" || 0x02 || h (u64 BE) ||
//!   peaks…)` ([`root`]).
//! - A proof that header `i` is in the history of header `L` (`i < L`) is the sibling path from
//!   leaf `i` to the peak of its mountain ([`HistoryProof`]); the verifier recomputes that peak
//!   and compares it with the peak the later header carries ([`verify`]).
//!
//! Node `(level, index)` is the root of the perfect tree over leaves `[index·2^level,
//! (index+1)·2^level)`; [`append`] reports the nodes it creates so that a node can store them and
//! answer proofs with O(log h) reads ([`proof_positions`]).

use crate::{FORMAT_VERSION, Hash, read_version};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};

/// Domain of history nodes and roots.
pub const DOMAIN_HISTORY: &[u8] = b"_CORTADO_HISTORY";

/// Most peaks a header can carry (one per bit of a `u64` height).
pub const PEAKS_MAX: usize = 64;

fn node(left: &Hash, right: &Hash) -> Hash {
    Hash::digest(DOMAIN_HISTORY, &[&[0x01], &left.0, &right.0])
}

/// The number of peaks of an MMR with `count` leaves.
pub fn peak_count(count: u64) -> usize {
    count.count_ones() as usize
}

/// A node of the accumulator created by [`append`]: `(level, index, hash)`.
pub type Created = (u32, u64, Hash);

/// Appends `leaf` to the MMR of `count` leaves whose peaks are `peaks`; returns the peaks of the
/// MMR of `count + 1` leaves and the nodes created (the leaf at level 0, then each merge).
///
/// Panics if `peaks` does not have [`peak_count`]`(count)` entries (a caller bug: headers with
/// the wrong number of peaks are refused when decoded).
pub fn append(peaks: &[Hash], count: u64, leaf: Hash) -> (Vec<Hash>, Vec<Created>) {
    assert_eq!(
        peaks.len(),
        peak_count(count),
        "peaks do not match the leaf count"
    );
    let mut peaks = peaks.to_vec();
    let mut created = vec![(0u32, count, leaf)];
    let (mut acc, mut rest, mut level, mut index) = (leaf, count, 0u32, count);
    while rest & 1 == 1 {
        let left = peaks.pop().expect("a set bit has a peak");
        acc = node(&left, &acc);
        level += 1;
        index >>= 1;
        rest >>= 1;
        created.push((level, index, acc));
    }
    peaks.push(acc);
    (peaks, created)
}

/// The positions `(level, index)` of the peaks of an MMR of `count` leaves, largest (oldest)
/// first: the order in which a header at height `count` carries them. A node that starts from a
/// checkpoint header stores its peaks there, so that the nodes later headers create (and the
/// proofs of later headers) are complete without the history below the checkpoint.
pub fn peak_positions(count: u64) -> Vec<(u32, u64)> {
    let mut positions = Vec::with_capacity(peak_count(count));
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        if count >> level & 1 == 1 {
            positions.push((level, start >> level));
            start += 1 << level;
        }
    }
    positions
}

/// The accumulator root of an MMR of `count` leaves.
pub fn root(count: u64, peaks: &[Hash]) -> Hash {
    let count = count.to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![&[0x02], &count];
    parts.extend(peaks.iter().map(|p| p.0.as_slice()));
    Hash::digest(DOMAIN_HISTORY, &parts)
}

/// The mountain holding leaf `leaf` in an MMR of `count` leaves: `(peak position, height,
/// first leaf)`, or `None` if `leaf >= count`.
fn mountain(leaf: u64, count: u64) -> Option<(usize, u32, u64)> {
    if leaf >= count {
        return None;
    }
    let mut start = 0u64;
    let mut position = 0usize;
    for height in (0..64u32).rev() {
        if count & (1u64 << height) == 0 {
            continue;
        }
        let size = 1u64 << height;
        if leaf < start + size {
            return Some((position, height, start));
        }
        start += size;
        position += 1;
    }
    None
}

/// The nodes `(level, index)` whose hashes prove leaf `leaf` in an MMR of `count` leaves, from
/// the leaf's sibling upwards; `None` if `leaf >= count`.
pub fn proof_positions(leaf: u64, count: u64) -> Option<Vec<(u32, u64)>> {
    let (_, height, _) = mountain(leaf, count)?;
    Some(
        (0..height)
            .map(|level| (level, (leaf >> level) ^ 1))
            .collect(),
    )
}

/// Proof that the header at height `leaf` is in the history of a later header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryProof {
    /// Height of the proven header.
    pub leaf: u64,
    /// Height of the later header (the MMR's leaf count).
    pub count: u64,
    /// Sibling hashes from the leaf up to its mountain's peak.
    pub siblings: Vec<Hash>,
}

/// Encoding: `version (1) || leaf (u64 BE) || count (u64 BE) || varint n || n × 32-byte sibling`,
/// with `n ≤ 64`.
impl Write for HistoryProof {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.leaf.write(buf);
        self.count.write(buf);
        self.siblings.write(buf);
    }
}

impl EncodeSize for HistoryProof {
    fn encode_size(&self) -> usize {
        1 + 8 + 8 + self.siblings.encode_size()
    }
}

impl Read for HistoryProof {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        read_version(buf, "HistoryProof")?;
        Ok(Self {
            leaf: u64::read(buf)?,
            count: u64::read(buf)?,
            siblings: Vec::<Hash>::read_cfg(buf, &(RangeCfg::new(..=PEAKS_MAX), ()))?,
        })
    }
}

/// Why a history proof does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HistoryError {
    /// The proof is for another pair of heights.
    #[error(
        "proof is for header {leaf} against height {count}; expected {expected_leaf} against {expected_count}"
    )]
    WrongHeights {
        /// Proven height in the proof.
        leaf: u64,
        /// Later height in the proof.
        count: u64,
        /// Expected proven height.
        expected_leaf: u64,
        /// Expected later height.
        expected_count: u64,
    },
    /// The proven header is not older than the later one.
    #[error("header {0} is not older than header {1}")]
    NotOlder(u64, u64),
    /// The later header carries the wrong number of peaks for its height.
    #[error("the later header carries {got} peaks; its height needs {expected}")]
    PeakCount {
        /// Expected.
        expected: usize,
        /// Carried.
        got: usize,
    },
    /// The path has the wrong length for the leaf's mountain.
    #[error("the proof has {got} siblings; the leaf's mountain needs {expected}")]
    PathLength {
        /// Expected.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// The recomputed peak differs: the header is not in that history.
    #[error("header hash does not lead to the later header's history peak")]
    Mismatch,
}

/// Verifies that `leaf_hash` is the hash of the header at height `proof.leaf` in the history
/// carried by a later header at height `count` with peaks `peaks`.
pub fn verify(
    peaks: &[Hash],
    count: u64,
    leaf_hash: Hash,
    proof: &HistoryProof,
) -> Result<(), HistoryError> {
    if proof.count != count {
        return Err(HistoryError::WrongHeights {
            leaf: proof.leaf,
            count: proof.count,
            expected_leaf: proof.leaf,
            expected_count: count,
        });
    }
    if proof.leaf >= count {
        return Err(HistoryError::NotOlder(proof.leaf, count));
    }
    if peaks.len() != peak_count(count) {
        return Err(HistoryError::PeakCount {
            expected: peak_count(count),
            got: peaks.len(),
        });
    }
    let (position, height, _) = mountain(proof.leaf, count).ok_or(HistoryError::Mismatch)?;
    if proof.siblings.len() != height as usize {
        return Err(HistoryError::PathLength {
            expected: height as usize,
            got: proof.siblings.len(),
        });
    }
    let mut acc = leaf_hash;
    for (level, sibling) in proof.siblings.iter().enumerate() {
        acc = if (proof.leaf >> level) & 1 == 0 {
            node(&acc, sibling)
        } else {
            node(sibling, &acc)
        };
    }
    if acc == peaks[position] {
        Ok(())
    } else {
        Err(HistoryError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_positions_are_where_append_created_the_peaks() {
        let mut peaks = Vec::new();
        let mut nodes = std::collections::HashMap::new();
        for count in 0..300u64 {
            let positions = peak_positions(count);
            assert_eq!(positions.len(), peaks.len());
            for (position, peak) in positions.iter().zip(&peaks) {
                assert_eq!(
                    nodes.get(position),
                    Some(peak),
                    "count {count}, {position:?}"
                );
            }
            let leaf = Hash::digest(b"test", &[&count.to_be_bytes()]);
            let (next, created) = append(&peaks, count, leaf);
            for (level, index, hash) in created {
                nodes.insert((level, index), hash);
            }
            peaks = next;
        }
    }
    use std::collections::HashMap;

    fn leaf(i: u64) -> Hash {
        Hash::digest(b"leaf", &[&i.to_be_bytes()])
    }

    #[test]
    fn every_leaf_proves_against_every_later_count() {
        let mut peaks: Vec<Vec<Hash>> = vec![Vec::new()];
        let mut nodes: HashMap<(u32, u64), Hash> = HashMap::new();
        for count in 0..70u64 {
            let (next, created) = append(&peaks[count as usize], count, leaf(count));
            for (level, index, hash) in created {
                nodes.insert((level, index), hash);
            }
            assert_eq!(next.len(), peak_count(count + 1));
            peaks.push(next);
        }
        for count in 1..=70u64 {
            for i in 0..count {
                let positions = proof_positions(i, count).unwrap();
                let siblings: Vec<Hash> = positions.iter().map(|p| nodes[p]).collect();
                let proof = HistoryProof {
                    leaf: i,
                    count,
                    siblings,
                };
                let p = &peaks[count as usize];
                assert_eq!(
                    verify(p, count, leaf(i), &proof),
                    Ok(()),
                    "i={i} count={count}"
                );
                assert_eq!(
                    verify(p, count, leaf(i + 1), &proof),
                    Err(HistoryError::Mismatch)
                );
                if !proof.siblings.is_empty() {
                    let mut bad = proof.clone();
                    bad.siblings[0].0[0] ^= 1;
                    assert_eq!(verify(p, count, leaf(i), &bad), Err(HistoryError::Mismatch));
                    let mut short = proof.clone();
                    short.siblings.pop();
                    assert!(matches!(
                        verify(p, count, leaf(i), &short),
                        Err(HistoryError::PathLength { .. })
                    ));
                }
                // A proof against a different later height is refused.
                if count < 70 {
                    let next = &peaks[count as usize + 1];
                    assert!(verify(next, count + 1, leaf(i), &proof).is_err());
                }
            }
            assert!(proof_positions(count, count).is_none());
        }
        assert_ne!(root(3, &peaks[3]), root(4, &peaks[4]));
    }

    #[test]
    fn proof_codec_round_trips_and_bounds_siblings() {
        use commonware_codec::{DecodeExt, Encode};
        let proof = HistoryProof {
            leaf: 5,
            count: 9,
            siblings: vec![leaf(1), leaf(2)],
        };
        let bytes = proof.encode();
        assert_eq!(bytes.len(), 1 + 8 + 8 + 1 + 64);
        assert_eq!(HistoryProof::decode(bytes).unwrap(), proof);
        let long = HistoryProof {
            siblings: vec![leaf(0); PEAKS_MAX + 1],
            ..proof
        };
        assert!(HistoryProof::decode(long.encode()).is_err());
    }
}
