//! The mailbox: how the rest of the node talks to the mempool actor.

use crate::{Error, Stats, Submitted};
use commonware_utils::channel::{mpsc, oneshot};
use cortado_types::{Hash, Limits, Transaction};
use std::{collections::HashSet, sync::Arc};

/// A request to the actor.
pub(crate) enum Message {
    /// Admit a transaction (hash computed by the caller, off the actor's task).
    Submit {
        hash: Hash,
        tx: Transaction,
        response: oneshot::Sender<Result<Submitted, Error>>,
    },
    /// Select transactions for a block.
    Select {
        limits: Limits,
        exclude: Arc<HashSet<Hash>>,
        response: oneshot::Sender<Vec<Transaction>>,
    },
    /// Remove finalized transactions.
    Finalized {
        hashes: Vec<Hash>,
        response: oneshot::Sender<()>,
    },
    /// Is a transaction pooled?
    Contains {
        hash: Hash,
        response: oneshot::Sender<bool>,
    },
    /// Occupancy.
    Stats { response: oneshot::Sender<Stats> },
    /// A block was finalized that this node does not reconstruct: drop the copies its
    /// leader's manifest named (all copies if `None`).
    FinalizedCopies {
        hashes: Option<Vec<Hash>>,
        response: oneshot::Sender<()>,
    },
    /// Gossip every owned transaction to the upcoming leaders again.
    Reoffer { response: oneshot::Sender<usize> },
}

/// The handle to the mempool actor. Cheap to clone; bounded (`mailbox_size`), so callers wait
/// when the actor is behind.
#[derive(Clone, Debug)]
pub struct Mailbox {
    sender: mpsc::Sender<Message>,
    tx_bytes_max: usize,
}

impl Mailbox {
    pub(crate) fn new(sender: mpsc::Sender<Message>, tx_bytes_max: usize) -> Self {
        Self {
            sender,
            tx_bytes_max,
        }
    }

    /// Submits a transaction. Resolves once it is durable in the journal (or refused).
    ///
    /// A transaction already pooled or recently finalized resolves with `duplicate: true`, once
    /// the pool's copy is durable.
    pub async fn submit(&self, tx: Transaction) -> Result<Submitted, Error> {
        // Refuse early, before hashing or queueing a large payload.
        if tx.payload.len() > self.tx_bytes_max {
            return Err(Error::TooLarge {
                size: tx.payload.len(),
                limit: self.tx_bytes_max,
            });
        }
        let hash = tx.hash();
        let (response, receiver) = oneshot::channel();
        self.sender
            .send(Message::Submit { hash, tx, response })
            .await
            .map_err(|_| Error::Closed)?;
        receiver.await.unwrap_or(Err(Error::Closed))
    }

    /// Transactions in arrival order that fit `limits`, skipping `exclude` (the transactions of
    /// the proposer's not-yet-finalized ancestors). Removes nothing. Empty if the actor has
    /// stopped.
    pub async fn select(
        &self,
        limits: Limits,
        exclude: impl Into<Arc<HashSet<Hash>>>,
    ) -> Vec<Transaction> {
        let exclude = exclude.into();
        let (response, receiver) = oneshot::channel();
        let message = Message::Select {
            limits,
            exclude,
            response,
        };
        if self.sender.send(message).await.is_err() {
            return Vec::new();
        }
        receiver.await.unwrap_or_default()
    }

    /// Removes finalized transactions and remembers their hashes, so late copies are refused.
    /// A bundle leaves with its first finalized member. Idempotent. Resolves once the removal
    /// is durable (or at once if the actor has stopped).
    pub async fn finalized(&self, hashes: Vec<Hash>) {
        let (response, receiver) = oneshot::channel();
        if self
            .sender
            .send(Message::Finalized { hashes, response })
            .await
            .is_ok()
        {
            let _ = receiver.await;
        }
    }

    /// A block was finalized and this node does not reconstruct blocks (a validator that is not
    /// an API node): drop the gossiped copies of the transactions its leader's manifest named
    /// and remember them as finalized, so the pool neither keeps them until they expire nor
    /// proposes them again. `None` (the manifest is not known here): drop every copy. Owned
    /// transactions stay (only a reconstructed block removes them), so a lying manifest cannot
    /// make this node lose what it acknowledged. Resolves once done (or at once if the actor
    /// has stopped).
    pub async fn finalized_copies(&self, hashes: Option<Vec<Hash>>) {
        let (response, receiver) = oneshot::channel();
        if self
            .sender
            .send(Message::FinalizedCopies { hashes, response })
            .await
            .is_ok()
        {
            let _ = receiver.await;
        }
    }

    /// Offers pending owned transactions to the upcoming leaders again: on the first call,
    /// every one submitted before this start (replayed from the journal); on every call, those
    /// gossiped more than `reoffer_after` ago (doubling each time, up to `copy_ttl`). The chain
    /// calls it only while this node is caught up with the finalized chain, so what the pool
    /// still owns is pending (a node that lags would offer transactions already final).
    /// Returns how many; 0 if the actor has stopped.
    pub async fn reoffer(&self) -> usize {
        let (response, receiver) = oneshot::channel();
        if self
            .sender
            .send(Message::Reoffer { response })
            .await
            .is_err()
        {
            return 0;
        }
        receiver.await.unwrap_or(0)
    }

    /// Whether the pool holds `hash`, or the bundle of that hash (false if the actor has
    /// stopped).
    pub async fn contains(&self, hash: Hash) -> bool {
        let (response, receiver) = oneshot::channel();
        if self
            .sender
            .send(Message::Contains { hash, response })
            .await
            .is_err()
        {
            return false;
        }
        receiver.await.unwrap_or(false)
    }

    /// Transactions and payload bytes in the pool (zero if the actor has stopped).
    pub async fn stats(&self) -> Stats {
        let (response, receiver) = oneshot::channel();
        if self.sender.send(Message::Stats { response }).await.is_err() {
            return Stats::default();
        }
        receiver.await.unwrap_or_default()
    }
}
