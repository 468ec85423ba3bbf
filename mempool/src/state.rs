//! The pool's rules, synchronous: admission under the bounds, duplicates, FIFO selection under
//! block limits, finalized removal and the recent-finalized set. No async, no clock, no I/O.
//!
//! Every transaction gets a sequence number at admission. FIFO order is the order of sequence
//! numbers, which the journal stores with each transaction, so a replay (even one that sees a
//! compacted transaction after younger ones) restores the same order.

use crate::{Error, Limit, Stats};
use cortado_types::{Hash, Limits, Namespace, Transaction};
use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    time::Duration,
};

/// The bounds a [`Pool`] enforces (a subset of [`crate::Config`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// See [`crate::Config::bytes_max`].
    pub bytes_max: usize,
    /// See [`crate::Config::txs_max`].
    pub txs_max: usize,
    /// See [`crate::Config::tx_bytes_max`].
    pub tx_bytes_max: usize,
    /// See [`crate::Config::namespace_bytes_max`].
    pub namespace_bytes_max: usize,
    /// See [`crate::Config::recent_finalized_max`].
    pub recent_finalized_max: usize,
    /// See [`crate::Config::full_retry_after`].
    pub full_retry_after: Duration,
}

impl From<&crate::Config> for Bounds {
    fn from(cfg: &crate::Config) -> Self {
        Self {
            bytes_max: cfg.bytes_max,
            txs_max: cfg.txs_max,
            tx_bytes_max: cfg.tx_bytes_max,
            namespace_bytes_max: cfg.namespace_bytes_max,
            recent_finalized_max: cfg.recent_finalized_max,
            full_retry_after: cfg.full_retry_after,
        }
    }
}

/// The outcome of an accepted admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admitted {
    /// The transaction is new; it got sequence number `seq` and must be journaled.
    New { seq: u64 },
    /// The pool holds it already, or it was finalized recently: nothing changed.
    Duplicate,
}

/// The outcome of restoring a journaled transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Restored {
    /// Back in the pool.
    Added,
    /// Already in the pool (a compacted copy of the same transaction).
    Present,
    /// Larger than `tx_bytes_max`: no block could carry it.
    Dropped,
}

struct Entry {
    seq: u64,
    tx: Transaction,
}

/// A bounded FIFO set of recently finalized hashes.
struct Recent {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
    max: usize,
}

impl Recent {
    fn new(max: usize) -> Self {
        Self {
            set: HashSet::new(),
            order: VecDeque::new(),
            max,
        }
    }

    fn contains(&self, hash: &Hash) -> bool {
        self.set.contains(hash)
    }

    fn insert(&mut self, hash: Hash) {
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

/// The transaction pool.
pub(crate) struct Pool {
    bounds: Bounds,
    entries: HashMap<Hash, Entry>,
    /// Sequence number → hash: the FIFO order.
    order: BTreeMap<u64, Hash>,
    /// Payload bytes per namespace (only namespaces with at least one transaction).
    namespaces: HashMap<Namespace, usize>,
    bytes: usize,
    next_seq: u64,
    recent: Recent,
}

impl Pool {
    /// Creates an empty pool.
    pub fn new(bounds: Bounds) -> Self {
        Self {
            bounds,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            namespaces: HashMap::new(),
            bytes: 0,
            next_seq: 0,
            recent: Recent::new(bounds.recent_finalized_max),
        }
    }

    /// Admits `tx` (whose hash is `hash`) if the bounds allow.
    ///
    /// Checks, in order: the payload size, duplicates (a duplicate is accepted even when the pool
    /// is full), the transaction count, the pool bytes, the namespace bytes.
    pub fn admit(&mut self, hash: Hash, tx: Transaction) -> Result<Admitted, Error> {
        let size = tx.payload.len();
        if size > self.bounds.tx_bytes_max {
            return Err(Error::TooLarge {
                size,
                limit: self.bounds.tx_bytes_max,
            });
        }
        if self.entries.contains_key(&hash) || self.recent.contains(&hash) {
            return Ok(Admitted::Duplicate);
        }
        let retry_after = self.bounds.full_retry_after;
        if self.entries.len() >= self.bounds.txs_max {
            return Err(Error::Full {
                limit: Limit::Txs(self.bounds.txs_max),
                retry_after,
            });
        }
        if self.bytes + size > self.bounds.bytes_max {
            return Err(Error::Full {
                limit: Limit::Bytes(self.bounds.bytes_max),
                retry_after,
            });
        }
        let namespace_bytes = self.namespaces.get(&tx.namespace).copied().unwrap_or(0);
        if namespace_bytes + size > self.bounds.namespace_bytes_max {
            return Err(Error::NamespaceFull {
                namespace: tx.namespace,
                limit: self.bounds.namespace_bytes_max,
                retry_after,
            });
        }
        let seq = self.next_seq;
        self.insert(seq, hash, tx);
        Ok(Admitted::New { seq })
    }

    /// Puts back a journaled transaction with its original sequence number.
    ///
    /// Ignores the byte and count bounds and the recent-finalized set: the transaction was
    /// acknowledged, and the journal's order of records already says whether it is live.
    pub fn restore(&mut self, seq: u64, hash: Hash, tx: Transaction) -> Restored {
        if self.entries.contains_key(&hash) {
            return Restored::Present;
        }
        if tx.payload.len() > self.bounds.tx_bytes_max {
            return Restored::Dropped;
        }
        assert!(
            !self.order.contains_key(&seq),
            "journal holds two transactions with sequence number {seq}"
        );
        self.insert(seq, hash, tx);
        Restored::Added
    }

    fn insert(&mut self, seq: u64, hash: Hash, tx: Transaction) {
        let size = tx.payload.len();
        self.bytes += size;
        *self.namespaces.entry(tx.namespace).or_insert(0) += size;
        self.order.insert(seq, hash);
        self.entries.insert(hash, Entry { seq, tx });
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Removes the finalized `hashes` and remembers them as recently finalized. Returns the ones
    /// that were in the pool.
    pub fn finalize(&mut self, hashes: &[Hash]) -> Vec<Hash> {
        let mut removed = Vec::new();
        for hash in hashes {
            self.recent.insert(*hash);
            let Some(entry) = self.entries.remove(hash) else {
                continue;
            };
            let size = entry.tx.payload.len();
            self.bytes -= size;
            let namespace = self
                .namespaces
                .get_mut(&entry.tx.namespace)
                .expect("namespace of a pooled transaction is counted");
            *namespace -= size;
            if *namespace == 0 {
                self.namespaces.remove(&entry.tx.namespace);
            }
            self.order
                .remove(&entry.seq)
                .expect("pooled transaction is in the order");
            removed.push(*hash);
        }
        removed
    }

    /// Transactions in arrival order that fit `limits`, skipping `exclude`. Removes nothing.
    ///
    /// A transaction that would break a limit is skipped, not a stop: a later, smaller one may
    /// still fit. The walk ends when the block holds `txs_per_block_max` transactions or the
    /// pool is exhausted, so it costs O(pool) in the worst case.
    #[cfg(test)]
    pub fn select(&self, limits: &Limits, exclude: &HashSet<Hash>) -> Vec<Transaction> {
        self.select_skipping(limits, exclude, |_| false)
    }

    /// [`Self::select`], also skipping every hash for which `skip` is true (in flight).
    pub fn select_skipping(
        &self,
        limits: &Limits,
        exclude: &HashSet<Hash>,
        skip: impl Fn(&Hash) -> bool,
    ) -> Vec<Transaction> {
        let mut selected = Vec::new();
        let mut bytes = 0usize;
        let mut namespaces = HashSet::new();
        for hash in self.order.values() {
            if selected.len() >= limits.txs_per_block_max {
                break;
            }
            if exclude.contains(hash) || skip(hash) {
                continue;
            }
            let tx = &self.entries[hash].tx;
            let size = tx.payload.len();
            if size > limits.tx_bytes_max || bytes + size > limits.block_bytes_max {
                continue;
            }
            if !namespaces.contains(&tx.namespace)
                && namespaces.len() >= limits.namespaces_per_block_max
            {
                continue;
            }
            namespaces.insert(tx.namespace);
            bytes += size;
            selected.push(tx.clone());
        }
        selected
    }

    /// Whether the pool holds `hash`.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.entries.contains_key(hash)
    }

    /// The sequence number and transaction of `hash`, if pooled.
    pub fn get(&self, hash: &Hash) -> Option<(u64, &Transaction)> {
        self.entries.get(hash).map(|entry| (entry.seq, &entry.tx))
    }

    /// Occupancy.
    pub fn stats(&self) -> Stats {
        Stats {
            txs: self.entries.len(),
            bytes: self.bytes,
        }
    }

    /// Recomputes every counter from the entries and compares (tests and debug checks).
    #[cfg(test)]
    pub fn check_invariants(&self) {
        let bytes: usize = self.entries.values().map(|e| e.tx.payload.len()).sum();
        assert_eq!(bytes, self.bytes);
        assert_eq!(self.order.len(), self.entries.len());
        let mut namespaces: HashMap<Namespace, usize> = HashMap::new();
        for (hash, entry) in &self.entries {
            assert_eq!(self.order.get(&entry.seq), Some(hash));
            *namespaces.entry(entry.tx.namespace).or_insert(0) += entry.tx.payload.len();
        }
        namespaces.retain(|_, bytes| *bytes > 0);
        let mut counted = self.namespaces.clone();
        counted.retain(|_, bytes| *bytes > 0);
        assert_eq!(namespaces, counted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> Bounds {
        Bounds {
            bytes_max: 100,
            txs_max: 10,
            tx_bytes_max: 40,
            namespace_bytes_max: 60,
            recent_finalized_max: 3,
            full_retry_after: Duration::from_secs(1),
        }
    }

    fn tx(namespace: u64, size: usize, tag: u8) -> (Hash, Transaction) {
        let tx = Transaction::new(namespace, vec![tag; size]);
        (tx.hash(), tx)
    }

    fn admit(pool: &mut Pool, namespace: u64, size: usize, tag: u8) -> Result<Admitted, Error> {
        let (hash, tx) = tx(namespace, size, tag);
        let result = pool.admit(hash, tx);
        pool.check_invariants();
        result
    }

    fn limits(block_bytes_max: usize, namespaces: usize, txs: usize) -> Limits {
        Limits {
            tx_bytes_max: 40,
            block_bytes_max,
            namespaces_per_block_max: namespaces,
            txs_per_block_max: txs,
        }
    }

    #[test]
    fn too_large_is_refused() {
        let mut pool = Pool::new(bounds());
        assert_eq!(
            admit(&mut pool, 1, 41, 0),
            Err(Error::TooLarge {
                size: 41,
                limit: 40
            })
        );
        assert_eq!(admit(&mut pool, 1, 40, 0), Ok(Admitted::New { seq: 0 }));
        assert_eq!(pool.stats(), Stats { txs: 1, bytes: 40 });
    }

    #[test]
    fn bytes_bound() {
        let mut pool = Pool::new(bounds());
        // Three namespaces so the per-namespace bound is not the one hit.
        assert!(admit(&mut pool, 1, 40, 0).is_ok());
        assert!(admit(&mut pool, 2, 40, 0).is_ok());
        let err = admit(&mut pool, 3, 21, 0).unwrap_err();
        assert_eq!(
            err,
            Error::Full {
                limit: Limit::Bytes(100),
                retry_after: Duration::from_secs(1)
            }
        );
        // Exactly at the bound is fine.
        assert!(admit(&mut pool, 3, 20, 0).is_ok());
        assert_eq!(pool.stats().bytes, 100);
        // An empty payload still fits the byte bound.
        assert!(admit(&mut pool, 4, 0, 0).is_ok());
    }

    #[test]
    fn count_bound() {
        let mut pool = Pool::new(bounds());
        for tag in 0..10 {
            assert!(admit(&mut pool, tag as u64, 1, tag).is_ok());
        }
        assert!(matches!(
            admit(&mut pool, 99, 1, 99),
            Err(Error::Full {
                limit: Limit::Txs(10),
                ..
            })
        ));
    }

    #[test]
    fn namespace_bound() {
        let mut pool = Pool::new(bounds());
        assert!(admit(&mut pool, 1, 40, 0).is_ok());
        assert!(admit(&mut pool, 1, 20, 1).is_ok());
        assert_eq!(
            admit(&mut pool, 1, 1, 2),
            Err(Error::NamespaceFull {
                namespace: Namespace(1),
                limit: 60,
                retry_after: Duration::from_secs(1)
            })
        );
        // Another namespace still gets in.
        assert!(admit(&mut pool, 2, 30, 0).is_ok());
        // Finalizing frees the namespace's share.
        let (hash, _) = tx(1, 40, 0);
        assert_eq!(pool.finalize(&[hash]), vec![hash]);
        pool.check_invariants();
        assert!(admit(&mut pool, 1, 1, 2).is_ok());
    }

    #[test]
    fn duplicates_are_idempotent_even_when_full() {
        let mut pool = Pool::new(bounds());
        assert_eq!(admit(&mut pool, 1, 40, 0), Ok(Admitted::New { seq: 0 }));
        assert_eq!(admit(&mut pool, 1, 40, 0), Ok(Admitted::Duplicate));
        assert_eq!(pool.stats(), Stats { txs: 1, bytes: 40 });
        assert!(admit(&mut pool, 2, 40, 0).is_ok());
        assert!(admit(&mut pool, 3, 20, 0).is_ok());
        // Full, but a duplicate is still answered as such.
        assert!(admit(&mut pool, 3, 1, 1).is_err());
        assert_eq!(admit(&mut pool, 2, 40, 0), Ok(Admitted::Duplicate));
    }

    #[test]
    fn select_is_fifo_and_skips_what_does_not_fit() {
        let mut pool = Pool::new(Bounds {
            bytes_max: 1000,
            txs_max: 100,
            namespace_bytes_max: 1000,
            ..bounds()
        });
        let txs: Vec<_> = [(5, 30, 0), (1, 30, 1), (5, 30, 2), (2, 5, 3), (3, 5, 4)]
            .into_iter()
            .map(|(ns, size, tag)| tx(ns, size, tag))
            .collect();
        for (hash, tx) in &txs {
            pool.admit(*hash, tx.clone()).unwrap();
        }
        let all: Vec<Transaction> = txs.iter().map(|(_, tx)| tx.clone()).collect();
        let none = HashSet::new();

        // Everything fits: arrival order, not namespace order.
        assert_eq!(pool.select(&limits(1000, 10, 10), &none), all);

        // 70 bytes: the first two (60), skip the third (would be 90), take the two small ones.
        let selected = pool.select(&limits(70, 10, 10), &none);
        assert_eq!(
            selected,
            vec![
                all[0].clone(),
                all[1].clone(),
                all[3].clone(),
                all[4].clone()
            ]
        );
        // 69 bytes: the last small one no longer fits.
        let selected = pool.select(&limits(69, 10, 10), &none);
        assert_eq!(
            selected,
            vec![all[0].clone(), all[1].clone(), all[3].clone()]
        );

        // Two namespaces: 5 and 1, then only txs of those namespaces.
        let selected = pool.select(&limits(1000, 2, 10), &none);
        assert_eq!(
            selected,
            vec![all[0].clone(), all[1].clone(), all[2].clone()]
        );

        // Three transactions at most.
        let selected = pool.select(&limits(1000, 10, 3), &none);
        assert_eq!(selected, all[..3].to_vec());

        // Exclusion skips without consuming any limit.
        let exclude: HashSet<Hash> = [txs[0].0, txs[2].0].into_iter().collect();
        let selected = pool.select(&limits(1000, 10, 2), &exclude);
        assert_eq!(selected, vec![all[1].clone(), all[3].clone()]);

        // A transaction larger than the block's tx limit is never selected.
        let small = Limits {
            tx_bytes_max: 10,
            ..limits(1000, 10, 10)
        };
        assert_eq!(
            pool.select(&small, &none),
            vec![all[3].clone(), all[4].clone()]
        );

        // Selection removes nothing.
        assert_eq!(pool.stats().txs, 5);
    }

    #[test]
    fn finalized_removal_and_recent_suppression() {
        let mut pool = Pool::new(bounds());
        let (a, tx_a) = tx(1, 10, 0);
        let (b, tx_b) = tx(1, 10, 1);
        pool.admit(a, tx_a.clone()).unwrap();
        pool.admit(b, tx_b.clone()).unwrap();
        // Removing an unknown hash is harmless; only pooled ones are returned.
        let unknown = tx(9, 1, 9).0;
        assert_eq!(pool.finalize(&[a, unknown]), vec![a]);
        pool.check_invariants();
        assert!(!pool.contains(&a));
        assert!(pool.contains(&b));
        assert_eq!(pool.stats(), Stats { txs: 1, bytes: 10 });
        // A late copy of a finalized transaction is a duplicate, and is not re-added.
        assert_eq!(pool.admit(a, tx_a.clone()), Ok(Admitted::Duplicate));
        assert!(!pool.contains(&a));
        // So is a transaction finalized without ever being in this pool.
        let (c, tx_c) = tx(1, 10, 2);
        pool.finalize(&[c]);
        assert_eq!(pool.admit(c, tx_c), Ok(Admitted::Duplicate));
        // Finalizing twice is idempotent.
        assert!(pool.finalize(&[a]).is_empty());
        // The recent set is bounded (3): after three more, `a` is forgotten.
        let others: Vec<Hash> = (10..13).map(|tag| tx(2, 1, tag).0).collect();
        pool.finalize(&others);
        assert!(matches!(pool.admit(a, tx_a), Ok(Admitted::New { .. })));
        pool.check_invariants();
    }

    #[test]
    fn restore_keeps_sequence_order_and_ignores_bounds() {
        let mut pool = Pool::new(bounds());
        let (a, tx_a) = tx(1, 40, 0);
        let (b, tx_b) = tx(1, 40, 1);
        let (c, tx_c) = tx(2, 41, 2);
        // Restored out of order (as after a compaction) and over the namespace bound.
        assert_eq!(pool.restore(7, b, tx_b.clone()), Restored::Added);
        assert_eq!(pool.restore(3, a, tx_a.clone()), Restored::Added);
        assert_eq!(pool.restore(9, b, tx_b.clone()), Restored::Present);
        assert_eq!(pool.restore(8, c, tx_c), Restored::Dropped);
        pool.check_invariants();
        let selected = pool.select(&limits(1000, 10, 10), &HashSet::new());
        assert_eq!(selected, vec![tx_a, tx_b]);
        // New admissions continue after the largest sequence number.
        let (d, tx_d) = tx(3, 1, 3);
        assert_eq!(pool.admit(d, tx_d), Ok(Admitted::New { seq: 8 }));
    }
}
