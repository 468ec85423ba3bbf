//! The mailbox: how the chain talks to the dispersal actor.

use crate::metrics::{Stats, StatsSnapshot};
use commonware_utils::channel::{mpsc, oneshot};
use cortado_coding::{InvalidEncodingEvidence, Share};
use cortado_types::{Block, Hash, Header};
use std::sync::Arc;

/// A request to the actor.
pub(crate) enum Message {
    /// Leader: store own share, send the others.
    Disperse {
        header: Header,
        shares: Vec<Share>,
        response: oneshot::Sender<()>,
    },
    /// Validator: wait for, check and store own share.
    Verify {
        header: Header,
        response: oneshot::Sender<bool>,
    },
    /// API node: gather shares and reconstruct.
    Retrieve {
        header: Header,
        response: oneshot::Sender<Option<Retrieved>>,
    },
    /// Read this node's stored share of a block.
    Stored {
        block: Hash,
        response: oneshot::Sender<Option<Share>>,
    },
}

/// A block reconstructed from shares.
#[derive(Clone, Debug)]
pub struct Retrieved {
    /// The block; invalidly encoded namespaces are marked and empty.
    pub block: Block,
    /// For each invalidly encoded namespace, the k chunks that prove it.
    pub evidence: Vec<InvalidEncodingEvidence>,
}

/// Why a block could not be had.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetrieveError {
    /// Every peer asked in one round declined, timed out or lied (the shares were pruned, or
    /// the block is older than every peer's retention): ask elsewhere, or again later.
    #[error("no peer could provide the block in this round")]
    Unavailable,
    /// The actor stopped (the node is shutting down).
    #[error("the actor stopped")]
    Stopped,
}

/// Handle to the dispersal actor. Cheap to clone; bounded.
#[derive(Clone, Debug)]
pub struct Mailbox {
    sender: mpsc::Sender<Message>,
    stats: Arc<Stats>,
}

impl Mailbox {
    pub(crate) fn new(sender: mpsc::Sender<Message>, stats: Arc<Stats>) -> Self {
        Self { sender, stats }
    }

    /// What dispersal has done since start (shares and bytes stored and received,
    /// reconstructions and the time of the last one).
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Leader: stores this node's share durably and sends share `i` to validator `i`.
    /// Resolves once the own share is durable.
    pub async fn disperse(&self, header: Header, shares: Vec<Share>) {
        let (response, receiver) = oneshot::channel();
        if self
            .sender
            .send(Message::Disperse {
                header,
                shares,
                response,
            })
            .await
            .is_ok()
        {
            let _ = receiver.await;
        }
    }

    /// Validator: resolves `true` once this node's share of `header` arrived from its leader,
    /// verified and is durable; `false` if the leader's share is invalid. Stays pending while the
    /// share has not arrived (drop the future to abandon).
    pub async fn verify(&self, header: Header) -> Option<bool> {
        let (response, receiver) = oneshot::channel();
        self.sender
            .send(Message::Verify { header, response })
            .await
            .ok()?;
        receiver.await.ok()
    }

    /// This node's stored share of `block`, if any (it survives restarts).
    pub async fn stored_share(&self, block: Hash) -> Option<Share> {
        let (response, receiver) = oneshot::channel();
        self.sender
            .send(Message::Stored { block, response })
            .await
            .ok()?;
        receiver.await.ok().flatten()
    }

    /// API node: resolves with the block once ≥ k shares are gathered and every namespace is
    /// decoded and checked (invalidly encoded ones marked); [`RetrieveError::Unavailable`] once
    /// every validator was asked in one round without `k` shares coming of it.
    pub async fn retrieve(&self, header: Header) -> Result<Retrieved, RetrieveError> {
        let (response, receiver) = oneshot::channel();
        self.sender
            .send(Message::Retrieve { header, response })
            .await
            .map_err(|_| RetrieveError::Stopped)?;
        receiver
            .await
            .map_err(|_| RetrieveError::Stopped)?
            .ok_or(RetrieveError::Unavailable)
    }

    /// The counters, for the block-sync actor (it shares them).
    pub(crate) fn shared_stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }
}
