//! The write-ahead journal: record format, section accounting and compaction.
//!
//! Records are appended to the current section of a `journal::segmented::variable` journal:
//! `Tx { seq, tx }` when a transaction is admitted (or re-appended by compaction, with the same
//! `seq`), `Finalized(hashes)` when pooled transactions are finalized. Replaying the records in
//! order rebuilds the pool: a `Finalized` record always follows every `Tx` record of the hashes
//! it names, so pruning a section never separates a removal from the additions it cancels.
//!
//! [`Usage`] tracks, per section, the bytes written and the bytes still live (the latest record
//! of each pooled transaction). Compaction moves the live records of the oldest section to the
//! current one, syncs, and prunes the oldest section; see the crate docs for when.

use crate::state::{Pool, Restored};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};
use commonware_runtime::{
    Metrics, ReadOptions, Storage,
    buffer::paged::CacheRef,
    telemetry::metrics::{Counter, MetricsExt as _},
};
use commonware_storage::journal::segmented::variable::{Config as JournalConfig, Journal};
use cortado_types::{Hash, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};
use tracing::{debug, warn};

/// Most hashes in one `Finalized` record; longer lists are split.
pub(crate) const FINALIZED_PER_RECORD_MAX: usize = 1 << 16;

/// Logical page size of the journal's page cache (a 4 KiB physical page).
const PAGE_SIZE: std::num::NonZeroU16 = commonware_runtime::buffer::paged::page_size(4096);

/// One journal record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// A pooled transaction and its arrival sequence number.
    Tx { seq: u64, tx: Transaction },
    /// Pooled transactions that were finalized.
    Finalized(Vec<Hash>),
}

const TAG_TX: u8 = 0;
const TAG_FINALIZED: u8 = 1;

impl Write for Record {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            Record::Tx { seq, tx } => {
                TAG_TX.write(buf);
                seq.write(buf);
                tx.write(buf);
            }
            Record::Finalized(hashes) => {
                TAG_FINALIZED.write(buf);
                hashes.write(buf);
            }
        }
    }
}

impl EncodeSize for Record {
    fn encode_size(&self) -> usize {
        1 + match self {
            Record::Tx { seq, tx } => seq.encode_size() + tx.encode_size(),
            Record::Finalized(hashes) => hashes.encode_size(),
        }
    }
}

impl Read for Record {
    /// The largest payload accepted. The journal holds this node's own checksummed writes, so
    /// the bound only needs to cover every payload ever admitted (see [`Wal::init`]).
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, payload_max: &usize) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            TAG_TX => {
                let seq = u64::read(buf)?;
                let tx = Transaction::read_cfg(buf, payload_max)?;
                Ok(Record::Tx { seq, tx })
            }
            TAG_FINALIZED => {
                let range = RangeCfg::new(..=FINALIZED_PER_RECORD_MAX);
                Ok(Record::Finalized(Vec::<Hash>::read_cfg(buf, &(range, ()))?))
            }
            tag => Err(CodecError::InvalidEnum(tag)),
        }
    }
}

/// Bytes written to one section and bytes still live in it.
#[derive(Default, Debug)]
struct Section {
    total: u64,
    live: u64,
    hashes: HashSet<Hash>,
}

/// Where each live record is, and how much of each section is garbage. Synchronous.
#[derive(Default, Debug)]
pub(crate) struct Usage {
    sections: BTreeMap<u64, Section>,
    /// Hash → (section, record size) of its latest `Tx` record.
    live: HashMap<Hash, (u64, u64)>,
    total: u64,
    live_total: u64,
}

impl Usage {
    /// Counts a record that is garbage from the start (a `Finalized` record, or a `Tx` record
    /// that replay dropped).
    pub fn record(&mut self, section: u64, size: u64) {
        self.sections.entry(section).or_default().total += size;
        self.total += size;
    }

    /// Counts the latest `Tx` record of `hash`; an earlier record of it becomes garbage.
    pub fn record_tx(&mut self, section: u64, hash: Hash, size: u64) {
        self.release(&hash);
        self.record(section, size);
        let entry = self.sections.get_mut(&section).expect("just recorded");
        entry.live += size;
        entry.hashes.insert(hash);
        self.live.insert(hash, (section, size));
        self.live_total += size;
    }

    /// Marks the record of `hash` as garbage (the transaction left the pool).
    pub fn release(&mut self, hash: &Hash) {
        let Some((section, size)) = self.live.remove(hash) else {
            return;
        };
        let entry = self
            .sections
            .get_mut(&section)
            .expect("live record's section");
        entry.live -= size;
        entry.hashes.remove(hash);
        self.live_total -= size;
    }

    /// Bytes written to `section`.
    pub fn section_total(&self, section: u64) -> u64 {
        self.sections.get(&section).map_or(0, |s| s.total)
    }

    /// The oldest section, if it is older than `current` and worth compacting: it holds nothing
    /// live (free to prune), or the journal holds more than twice the live bytes plus `slack`.
    pub fn compaction_candidate(&self, current: u64, slack: u64) -> Option<u64> {
        let (&oldest, section) = self.sections.first_key_value()?;
        if oldest >= current {
            return None;
        }
        let bloated = self.total > self.live_total.saturating_mul(2).saturating_add(slack);
        (section.live == 0 || bloated).then_some(oldest)
    }

    /// Hashes whose latest record is in `section`.
    pub fn hashes(&self, section: u64) -> Vec<Hash> {
        self.sections
            .get(&section)
            .map(|s| s.hashes.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Forgets the sections below `min`, which must hold nothing live.
    pub fn prune(&mut self, min: u64) {
        let kept = self.sections.split_off(&min);
        for (section, entry) in std::mem::replace(&mut self.sections, kept) {
            assert_eq!(entry.live, 0, "pruning section {section} with live records");
            self.total -= entry.total;
        }
    }

    /// Total bytes written to retained sections.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// The journal with its accounting.
pub(crate) struct Wal<E: Storage + Metrics> {
    /// Taken while an operation that consumes the journal runs.
    journal: Option<Journal<E, Record>>,
    /// The section new records go to.
    section: u64,
    section_bytes: u64,
    usage: Usage,
    syncs: Counter,
    compactions: Counter,
}

impl<E: Storage + Metrics> Wal<E> {
    /// Opens the journal and replays it into `pool`.
    ///
    /// Payloads are decoded with no size bound beyond the journal frame (these are this node's
    /// own checksummed records), so lowering `tx_bytes_max` does not make a journal unreadable;
    /// the pool drops what it can no longer carry.
    pub async fn init(context: E, cfg: &crate::Config, pool: &mut Pool) -> Self {
        let syncs = context.counter("syncs", "Journal syncs (group commits)");
        let compactions = context.counter("compactions", "Journal sections compacted");
        let journal_cfg = JournalConfig {
            partition: cfg.journal_partition.clone(),
            compression: None,
            codec_config: usize::MAX,
            page_cache: CacheRef::new(PAGE_SIZE, cfg.journal_page_cache_pages),
            write_buffer: cfg.journal_write_buffer,
        };
        let journal = Journal::<E, Record>::init(context, journal_cfg)
            .await
            .unwrap_or_else(|err| panic!("cannot open the mempool journal: {err}"));
        let mut replay = journal
            .replay(0, 0, cfg.journal_replay_buffer, ReadOptions::default())
            .await
            .unwrap_or_else(|err| panic!("cannot replay the mempool journal: {err}"));
        let mut usage = Usage::default();
        let mut records = 0u64;
        while let Some(item) = replay.next().await {
            let (section, _offset, size, record) =
                item.unwrap_or_else(|err| panic!("cannot replay the mempool journal: {err}"));
            apply(&mut usage, pool, section, u64::from(size), record);
            records += 1;
        }
        let journal = replay
            .finish()
            .unwrap_or_else(|err| panic!("cannot replay the mempool journal: {err}"));
        let section = journal.newest_section().map_or(0, |newest| newest + 1);
        debug!(
            records,
            txs = pool.stats().txs,
            bytes = usage.total(),
            "replayed mempool journal"
        );
        Self {
            journal: Some(journal),
            section,
            section_bytes: cfg.journal_section_bytes,
            usage,
            syncs,
            compactions,
        }
    }

    /// Appends `record` to the current section; returns its stored size.
    async fn append(&mut self, record: &Record) -> u64 {
        let journal = self.journal.take().expect("journal is present");
        let (journal, _offset, size) = journal
            .append(self.section, record)
            .await
            .unwrap_or_else(|err| panic!("mempool journal append failed: {err}"));
        self.journal = Some(journal);
        u64::from(size)
    }

    /// Appends a pooled transaction.
    pub async fn append_tx(&mut self, seq: u64, hash: Hash, tx: &Transaction) {
        let record = Record::Tx {
            seq,
            tx: tx.clone(),
        };
        let size = self.append(&record).await;
        self.usage.record_tx(self.section, hash, size);
    }

    /// Appends the removal of finalized pooled transactions.
    pub async fn append_finalized(&mut self, removed: &[Hash]) {
        for chunk in removed.chunks(FINALIZED_PER_RECORD_MAX) {
            let size = self.append(&Record::Finalized(chunk.to_vec())).await;
            self.usage.record(self.section, size);
        }
        for hash in removed {
            self.usage.release(hash);
        }
    }

    /// Makes every appended record durable. Records only go to the current section, and
    /// compaction syncs before it moves on, so syncing the current section suffices.
    pub async fn sync(&mut self) {
        let journal = self.journal.take().expect("journal is present");
        let journal = journal
            .sync(self.section)
            .await
            .unwrap_or_else(|err| panic!("mempool journal sync failed: {err}"));
        self.journal = Some(journal);
        self.syncs.inc();
    }

    /// Starts a new section once the current one is big enough, then compacts old sections
    /// while they are worth it. Runs after a sync, so nothing unsynced is pending.
    pub async fn maintain(&mut self, pool: &Pool) {
        if self.usage.section_total(self.section) >= self.section_bytes {
            self.section += 1;
        }
        let slack = self.section_bytes.saturating_mul(2);
        while let Some(oldest) = self.usage.compaction_candidate(self.section, slack) {
            let hashes = self.usage.hashes(oldest);
            for hash in &hashes {
                let (seq, tx) = pool
                    .get(hash)
                    .expect("a live journal record belongs to a pooled transaction");
                let tx = tx.clone();
                self.append_tx(seq, *hash, &tx).await;
            }
            if !hashes.is_empty() {
                self.sync().await;
            }
            let journal = self.journal.take().expect("journal is present");
            let (journal, _) = journal
                .prune(oldest + 1)
                .await
                .unwrap_or_else(|err| panic!("mempool journal prune failed: {err}"));
            self.journal = Some(journal);
            self.usage.prune(oldest + 1);
            self.compactions.inc();
            debug!(
                section = oldest,
                moved = hashes.len(),
                "compacted journal section"
            );
        }
    }

    /// Bytes in the retained sections.
    pub fn bytes(&self) -> u64 {
        self.usage.total()
    }
}

/// Applies one replayed record to the pool and the accounting.
fn apply(usage: &mut Usage, pool: &mut Pool, section: u64, size: u64, record: Record) {
    match record {
        Record::Tx { seq, tx } => {
            let hash = tx.hash();
            match pool.restore(seq, hash, tx) {
                Restored::Added | Restored::Present => usage.record_tx(section, hash, size),
                Restored::Dropped => {
                    warn!(?hash, "dropping journaled transaction above tx_bytes_max");
                    usage.record(section, size);
                }
            }
        }
        Record::Finalized(hashes) => {
            for hash in pool.finalize(&hashes) {
                usage.release(&hash);
            }
            usage.record(section, size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode, Encode};

    fn hash(tag: u8) -> Hash {
        Hash([tag; 32])
    }

    #[test]
    fn record_round_trip() {
        let records = [
            Record::Tx {
                seq: 42,
                tx: Transaction::new(7, vec![1u8, 2, 3]),
            },
            Record::Finalized(vec![hash(1), hash(2)]),
            Record::Finalized(Vec::new()),
        ];
        for record in records {
            let encoded = record.encode();
            assert_eq!(encoded.len(), record.encode_size());
            assert_eq!(Record::decode_cfg(encoded, &usize::MAX).unwrap(), record);
        }
        assert!(Record::decode_cfg(bytes::Bytes::from_static(&[9]), &usize::MAX).is_err());
    }

    #[test]
    fn usage_tracks_live_and_garbage() {
        let mut usage = Usage::default();
        usage.record_tx(0, hash(1), 100);
        usage.record_tx(0, hash(2), 100);
        usage.record(0, 10);
        assert_eq!(usage.section_total(0), 210);
        assert_eq!(usage.live_total, 200);
        // A re-append moves the live record; the old one becomes garbage.
        usage.record_tx(1, hash(1), 100);
        assert_eq!(usage.total(), 310);
        assert_eq!(usage.live_total, 200);
        assert_eq!(usage.hashes(0), vec![hash(2)]);
        assert_eq!(usage.hashes(1), vec![hash(1)]);
        usage.release(&hash(2));
        usage.release(&hash(2)); // idempotent
        assert_eq!(usage.live_total, 100);
        assert!(usage.hashes(0).is_empty());
        usage.prune(1);
        assert_eq!(usage.total(), 100);
        assert_eq!(usage.section_total(0), 0);
    }

    #[test]
    fn compaction_candidate_rules() {
        let mut usage = Usage::default();
        // Nothing older than the current section.
        usage.record_tx(0, hash(1), 100);
        assert_eq!(usage.compaction_candidate(0, 50), None);
        // Oldest is all live and the journal is not bloated: keep it.
        usage.record_tx(1, hash(2), 100);
        assert_eq!(usage.compaction_candidate(2, 50), None);
        // Garbage beyond twice the live bytes plus slack: compact the oldest even though live.
        usage.record(1, 300);
        assert_eq!(usage.compaction_candidate(2, 50), Some(0));
        // An oldest section with nothing live is always worth pruning.
        let mut usage = Usage::default();
        usage.record(0, 1);
        usage.record_tx(1, hash(1), 100);
        assert_eq!(usage.compaction_candidate(2, 1_000), Some(0));
    }

    #[test]
    fn replay_of_a_compacted_copy_moves_the_live_record() {
        let mut pool = Pool::new(crate::state::Bounds::from(&crate::Config::default()));
        let mut usage = Usage::default();
        let tx = Transaction::new(1, vec![7u8; 10]);
        let hash = tx.hash();
        let record = || Record::Tx {
            seq: 5,
            tx: tx.clone(),
        };
        // The original, then the compacted copy in a later section (a crash came before the
        // old section was pruned).
        apply(&mut usage, &mut pool, 0, 30, record());
        apply(&mut usage, &mut pool, 2, 30, record());
        assert_eq!(pool.stats().txs, 1);
        assert!(usage.hashes(0).is_empty());
        assert_eq!(usage.hashes(2), vec![hash]);
        assert_eq!(usage.compaction_candidate(3, u64::MAX), Some(0));
        // A later removal record cancels it.
        apply(&mut usage, &mut pool, 2, 40, Record::Finalized(vec![hash]));
        assert!(!pool.contains(&hash));
        assert!(usage.hashes(2).is_empty());
        assert_eq!(usage.total(), 100);
    }

    #[test]
    #[should_panic(expected = "live records")]
    fn pruning_live_records_is_a_bug() {
        let mut usage = Usage::default();
        usage.record_tx(0, hash(1), 100);
        usage.prune(1);
    }
}
