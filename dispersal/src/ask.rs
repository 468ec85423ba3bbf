//! Asking the leader again: a validator whose own share of a proposal it must verify has not
//! arrived asks the proposal's leader for it, and the leader answers from the proposals it
//! keeps in memory.
//!
//! - **Validator.** [`ASK_AFTER`] after a verification starts without the leader's share, it
//!   sends the leader `RequestProposal { block }`, then again after twice as long each time, at
//!   most [`ASKS_MAX`] times, while consensus still waits for the verdict (an abandoned
//!   verification stops asking). A lost share message then costs a round trip, not the vote.
//! - **Leader.** It keeps the shares and manifests of its last [`KEPT_PROPOSALS`] proposals
//!   (at most [`KEPT_BYTES_MAX`] bytes, oldest dropped first) and answers a request with the
//!   requester's own share and the manifest, as a `Proposal`, at most [`ANSWERS_MAX`] times per
//!   (block, requester): a peer repeating the request a million times gets two answers.
//!   Requests for anything else are ignored.

use crate::{actor::Actor, wire::Wire};
use commonware_codec::EncodeSize;
use commonware_p2p::{Recipients, Sender};
use commonware_runtime::{Clock, Metrics, Spawner, Storage};
use cortado_coding::Share;
use cortado_types::Hash;
use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, SystemTime},
};
use tracing::debug;

/// How long a verification waits for the leader's share before asking the leader for it.
pub(crate) const ASK_AFTER: Duration = Duration::from_millis(150);
/// Most requests per verification.
const ASKS_MAX: u32 = 4;
/// Proposals a leader keeps to answer requests.
const KEPT_PROPOSALS: usize = 4;
/// Most share bytes a leader keeps for them.
const KEPT_BYTES_MAX: usize = 64 << 20;
/// Most answers per (block, requester).
const ANSWERS_MAX: u8 = 2;

/// A proposal the leader keeps: every validator's share and the manifest.
struct Kept {
    block: Hash,
    shares: Vec<Share>,
    manifest: Vec<Hash>,
    bytes: usize,
    answered: HashMap<u16, u8>,
}

/// The leader's recent proposals.
#[derive(Default)]
pub(crate) struct KeptProposals {
    kept: VecDeque<Kept>,
    bytes: usize,
}

impl KeptProposals {
    /// Keeps `block`'s shares and manifest (dropping the oldest beyond the bounds).
    pub(crate) fn keep(&mut self, block: Hash, shares: Vec<Share>, manifest: Vec<Hash>) {
        let bytes = shares.iter().map(EncodeSize::encode_size).sum::<usize>()
            + manifest.len() * Hash::LENGTH;
        if bytes > KEPT_BYTES_MAX {
            return;
        }
        self.bytes += bytes;
        self.kept.push_back(Kept {
            block,
            shares,
            manifest,
            bytes,
            answered: HashMap::new(),
        });
        while self.kept.len() > KEPT_PROPOSALS || self.bytes > KEPT_BYTES_MAX {
            let Some(gone) = self.kept.pop_front() else {
                break;
            };
            self.bytes -= gone.bytes;
        }
    }

    /// The answer to `requester`'s request for its share of `block`, if kept and not answered
    /// too often already.
    fn answer(&mut self, block: &Hash, requester: u16) -> Option<Wire> {
        let kept = self.kept.iter_mut().find(|k| k.block == *block)?;
        let share = kept.shares.get(requester as usize)?.clone();
        let count = kept.answered.entry(requester).or_default();
        if *count >= ANSWERS_MAX {
            return None;
        }
        *count += 1;
        Some(Wire::Proposal {
            block: *block,
            share,
            manifest: kept.manifest.clone(),
        })
    }
}

/// When to ask the leader of a pending verification next, and how often it was asked.
pub(crate) struct Ask {
    pub(crate) at: SystemTime,
    asked: u32,
}

impl Ask {
    pub(crate) fn new(now: SystemTime) -> Self {
        Self {
            at: now + ASK_AFTER,
            asked: 0,
        }
    }
}

/// Asks pending.
pub(crate) type Asks = HashMap<Hash, Ask>;

impl<E, P> Actor<E, P>
where
    E: Spawner + Clock + Storage + Metrics,
    P: commonware_cryptography::PublicKey,
{
    /// Sends the due requests for shares that have not come from their leaders.
    pub(crate) fn ask_leaders(&mut self, sender: &mut impl Sender<PublicKey = P>) {
        let now = self.context.current();
        let due: Vec<Hash> = self
            .asks
            .iter()
            .filter(|(_, ask)| ask.at <= now)
            .map(|(block, _)| *block)
            .collect();
        for block in due {
            let leader = self
                .verifying
                .get(&block)
                .and_then(|waiters| waiters.first())
                .and_then(|(header, _)| self.leader_of(header));
            let (Some(leader), Some(ask)) = (leader, self.asks.get_mut(&block)) else {
                self.asks.remove(&block);
                continue;
            };
            ask.asked += 1;
            if ask.asked >= ASKS_MAX {
                self.asks.remove(&block);
            } else {
                ask.at = now + ASK_AFTER * 2u32.pow(ask.asked);
            }
            let peer = self.cfg.participants[leader as usize].clone();
            debug!(%block, leader, "own share not received: asking the leader");
            self.metrics.proposal_requests_sent.inc();
            sender.send(
                Recipients::One(peer),
                Wire::RequestProposal { block }.to_bytes(),
                false,
            );
        }
    }

    /// Answers `from`'s request for its share of our proposal `block`.
    pub(crate) fn answer_request(
        &mut self,
        from: u16,
        peer: P,
        block: Hash,
        sender: &mut impl Sender<PublicKey = P>,
    ) {
        if self.cfg.faults.refuse_to_serve || self.cfg.faults.omit_shares_to.contains(&from) {
            return;
        }
        if let Some(answer) = self.kept.answer(&block, from) {
            self.metrics.proposal_requests_served.inc();
            sender.send(Recipients::One(peer), answer.to_bytes(), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_proposals_answer_each_requester_twice_and_are_bounded() {
        let mut kept = KeptProposals::default();
        let shares = |n: u16| {
            (0..n)
                .map(|index| Share {
                    index,
                    chunks: Vec::new(),
                })
                .collect::<Vec<_>>()
        };
        kept.keep(Hash([1; 32]), shares(4), vec![Hash([9; 32])]);
        for _ in 0..ANSWERS_MAX {
            match kept.answer(&Hash([1; 32]), 2) {
                Some(Wire::Proposal {
                    share, manifest, ..
                }) => {
                    assert_eq!(share.index, 2);
                    assert_eq!(manifest, vec![Hash([9; 32])]);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(kept.answer(&Hash([1; 32]), 2).is_none(), "answered enough");
        assert!(kept.answer(&Hash([1; 32]), 3).is_some());
        assert!(
            kept.answer(&Hash([1; 32]), 9).is_none(),
            "no such validator"
        );
        assert!(kept.answer(&Hash([2; 32]), 1).is_none(), "not ours");
        for i in 0..10u8 {
            kept.keep(Hash([10 + i; 32]), shares(4), Vec::new());
        }
        assert_eq!(kept.kept.len(), KEPT_PROPOSALS);
        assert!(kept.answer(&Hash([1; 32]), 3).is_none(), "oldest dropped");
    }
}
