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
        manifest: Vec<Hash>,
        response: oneshot::Sender<()>,
    },
    /// Validator: wait for, check and store own share.
    Verify {
        header: Header,
        response: oneshot::Sender<Verdict>,
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

/// What a leader says its block holds: the hashes of its transactions, in block order. It
/// comes with the leader's share over the leader's authenticated connection, so it is the
/// leader's word for that block and no one else's; nobody can check it before the block is
/// reconstructed.
pub type Manifest = Arc<[Hash]>;

/// What dispersal says of a proposal.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// My share arrived from the block's leader, verified and is durable (or the block has no
    /// namespace and needs none). With the leader's manifest when it came in this run; `None`
    /// when the share was stored before (by an earlier verification, or before a restart).
    Valid(Option<Manifest>),
    /// The leader's share for me does not verify against the header: never vote for it.
    Invalid,
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

    /// Leader: stores this node's share durably and sends share `i` to validator `i`, with the
    /// block's `manifest` (the hashes of its transactions). Resolves once the own share is
    /// durable.
    pub async fn disperse(&self, header: Header, shares: Vec<Share>, manifest: Vec<Hash>) {
        let (response, receiver) = oneshot::channel();
        if self
            .sender
            .send(Message::Disperse {
                header,
                shares,
                manifest,
                response,
            })
            .await
            .is_ok()
        {
            let _ = receiver.await;
        }
    }

    /// Validator: resolves [`Verdict::Valid`] once this node's share of `header` arrived from
    /// its leader, verified and is durable; [`Verdict::Invalid`] if the leader's share is
    /// invalid. Stays pending while the share has not arrived (drop the future to abandon).
    /// `None` if the actor stopped.
    pub async fn verify(&self, header: Header) -> Option<Verdict> {
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
        let retrieved = receiver.await.map_err(|_| RetrieveError::Stopped)?;
        if retrieved.is_none() {
            self.stats
                .retrievals_unavailable
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        retrieved.ok_or(RetrieveError::Unavailable)
    }

    /// The counters, for the block-sync actor (it shares them).
    pub(crate) fn shared_stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }
}
