//! The pool's rules, synchronous: admission under the bounds, duplicates, FIFO selection under
//! block limits, finalized removal and the recent-finalized set. No async, no clock, no I/O.
//!
//! Every transaction gets a sequence number at admission. FIFO order is the order of sequence
//! numbers, which the journal stores with each transaction, so a replay (even one that sees a
//! compacted transaction after younger ones) restores the same order.

use crate::{Error, Limit, Stats};
use copies::{Copies, Measure};
pub(crate) use copies::{Peer, PeerNumbers};
use cortado_types::{BUNDLE_NAMESPACE, Bundle, Hash, Limits, Marker, Namespace, Transaction};
use recent::{Claims, Recent};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::{Duration, SystemTime},
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
    /// Who gossiped it, for a copy.
    from: Peer,
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
    /// Hashes a finalized block's manifest named (its leader's word, not checked here): late
    /// copies are refused like finalized ones, but an owner's re-offer is not (the owner
    /// reconstructs blocks and knows the transaction is still pending).
    claimed: Claims,
    /// Pooled bundles by carrier hash, decoded.
    bundles: HashMap<Hash, PooledBundle>,
    /// Member hash → carrier hash, for every pooled bundle.
    member_of: HashMap<Hash, Hash>,
    /// Bundle hash (its marker's) → carrier hash, for every pooled bundle.
    by_marker: HashMap<Hash, Hash>,
    /// Gossiped copies, by age and by sender.
    copies: Copies,
    /// Copies evicted to make room for acknowledged submissions, since the last
    /// [`Pool::take_evicted`].
    evicted: u64,
    /// Copies evicted for other peers' copies, since the last [`Pool::take_displaced`].
    displaced: u64,
}

/// A pooled bundle, decoded once: selecting it hashes nothing.
struct PooledBundle {
    bundle: Bundle,
    members: Vec<Hash>,
    /// The marker a block holding the bundle carries; its hash is the bundle's.
    marker: Transaction,
    hash: Hash,
}

impl PooledBundle {
    fn new(bundle: Bundle) -> Self {
        let members = bundle.member_hashes();
        let marker = Marker::new(members.clone()).transaction();
        Self {
            members,
            hash: marker.hash(),
            marker,
            bundle,
        }
    }
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
            claimed: Claims::new(bounds.recent_finalized_max),
            bundles: HashMap::new(),
            member_of: HashMap::new(),
            by_marker: HashMap::new(),
            copies: Copies::default(),
            evicted: 0,
            displaced: 0,
        }
    }

    /// Decodes a bundle carrier and checks its members against the pool: none may be pending
    /// in another bundle or finalized recently.
    fn bundle_of(&self, tx: &Transaction) -> Result<Bundle, Error> {
        let bundle = Bundle::from_carrier(tx, self.bounds.tx_bytes_max)
            .map_err(|e| Error::Bundle(e.to_string()))?;
        for hash in bundle.member_hashes() {
            if self.member_of.contains_key(&hash) {
                return Err(Error::BundleConflict(format!(
                    "member {hash} is already pending in another bundle"
                )));
            }
            if self.entries.contains_key(&hash) {
                return Err(Error::BundleConflict(format!(
                    "member {hash} is already pending on its own"
                )));
            }
            if self.recent.contains(&hash) {
                return Err(Error::BundleConflict(format!(
                    "member {hash} is already finalized"
                )));
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
    ///
    /// A copy (from `peer`) that does not fit a full pool evicts copies of the peer holding
    /// the most copy bytes, if that peer holds more than `peer` will ([`Copies::fair_victim`]).
    pub fn admit_from(
        &mut self,
        hash: Hash,
        tx: Transaction,
        from: Option<Peer>,
    ) -> Result<Admitted, Error> {
        self.admit_as(hash, tx, from, false)
    }

    /// [`Self::admit_from`] with copies from peer 0.
    #[cfg(test)]
    pub fn admit(&mut self, hash: Hash, tx: Transaction, owned: bool) -> Result<Admitted, Error> {
        self.admit_as(hash, tx, (!owned).then_some(0), false)
    }

    /// Admits a copy its owner offered again because it is still pending there: like a
    /// gossiped copy, except that a manifest's claim that it was finalized refuses it only
    /// if made within `claim_holds` of `now` (a claim that old, still contradicted by the
    /// owner, which reconstructs blocks, is taken for a lie).
    pub fn admit_reoffered(
        &mut self,
        hash: Hash,
        tx: Transaction,
        from: Peer,
        now: SystemTime,
        claim_holds: Duration,
    ) -> Result<Admitted, Error> {
        let stale = self
            .claimed
            .since(&hash)
            .is_none_or(|since| since + claim_holds <= now);
        self.admit_as(hash, tx, Some(from), stale)
    }

    /// `unclaimed`: a manifest's claim does not refuse it.
    fn admit_as(
        &mut self,
        hash: Hash,
        tx: Transaction,
        from: Option<Peer>,
        unclaimed: bool,
    ) -> Result<Admitted, Error> {
        let owned = from.is_none();
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
            let seq = entry.seq;
            self.copies
                .remove(seq, entry.from, entry.tx.namespace, entry.tx.payload.len());
            return Ok(Admitted::Adopted { seq });
        }
        // A member of a pending bundle is pending: included with its bundle or not at all. A
        // client submitting it alone is told so (a copy of it is only a duplicate).
        if owned && let Some(carrier) = self.member_of.get(&hash) {
            let bundle = self.bundles[carrier].hash;
            return Err(Error::BundleConflict(format!(
                "transaction {hash} is a member of pending bundle {bundle}: it is included with its bundle or not at all, never alone"
            )));
        }
        if self.entries.contains_key(&hash)
            || self.recent.contains(&hash)
            || (!unclaimed && !owned && self.claimed.since(&hash).is_some())
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
        match from {
            // An acknowledged submission never waits behind copies: they make room.
            None => self.evict_copies_for(size, tx.namespace),
            // A copy makes room only from a peer holding more.
            Some(peer) => self.evict_fairly_for(size, tx.namespace, peer),
        }
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
        self.insert(seq, hash, tx, bundle, from);
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
        self.insert(seq, hash, tx, bundle, None);
        Restored::Added
    }

    fn insert(
        &mut self,
        seq: u64,
        hash: Hash,
        tx: Transaction,
        bundle: Option<Bundle>,
        from: Option<Peer>,
    ) {
        if let Some(bundle) = bundle {
            let pooled = PooledBundle::new(bundle);
            for member in &pooled.members {
                self.member_of.insert(*member, hash);
            }
            self.by_marker.insert(pooled.hash, hash);
            self.bundles.insert(hash, pooled);
        }
        let size = tx.payload.len();
        self.bytes += size;
        *self.namespaces.entry(tx.namespace).or_insert(0) += size;
        self.order.insert(seq, hash);
        if let Some(peer) = from {
            self.copies.insert(seq, hash, peer, tx.namespace, size);
        }
        let entry = Entry {
            seq,
            owned: from.is_none(),
            from: from.unwrap_or(0),
            tx,
        };
        self.entries.insert(hash, entry);
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Removes the finalized `hashes` and remembers them as recently finalized. Returns the ones
    /// that were in the pool (with the carriers of bundles whose members were finalized).
    ///
    /// A bundle leaves the pool as soon as one of its members is finalized: with its marker,
    /// its members were proposed together; without it (a member also posted elsewhere and
    /// included alone), the bundle can never be finalized whole and must not be proposed again.
    pub fn finalize(&mut self, hashes: &[Hash]) -> Vec<Hash> {
        let mut removed = Vec::new();
        for hash in hashes {
            self.recent.insert(*hash);
            if let Some(carrier) = self.member_of.get(hash).copied() {
                let marker = self.bundles[&carrier].hash;
                self.recent.insert(carrier);
                self.recent.insert(marker);
                if self.remove(&carrier) {
                    removed.push(carrier);
                }
            }
            if self.remove(hash) {
                removed.push(*hash);
            }
        }
        removed
    }

    /// Drops the gossiped copies among `hashes` (a leader's manifest said they are in a block
    /// that is now finalized) and remembers the claim (late copies are refused, an owner's
    /// re-offer is not). Owned transactions
    /// stay: only a block this node reconstructed removes those ([`Self::finalize`]), so a
    /// false manifest cannot make this node lose what it acknowledged. Returns the hashes
    /// dropped.
    pub fn drop_copies(&mut self, hashes: &[Hash], now: SystemTime) -> Vec<Hash> {
        let mut dropped = Vec::new();
        for hash in hashes {
            if self.entries.get(hash).is_some_and(|e| e.owned) {
                continue;
            }
            self.claimed.insert(*hash, now);
            if self.remove(hash) {
                dropped.push(*hash);
            }
        }
        dropped
    }

    /// Whether a transaction of `size` bytes in `namespace` would break a bound: `None` if it
    /// fits, else `(pool full (count or bytes), namespace full)`.
    fn shortage(&self, size: usize, namespace: Namespace) -> Option<(bool, bool)> {
        let namespace_bytes = self.namespaces.get(&namespace).copied().unwrap_or(0);
        let namespace_full = namespace_bytes + size > self.bounds.namespace_bytes_max;
        let full =
            self.entries.len() >= self.bounds.txs_max || self.bytes + size > self.bounds.bytes_max;
        (full || namespace_full).then_some((full, namespace_full))
    }

    /// Evicts the oldest copies (of `namespace` when that namespace is a bound) until a
    /// transaction of `size` bytes in `namespace` fits, or no copy is left to evict.
    fn evict_copies_for(&mut self, size: usize, namespace: Namespace) {
        while let Some((_, namespace_full)) = self.shortage(size, namespace) {
            let victim = self
                .copies
                .oldest_first()
                .find(|h| !namespace_full || self.entries[*h].tx.namespace == namespace)
                .copied();
            let Some(victim) = victim else {
                return;
            };
            self.remove(&victim);
            self.evicted += 1;
        }
    }

    /// Evicts copies of peers holding more than `peer` ([`Copies::fair_victim`], counted in
    /// `namespace` when only that namespace is the bound, and in transactions while the pool
    /// is at its count bound) until `peer`'s copy of `size` bytes in `namespace` fits, or no
    /// peer holds more.
    fn evict_fairly_for(&mut self, size: usize, namespace: Namespace, peer: Peer) {
        while let Some((full, namespace_full)) = self.shortage(size, namespace) {
            let scope = (namespace_full && !full).then_some(namespace);
            let measure = if scope.is_none() && self.entries.len() >= self.bounds.txs_max {
                Measure::Count
            } else {
                Measure::Bytes
            };
            let Some(victim) = self.copies.fair_victim(peer, size, scope, measure) else {
                return;
            };
            self.remove(&victim);
            self.displaced += 1;
        }
    }

    /// Copies displaced by other peers' copies since the last call.
    pub fn take_displaced(&mut self) -> u64 {
        std::mem::take(&mut self.displaced)
    }

    /// Copies evicted for acknowledged submissions since the last call.
    pub fn take_evicted(&mut self) -> u64 {
        std::mem::take(&mut self.evicted)
    }

    /// Drops every gossiped copy and claims each finalized (a block was finalized whose
    /// manifest this node does not know, so any copy may be in it). Returns the hashes dropped.
    pub fn drop_all_copies(&mut self, now: SystemTime) -> Vec<Hash> {
        let copies: Vec<Hash> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.owned)
            .map(|(h, _)| *h)
            .collect();
        for hash in &copies {
            self.claimed.insert(*hash, now);
            self.remove(hash);
        }
        copies
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

    /// The owned transaction `hash`, if pooled.
    pub fn owned_tx(&self, hash: &Hash) -> Option<Transaction> {
        self.entries
            .get(hash)
            .filter(|e| e.owned)
            .map(|e| e.tx.clone())
    }

    /// Whether the pool holds `hash` as an owned (locally submitted, journaled) transaction.
    #[cfg(test)]
    pub fn owns(&self, hash: &Hash) -> bool {
        self.entries.get(hash).is_some_and(|e| e.owned)
    }

    /// Removes one pooled transaction; whether it was there.
    fn remove(&mut self, hash: &Hash) -> bool {
        let Some(entry) = self.entries.remove(hash) else {
            return false;
        };
        if let Some(bundle) = self.bundles.remove(hash) {
            for member in &bundle.members {
                self.member_of.remove(member);
            }
            self.by_marker.remove(&bundle.hash);
        }
        let size = entry.tx.payload.len();
        self.bytes -= size;
        if !entry.owned {
            self.copies
                .remove(entry.seq, entry.from, entry.tx.namespace, size);
        }
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
    ///
    /// A bundle carrier is expanded into its members and its marker, all of them or none: it is
    /// taken only if none of its members is excluded or already selected, and all fit together.
    pub fn select(&self, limits: &Limits, exclude: &HashSet<Hash>) -> Vec<Transaction> {
        let mut selected = Vec::new();
        let mut taken: HashSet<Hash> = HashSet::new();
        let mut bytes = 0usize;
        let mut namespaces = HashSet::new();
        for hash in self.order.values() {
            if selected.len() >= limits.txs_per_block_max {
                break;
            }
            if exclude.contains(hash) || taken.contains(hash) {
                continue;
            }
            // A plain transaction's hash is its key; only a bundle's members are hashed here
            // (hashing every pooled payload on every selection dominated a saturated node).
            let (members, hashes): (Vec<&Transaction>, &[Hash]) = match self.bundles.get(hash) {
                Some(bundle) => {
                    if exclude.contains(&bundle.hash)
                        || bundle
                            .members
                            .iter()
                            .any(|h| exclude.contains(h) || taken.contains(h))
                    {
                        continue;
                    }
                    let mut txs: Vec<&Transaction> = bundle.bundle.transactions().iter().collect();
                    txs.push(&bundle.marker);
                    (txs, &bundle.members)
                }
                None => (vec![&self.entries[hash].tx], std::slice::from_ref(hash)),
            };
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
            taken.extend(hashes.iter().copied());
            selected.extend(members.into_iter().cloned());
        }
        selected
    }

    /// Whether the pool holds `hash`, or the bundle of that hash.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.entries.contains_key(hash) || self.by_marker.contains_key(hash)
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
        let copies: usize = self
            .entries
            .values()
            .filter(|e| !e.owned)
            .map(|e| e.tx.payload.len())
            .sum();
        assert_eq!(copies, self.copies.bytes());
        assert_eq!(
            self.copies.len(),
            self.entries.values().filter(|e| !e.owned).count()
        );
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

mod copies;
mod recent;
#[cfg(test)]
mod tests;
