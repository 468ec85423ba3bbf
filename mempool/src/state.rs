//! The pool's rules, synchronous: admission under the bounds, duplicates, FIFO selection under
//! block limits, finalized removal and the recent-finalized set. No async, no clock, no I/O.
//!
//! Every transaction gets a sequence number at admission. FIFO order is the order of sequence
//! numbers, which the journal stores with each transaction, so a replay (even one that sees a
//! compacted transaction after younger ones) restores the same order.

use crate::{Error, Limit, Stats};
use cortado_types::{BUNDLE_NAMESPACE, Bundle, Hash, Limits, Namespace, Transaction};
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
    /// The pool held it as a gossiped copy and a local submission now owns it: it keeps its
    /// place (`seq`) and must be journaled.
    Adopted { seq: u64 },
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
    /// Submitted here (journaled, removed only when seen finalized), as opposed to a copy
    /// gossiped by its owner (soft state).
    owned: bool,
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
    /// Pooled bundles by carrier hash, decoded.
    bundles: HashMap<Hash, Bundle>,
    /// Member hash → carrier hash, for every pooled bundle.
    member_of: HashMap<Hash, Hash>,
}

/// A bundle whose members were finalized: its hash (the carrier's) and the members' hashes.
pub type FinalizedBundle = (Hash, Vec<Hash>);

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
            bundles: HashMap::new(),
            member_of: HashMap::new(),
        }
    }

    /// Decodes a bundle carrier and checks its members against the pool: none may be pending
    /// in another bundle or finalized recently.
    fn bundle_of(&self, tx: &Transaction) -> Result<Bundle, Error> {
        let bundle = Bundle::from_carrier(tx, self.bounds.tx_bytes_max)
            .map_err(|e| Error::Bundle(e.to_string()))?;
        for hash in bundle.member_hashes() {
            if self.member_of.contains_key(&hash) {
                return Err(Error::Bundle(format!(
                    "member {hash} is already pending in another bundle"
                )));
            }
            if self.entries.contains_key(&hash) {
                return Err(Error::Bundle(format!(
                    "member {hash} is already pending on its own"
                )));
            }
            if self.recent.contains(&hash) {
                return Err(Error::Bundle(format!("member {hash} is already finalized")));
            }
        }
        Ok(bundle)
    }

    /// Admits `tx` (whose hash is `hash`) if the bounds allow: `owned` for a local submission,
    /// not for a gossiped copy.
    ///
    /// Checks, in order: the payload size, duplicates (a duplicate is accepted even when the pool
    /// is full; a local submission of a pooled copy adopts it), the transaction count, the pool
    /// bytes, the namespace bytes.
    pub fn admit(&mut self, hash: Hash, tx: Transaction, owned: bool) -> Result<Admitted, Error> {
        let size = tx.payload.len();
        if size > self.bounds.tx_bytes_max {
            return Err(Error::TooLarge {
                size,
                limit: self.bounds.tx_bytes_max,
            });
        }
        if owned
            && let Some(entry) = self.entries.get_mut(&hash)
            && !entry.owned
        {
            entry.owned = true;
            return Ok(Admitted::Adopted { seq: entry.seq });
        }
        // A member of a pending bundle is pending (it will be included with its bundle).
        if self.entries.contains_key(&hash)
            || self.recent.contains(&hash)
            || self.member_of.contains_key(&hash)
        {
            return Ok(Admitted::Duplicate);
        }
        let bundle = if tx.namespace == BUNDLE_NAMESPACE {
            Some(self.bundle_of(&tx)?)
        } else {
            None
        };
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
        self.insert(seq, hash, tx, bundle, owned);
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
        let bundle = if tx.namespace == BUNDLE_NAMESPACE {
            match self.bundle_of(&tx) {
                Ok(bundle) => Some(bundle),
                Err(_) => return Restored::Dropped,
            }
        } else {
            None
        };
        self.insert(seq, hash, tx, bundle, true);
        Restored::Added
    }

    fn insert(
        &mut self,
        seq: u64,
        hash: Hash,
        tx: Transaction,
        bundle: Option<Bundle>,
        owned: bool,
    ) {
        if let Some(bundle) = bundle {
            for member in bundle.member_hashes() {
                self.member_of.insert(member, hash);
            }
            self.bundles.insert(hash, bundle);
        }
        let size = tx.payload.len();
        self.bytes += size;
        *self.namespaces.entry(tx.namespace).or_insert(0) += size;
        self.order.insert(seq, hash);
        self.entries.insert(hash, Entry { seq, tx, owned });
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Removes the finalized `hashes` and remembers them as recently finalized. Returns the ones
    /// that were in the pool (with the carriers of bundles whose members were finalized).
    pub fn finalize(&mut self, hashes: &[Hash]) -> Vec<Hash> {
        self.finalize_bundles(hashes).0
    }

    /// [`Self::finalize`], also returning the bundles whose members were finalized. A bundle
    /// leaves the pool as soon as one of its members is finalized: its members were proposed
    /// together, and a bundle split across blocks (only a faulty leader does that) must not be
    /// proposed again.
    pub fn finalize_bundles(&mut self, hashes: &[Hash]) -> (Vec<Hash>, Vec<FinalizedBundle>) {
        let mut removed = Vec::new();
        let mut bundles = Vec::new();
        for hash in hashes {
            self.recent.insert(*hash);
            if let Some(carrier) = self.member_of.get(hash).copied()
                && let Some(bundle) = self.bundles.remove(&carrier)
            {
                let members = bundle.member_hashes();
                for member in &members {
                    self.member_of.remove(member);
                }
                self.recent.insert(carrier);
                if self.remove(&carrier) {
                    removed.push(carrier);
                }
                bundles.push((carrier, members));
            }
            if self.remove(hash) {
                removed.push(*hash);
            }
        }
        (removed, bundles)
    }

    /// Drops the gossiped copies among `hashes` (a leader's hint said they are in a block that
    /// is now finalized) and remembers them as recently finalized. Owned transactions stay: only
    /// a block this node reconstructed removes those ([`Self::finalize`]), so a false hint
    /// cannot make this node lose what it acknowledged. Returns the hashes dropped.
    pub fn drop_copies(&mut self, hashes: &[Hash]) -> Vec<Hash> {
        let mut dropped = Vec::new();
        for hash in hashes {
            if self.entries.get(hash).is_some_and(|e| e.owned) {
                continue;
            }
            self.recent.insert(*hash);
            if self.remove(hash) {
                dropped.push(*hash);
            }
        }
        dropped
    }

    /// Drops `hash` if it is a gossiped copy (its time to live passed); whether it was.
    pub fn expire_copy(&mut self, hash: &Hash) -> bool {
        if self.entries.get(hash).is_some_and(|e| !e.owned) {
            return self.remove(hash);
        }
        false
    }

    /// The owned transactions (submitted here), in arrival order.
    pub fn owned(&self) -> Vec<Transaction> {
        self.order
            .values()
            .filter_map(|hash| self.entries.get(hash))
            .filter(|e| e.owned)
            .map(|e| e.tx.clone())
            .collect()
    }

    /// Whether the pool holds `hash` as an owned (locally submitted, journaled) transaction.
    #[cfg(test)]
    pub fn owns(&self, hash: &Hash) -> bool {
        self.entries.get(hash).is_some_and(|e| e.owned)
    }

    /// The pooled bundles holding any of `hashes`, each once.
    pub fn bundles_of(&self, hashes: &[Hash]) -> Vec<FinalizedBundle> {
        let mut out: Vec<FinalizedBundle> = Vec::new();
        for hash in hashes {
            if let Some(carrier) = self.member_of.get(hash)
                && !out.iter().any(|(c, _)| c == carrier)
                && let Some(bundle) = self.bundles.get(carrier)
            {
                out.push((*carrier, bundle.member_hashes()));
            }
        }
        out
    }

    /// Removes one pooled transaction; whether it was there.
    fn remove(&mut self, hash: &Hash) -> bool {
        let Some(entry) = self.entries.remove(hash) else {
            return false;
        };
        if let Some(bundle) = self.bundles.remove(hash) {
            for member in bundle.member_hashes() {
                self.member_of.remove(&member);
            }
        }
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
        true
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
    ///
    /// A bundle carrier is expanded into its members, all of them or none: it is taken only if
    /// none of its members is excluded, in flight or already selected, and all fit together.
    pub fn select_skipping(
        &self,
        limits: &Limits,
        exclude: &HashSet<Hash>,
        skip: impl Fn(&Hash) -> bool,
    ) -> Vec<Transaction> {
        let mut selected = Vec::new();
        let mut taken: HashSet<Hash> = HashSet::new();
        let mut bytes = 0usize;
        let mut namespaces = HashSet::new();
        for hash in self.order.values() {
            if selected.len() >= limits.txs_per_block_max {
                break;
            }
            if exclude.contains(hash) || skip(hash) || taken.contains(hash) {
                continue;
            }
            // A plain transaction's hash is its key; only a bundle's members are hashed here
            // (hashing every pooled payload on every selection dominated a saturated node).
            let (members, hashes): (Vec<&Transaction>, Vec<Hash>) = match self.bundles.get(hash) {
                Some(bundle) => (
                    bundle.transactions().iter().collect(),
                    bundle.member_hashes(),
                ),
                None => (vec![&self.entries[hash].tx], vec![*hash]),
            };
            if self.bundles.contains_key(hash)
                && hashes
                    .iter()
                    .any(|h| exclude.contains(h) || skip(h) || taken.contains(h))
            {
                continue;
            }
            let size: usize = members.iter().map(|t| t.payload.len()).sum();
            let new_namespaces: HashSet<Namespace> = members
                .iter()
                .map(|t| t.namespace)
                .filter(|ns| !namespaces.contains(ns))
                .collect();
            if members
                .iter()
                .any(|t| t.payload.len() > limits.tx_bytes_max)
                || bytes + size > limits.block_bytes_max
                || selected.len() + members.len() > limits.txs_per_block_max
                || namespaces.len() + new_namespaces.len() > limits.namespaces_per_block_max
            {
                continue;
            }
            namespaces.extend(new_namespaces);
            bytes += size;
            taken.extend(hashes);
            selected.extend(members.into_iter().cloned());
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
        let result = pool.admit(hash, tx, true);
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
            pool.admit(*hash, tx.clone(), true).unwrap();
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
        pool.admit(a, tx_a.clone(), true).unwrap();
        pool.admit(b, tx_b.clone(), true).unwrap();
        // Removing an unknown hash is harmless; only pooled ones are returned.
        let unknown = tx(9, 1, 9).0;
        assert_eq!(pool.finalize(&[a, unknown]), vec![a]);
        pool.check_invariants();
        assert!(!pool.contains(&a));
        assert!(pool.contains(&b));
        assert_eq!(pool.stats(), Stats { txs: 1, bytes: 10 });
        // A late copy of a finalized transaction is a duplicate, and is not re-added.
        assert_eq!(pool.admit(a, tx_a.clone(), true), Ok(Admitted::Duplicate));
        assert!(!pool.contains(&a));
        // So is a transaction finalized without ever being in this pool.
        let (c, tx_c) = tx(1, 10, 2);
        pool.finalize(&[c]);
        assert_eq!(pool.admit(c, tx_c, true), Ok(Admitted::Duplicate));
        // Finalizing twice is idempotent.
        assert!(pool.finalize(&[a]).is_empty());
        // The recent set is bounded (3): after three more, `a` is forgotten.
        let others: Vec<Hash> = (10..13).map(|tag| tx(2, 1, tag).0).collect();
        pool.finalize(&others);
        assert!(matches!(
            pool.admit(a, tx_a, true),
            Ok(Admitted::New { .. })
        ));
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
        assert_eq!(pool.admit(d, tx_d, true), Ok(Admitted::New { seq: 8 }));
    }

    fn bundle(members: &[(u64, usize, u8)]) -> (Hash, Transaction, Vec<Hash>) {
        let txs: Vec<Transaction> = members
            .iter()
            .map(|(ns, size, tag)| tx(*ns, *size, *tag).1)
            .collect();
        let b = Bundle::new(txs).unwrap();
        let carrier = b.carrier();
        (carrier.hash(), carrier, b.member_hashes())
    }

    fn bundle_bounds() -> Bounds {
        Bounds {
            bytes_max: 1000,
            txs_max: 100,
            tx_bytes_max: 200,
            namespace_bytes_max: 1000,
            ..bounds()
        }
    }

    #[test]
    fn bundles_are_selected_whole_or_not_at_all() {
        let mut pool = Pool::new(bundle_bounds());
        let (a, _) = tx(1, 30, 1);
        pool.admit(a, tx(1, 30, 1).1, true).unwrap();
        let (b_hash, carrier, members) = bundle(&[(2, 20, 2), (3, 20, 3), (4, 20, 4)]);
        assert!(matches!(
            pool.admit(b_hash, carrier.clone(), true),
            Ok(Admitted::New { .. })
        ));
        assert_eq!(pool.admit(b_hash, carrier, true), Ok(Admitted::Duplicate));
        let (c, _) = tx(5, 10, 5);
        pool.admit(c, tx(5, 10, 5).1, true).unwrap();
        pool.check_invariants();
        let none = HashSet::new();
        let hashes = |txs: Vec<Transaction>| txs.iter().map(Transaction::hash).collect::<Vec<_>>();

        // Everything fits: the bundle expands in place, never the carrier itself.
        let all = hashes(pool.select(&limits(1000, 10, 10), &none));
        let mut expected = vec![a];
        expected.extend(&members);
        expected.push(c);
        assert_eq!(all, expected);
        // 75 bytes: the bundle (60) does not fit after `a` (30): skipped whole; `c` still fits.
        assert_eq!(hashes(pool.select(&limits(75, 10, 10), &none)), vec![a, c]);
        // Three namespaces: `a` and the bundle's three do not fit together.
        assert_eq!(hashes(pool.select(&limits(1000, 3, 10), &none)), vec![a, c]);
        // Three transactions: likewise.
        assert_eq!(hashes(pool.select(&limits(1000, 10, 3), &none)), vec![a, c]);
        // One member excluded (in an ancestor, or in flight): the whole bundle waits.
        let excluded: HashSet<Hash> = [members[1]].into_iter().collect();
        assert_eq!(
            hashes(pool.select(&limits(1000, 10, 10), &excluded)),
            vec![a, c]
        );
        assert_eq!(
            hashes(pool.select_skipping(&limits(1000, 10, 10), &none, |h| *h == members[2])),
            vec![a, c]
        );

        // A member is pending through its bundle; another bundle cannot claim it.
        assert_eq!(
            pool.admit(members[0], tx(2, 20, 2).1, true),
            Ok(Admitted::Duplicate)
        );
        let (other, other_carrier, _) = bundle(&[(2, 20, 2), (9, 5, 9)]);
        assert!(
            matches!(pool.admit(other, other_carrier, true), Err(Error::Bundle(m)) if m.contains("another bundle"))
        );
        // Nor a member pending on its own.
        let (own, own_carrier, _) = bundle(&[(1, 30, 1), (9, 5, 9)]);
        assert!(
            matches!(pool.admit(own, own_carrier, true), Err(Error::Bundle(m)) if m.contains("on its own"))
        );
        // A carrier that does not decode.
        let junk = Transaction::new(BUNDLE_NAMESPACE, vec![9u8; 5]);
        assert!(matches!(
            pool.admit(junk.hash(), junk, true),
            Err(Error::Bundle(_))
        ));

        // Finalizing the members removes the carrier and reports the bundle.
        assert_eq!(
            pool.bundles_of(&[a, members[1]]),
            vec![(b_hash, members.clone())]
        );
        let (removed, bundles) = pool.finalize_bundles(&members);
        assert!(removed.contains(&b_hash));
        assert_eq!(bundles, vec![(b_hash, members.clone())]);
        assert!(!pool.contains(&b_hash));
        pool.check_invariants();
        assert_eq!(
            hashes(pool.select(&limits(1000, 10, 10), &none)),
            vec![a, c]
        );
    }

    #[test]
    fn journaled_bundles_are_restored() {
        let mut pool = Pool::new(bundle_bounds());
        let (b_hash, carrier, members) = bundle(&[(2, 20, 2), (3, 20, 3)]);
        assert_eq!(pool.restore(7, b_hash, carrier), Restored::Added);
        let selected: Vec<Hash> = pool
            .select(&limits(1000, 10, 10), &HashSet::new())
            .iter()
            .map(Transaction::hash)
            .collect();
        assert_eq!(selected, members);
        let junk = Transaction::new(BUNDLE_NAMESPACE, vec![1u8; 3]);
        assert_eq!(pool.restore(8, junk.hash(), junk), Restored::Dropped);
    }

    #[test]
    fn copies_are_adopted_dropped_by_hint_and_expired_but_owned_stay() {
        let mut pool = Pool::new(bounds());
        let (a, tx_a) = tx(1, 10, 1);
        let (b, tx_b) = tx(1, 10, 2);
        let (c, tx_c) = tx(1, 10, 3);
        assert_eq!(
            pool.admit(a, tx_a.clone(), false),
            Ok(Admitted::New { seq: 0 })
        );
        assert_eq!(
            pool.admit(b, tx_b.clone(), true),
            Ok(Admitted::New { seq: 1 })
        );
        assert_eq!(pool.admit(c, tx_c, false), Ok(Admitted::New { seq: 2 }));
        // A gossiped copy of an owned transaction changes nothing; a local submission of a
        // copy adopts it in place.
        assert_eq!(pool.admit(b, tx_b, false), Ok(Admitted::Duplicate));
        assert_eq!(
            pool.admit(a, tx_a.clone(), true),
            Ok(Admitted::Adopted { seq: 0 })
        );
        assert_eq!(pool.admit(a, tx_a, true), Ok(Admitted::Duplicate));
        assert!(pool.owns(&a) && pool.owns(&b) && !pool.owns(&c));
        // A hint drops copies only, and remembers them as finalized.
        assert_eq!(pool.drop_copies(&[a, b, c]), vec![c]);
        assert!(pool.contains(&a) && pool.contains(&b) && !pool.contains(&c));
        assert_eq!(
            pool.admit(c, tx(1, 10, 3).1, false),
            Ok(Admitted::Duplicate)
        );
        // Expiry drops copies only.
        let (d, tx_d) = tx(2, 10, 4);
        pool.admit(d, tx_d, false).unwrap();
        assert!(!pool.expire_copy(&a));
        assert!(pool.expire_copy(&d));
        assert!(!pool.expire_copy(&d));
        pool.check_invariants();
        assert_eq!(pool.stats(), Stats { txs: 2, bytes: 20 });
    }
}
