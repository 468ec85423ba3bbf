//! Shared helpers of the integration tests: deterministic data, subsets, contexts.
#![allow(dead_code)]

use bytes::Bytes;
use cortado_coding::{Chunk, Params};
use cortado_types::{BlockContext, ChainId, Hash, Namespace, NamespaceData, Transaction};

/// Validator counts every coding test covers.
pub const VALIDATOR_COUNTS: [usize; 7] = [1, 2, 3, 4, 7, 10, 100];

/// A seeded generator (splitmix64): tests never use OS randomness.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Bytes {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        Bytes::from(out)
    }

    /// `count` distinct indices of `0..n`, in random order.
    pub fn subset(&mut self, n: usize, count: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..count {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    }
}

/// A namespace whose payloads have the given sizes, with seeded bytes.
pub fn namespace(id: u64, sizes: &[usize], seed: u64) -> NamespaceData {
    let mut rng = Rng::new(seed);
    NamespaceData::new(Namespace(id), sizes.iter().map(|s| rng.bytes(*s)).collect())
}

/// Transactions for `namespace`-many namespaces with the given payload sizes each.
pub fn transactions(namespaces: &[(u64, Vec<usize>)], seed: u64) -> Vec<Transaction> {
    let mut rng = Rng::new(seed);
    let mut txs = Vec::new();
    for (id, sizes) in namespaces {
        for s in sizes {
            txs.push(Transaction::new(*id, rng.bytes(*s)));
        }
    }
    txs
}

/// A block context at height 1.
pub fn context() -> BlockContext {
    BlockContext {
        chain_id: ChainId(7),
        height: 1,
        epoch: 0,
        view: 3,
        parent_view: 2,
        leader: [9u8; 32],
        timestamp_ms: 1_700_000_000_000,
        parent: Hash([5u8; 32]),
        history: Vec::new(),
    }
}

/// The chunks at `indices`, as `(index, chunk)` pairs.
pub fn pick(chunks: &[Chunk], indices: &[usize]) -> Vec<(u16, Chunk)> {
    indices
        .iter()
        .map(|i| (*i as u16, chunks[*i].clone()))
        .collect()
}

/// Every `k`-subset of `0..n` (use for small `n` only).
pub fn all_subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    fn go(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            if n - i < k - cur.len() {
                break;
            }
            cur.push(i);
            go(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(0, n, k, &mut Vec::new(), &mut out);
    out
}

/// Subsets to try for `params`: every subset when there are few, otherwise the originals, the
/// last `k` (all recovery when `n ≥ 2k`), and `extra` seeded random ones (mixed).
pub fn subsets(params: Params, extra: usize, seed: u64) -> Vec<Vec<usize>> {
    let (n, k) = (params.n as usize, params.k as usize);
    if n <= 10 {
        return all_subsets(n, k);
    }
    let mut out = vec![(0..k).collect(), (n - k..n).collect()];
    let mut rng = Rng::new(seed);
    out.extend((0..extra).map(|_| rng.subset(n, k)));
    out
}
