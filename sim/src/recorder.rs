//! What each simulated validator finalized, kept outside its tasks so that it survives a crash
//! (standing in for the node's durable index).

use cortado_chain::{Finalized, FinalizedSink};
use cortado_coding::InvalidEncodingEvidence;
use cortado_dispersal::{BlockSource, Retrieved};
use cortado_types::{Block, FinalityCertificate, Hash, Header};
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

/// Height → (block, certificate).
type Records = BTreeMap<u64, (Arc<Block>, FinalityCertificate)>;

/// Reads the simulated clock, in ms since the Unix epoch.
pub type ClockFn = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Records finalized blocks delivered to one validator (headers only, for a validator that is
/// not an API node).
#[derive(Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<Records>>,
    /// The evidence delivered with blocks that have invalidly encoded namespaces.
    evidence: Arc<Mutex<HashMap<u64, Vec<InvalidEncodingEvidence>>>>,
    headers: Arc<Mutex<BTreeMap<u64, (Header, FinalityCertificate)>>>,
    mempool: Arc<Mutex<Option<cortado_mempool::Mailbox>>>,
    clock: Option<ClockFn>,
    latencies: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl Recorder {
    /// Tells the validator's (current) mempool about finalized transactions from now on.
    pub fn set_mempool(&self, mempool: cortado_mempool::Mailbox) {
        *self.mempool.lock().expect("recorder lock") = Some(mempool);
    }

    /// The same records without the clock and mempool (to carry across a runtime restart: they
    /// hold the old runtime's context).
    pub fn detached(&self) -> Self {
        Self {
            clock: None,
            mempool: Arc::default(),
            ..self.clone()
        }
    }

    /// The same records, measuring with `clock` from now on.
    pub fn with_clock(&self, clock: ClockFn) -> Self {
        Self {
            clock: Some(clock),
            ..self.clone()
        }
    }

    /// (height, ms from the block's proposal timestamp to its delivery here), for every block
    /// delivered while this recorder had a clock (first delivery only).
    pub fn latencies(&self) -> Vec<(u64, u64)> {
        self.latencies.lock().expect("recorder lock").clone()
    }

    /// Highest finalized height seen (0 = only genesis).
    pub fn height(&self) -> u64 {
        let blocks = self.inner.lock().expect("recorder lock");
        let headers = self.headers.lock().expect("recorder lock");
        let block = blocks.keys().next_back().copied().unwrap_or(0);
        let header = headers.keys().next_back().copied().unwrap_or(0);
        block.max(header)
    }

    /// Height → block hash (of blocks, or of headers for a validator that is not an API node).
    pub fn chain(&self) -> BTreeMap<u64, Hash> {
        let mut chain: BTreeMap<u64, Hash> = self
            .inner
            .lock()
            .expect("recorder lock")
            .iter()
            .map(|(h, (b, _))| (*h, b.hash()))
            .collect();
        for (h, (header, _)) in self.headers.lock().expect("recorder lock").iter() {
            chain.insert(*h, header.hash());
        }
        chain
    }

    /// Heights delivered as headers only (this validator does not reconstruct blocks).
    pub fn header_heights(&self) -> Vec<u64> {
        self.headers
            .lock()
            .expect("recorder lock")
            .keys()
            .copied()
            .collect()
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Option<Arc<Block>> {
        self.inner
            .lock()
            .expect("recorder lock")
            .get(&height)
            .map(|(b, _)| b.clone())
    }

    /// The certificate recorded with the block at `height`.
    pub fn certificate(&self, height: u64) -> Option<FinalityCertificate> {
        self.inner
            .lock()
            .expect("recorder lock")
            .get(&height)
            .map(|(_, c)| c.clone())
    }

    /// Asserts heights are contiguous from genesis and each block names its predecessor as parent.
    pub fn assert_linked(&self) {
        let inner = self.inner.lock().expect("recorder lock");
        let mut prev: Option<&Block> = None;
        for (h, (b, _)) in inner.iter() {
            assert_eq!(*h, b.height());
            if let Some(p) = prev {
                assert_eq!(p.height() + 1, *h, "gap in finalized heights before {h}");
                assert_eq!(b.header().parent, p.hash(), "parent link broken at {h}");
                assert_eq!(
                    b.header().history,
                    p.header().child_history(),
                    "history accumulator broken at {h}"
                );
            } else {
                assert!(
                    *h <= 1,
                    "first delivered block must be genesis or height 1, got {h}"
                );
            }
            prev = Some(b);
        }
    }

    /// Transactions finalized again after their first occurrence (a later block repeated them:
    /// possible after a view change or a restart; the first occurrence is the one that counts).
    pub fn duplicate_transactions(&self) -> usize {
        let inner = self.inner.lock().expect("recorder lock");
        let mut seen: HashMap<Hash, u64> = HashMap::new();
        let mut duplicates = 0;
        for (h, (b, _)) in inner.iter() {
            for tx in b.transactions() {
                if seen.insert(tx.hash(), *h).is_some() {
                    duplicates += 1;
                }
            }
        }
        duplicates
    }

    /// Each transaction finalized more than once: its hash and every (height, leader, view)
    /// that holds it.
    pub fn duplicate_details(&self) -> Vec<(Hash, Vec<Placement>)> {
        let inner = self.inner.lock().expect("recorder lock");
        let mut at: HashMap<Hash, Vec<Placement>> = HashMap::new();
        for (h, (b, _)) in inner.iter() {
            for tx in b.transactions() {
                at.entry(tx.hash())
                    .or_default()
                    .push((*h, b.header().leader, b.header().view));
            }
        }
        at.into_iter().filter(|(_, v)| v.len() > 1).collect()
    }

    /// Every transaction hash finalized, in chain order.
    pub fn transactions(&self) -> Vec<Hash> {
        let inner = self.inner.lock().expect("recorder lock");
        inner
            .values()
            .flat_map(|(b, _)| b.transactions().map(|t| t.hash()).collect::<Vec<_>>())
            .collect()
    }
}

/// Where a block sits: height, leader key, view.
pub type Placement = (u64, [u8; 32], u64);

impl BlockSource for Recorder {
    async fn stored_block(&self, height: u64, block: Hash) -> Option<Retrieved> {
        let stored = self.block(height).filter(|b| b.hash() == block)?;
        let evidence = self
            .evidence
            .lock()
            .expect("recorder lock")
            .get(&height)
            .cloned()
            .unwrap_or_default();
        Some(Retrieved {
            block: (*stored).clone(),
            evidence,
        })
    }
}

impl FinalizedSink for Recorder {
    async fn finalized_headers(&mut self, headers: Vec<(Header, FinalityCertificate)>) {
        for (header, certificate) in headers {
            self.record_header(header, certificate).await;
        }
    }

    async fn finalized(&mut self, blocks: Vec<Finalized>) {
        for f in blocks {
            if !f.evidence.is_empty() {
                self.evidence
                    .lock()
                    .expect("recorder lock")
                    .insert(f.block.height(), f.evidence);
            }
            self.record_block(f.block, f.certificate).await;
        }
    }
}

impl Recorder {
    async fn record_header(&mut self, header: Header, certificate: FinalityCertificate) {
        let height = header.height;
        let block = header.hash();
        {
            let mut headers = self.headers.lock().expect("recorder lock");
            if let Some((existing, _)) = headers.get(&height) {
                assert_eq!(
                    existing.hash(),
                    block,
                    "redelivery of height {height} with a different header"
                );
            }
            headers.insert(height, (header, certificate));
        }
    }

    async fn record_block(&mut self, block: Arc<Block>, certificate: FinalityCertificate) {
        let height = block.height();
        let hashes: Vec<Hash> = block.transactions().map(|t| t.hash()).collect();
        {
            let mut inner = self.inner.lock().expect("recorder lock");
            if let Some((existing, _)) = inner.get(&height) {
                assert_eq!(
                    **existing, *block,
                    "redelivery of height {height} with a different block"
                );
            }
            let first = !inner.contains_key(&height);
            if first && let Some(clock) = &self.clock {
                let latency = clock().saturating_sub(block.header().timestamp_ms);
                self.latencies
                    .lock()
                    .expect("recorder lock")
                    .push((height, latency));
            }
            inner.insert(height, (block, certificate));
        }
        let mempool = self.mempool.lock().expect("recorder lock").clone();
        if let Some(mempool) = mempool
            && !hashes.is_empty()
        {
            mempool.finalized(hashes).await;
        }
    }
}
