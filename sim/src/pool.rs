//! A transaction source shared by all simulated validators: what a perfectly gossiped mempool
//! would hold.

use cortado_chain::TxSource;
use cortado_types::{Hash, Limits, Transaction};
use std::{
    collections::{HashSet, VecDeque},
    sync::{Arc, Mutex},
};

/// FIFO of pending transactions, shared by every validator of a [`crate::Cluster`].
#[derive(Clone, Default)]
pub struct Pool {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<(Hash, Transaction)>,
    finalized: HashSet<Hash>,
    submitted: u64,
}

impl Pool {
    /// Adds transactions.
    pub fn push(&self, txs: impl IntoIterator<Item = Transaction>) {
        let mut inner = self.inner.lock().expect("pool lock");
        for tx in txs {
            inner.submitted += 1;
            inner.queue.push_back((tx.hash(), tx));
        }
    }

    /// Removes finalized transactions.
    pub fn finalized(&self, hashes: impl IntoIterator<Item = Hash>) {
        let mut inner = self.inner.lock().expect("pool lock");
        inner.finalized.extend(hashes);
        let Inner {
            queue, finalized, ..
        } = &mut *inner;
        queue.retain(|(h, _)| !finalized.contains(h));
    }

    /// Transactions submitted so far.
    pub fn submitted(&self) -> u64 {
        self.inner.lock().expect("pool lock").submitted
    }

    /// Transactions still pending.
    pub fn pending(&self) -> usize {
        self.inner.lock().expect("pool lock").queue.len()
    }
}

impl TxSource for Pool {
    async fn select(&self, limits: Limits, exclude: HashSet<Hash>) -> Vec<Transaction> {
        let inner = self.inner.lock().expect("pool lock");
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut namespaces = HashSet::new();
        for (hash, tx) in inner.queue.iter() {
            if exclude.contains(hash) || inner.finalized.contains(hash) {
                continue;
            }
            if out.len() == limits.txs_per_block_max
                || bytes + tx.payload.len() > limits.block_bytes_max
            {
                break;
            }
            if !namespaces.contains(&tx.namespace)
                && namespaces.len() == limits.namespaces_per_block_max
            {
                continue;
            }
            namespaces.insert(tx.namespace);
            bytes += tx.payload.len();
            out.push(tx.clone());
        }
        out
    }
}
