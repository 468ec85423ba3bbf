//! Retrieval: gathering `k` shares of a finalized block and reconstructing it.
//!
//! Shares come from three places: this node's own store, the validators designated to push to
//! it (live blocks), and requests. A retrieval waits for pushes until `fetch_timeout` after the
//! block's proposal timestamp (clamped to `[now, now + fetch_timeout]`), so a block whose
//! pushes this node missed — it was down, or is catching up — is requested at once. Requests
//! go to the best-scored validators not asked yet (`peers.rs`), only as many as shares are
//! still missing; each must be answered with the share or with `Missing` (the validator does
//! not hold it) within a timeout learned from that validator's recent answers (four times its
//! smoothed response time, between 50 ms and `fetch_timeout`; until it has answered, four
//! times the slowest validator's, or a quarter of `fetch_timeout` before anyone has), else the
//! validator's score drops and the next one is asked. A late answer is
//! still used. When every validator has been asked once without success the retrieval ends
//! as unavailable (the shares were pruned, or the block is not stored yet): the caller asks
//! API nodes for the whole block (`sync.rs`) or tries again later. A request that cannot be
//! sent (the validator is not connected, as right after this node starts) counts as declined
//! at once. A share that fails verification is
//! dropped, its sender's score falls to the floor, and another validator is asked at once.

use crate::{
    actor::{Actor, key},
    ingress::Retrieved,
    wire::Wire,
};
use commonware_p2p::{Recipients, Sender};
use commonware_runtime::{Clock, Metrics, Spawner, Storage};
use commonware_storage::archive::{Archive as _, Identifier};
use commonware_utils::channel::oneshot;
use cortado_coding::{DecodeError, InvalidEncodingEvidence, Share, reconstruct, verify_share};
use cortado_types::{Block, Hash, Header};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::atomic::Ordering,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tracing::{debug, warn};

/// How soon a retrieval asks again after a request could not be sent (peer not connected).
const UNSENT_RETRY: Duration = Duration::from_millis(50);

/// One block being gathered.
pub(crate) struct Retrieval {
    header: Header,
    waiters: Vec<oneshot::Sender<Option<Retrieved>>>,
    /// Own, pushed and requested shares by index, not yet verified (see `try_retrieve`).
    gathered: BTreeMap<u16, Share>,
    /// Validators asked for their share: when, and when their answer is due.
    asked: BTreeMap<u16, (SystemTime, SystemTime)>,
    /// Validators that answered `Missing`, timed out or sent an invalid share in this round.
    declined: BTreeSet<u16>,
    /// When to send requests (or expire unanswered ones) next.
    pub(crate) next_request: SystemTime,
}

/// When a retrieval of a block proposed at `timestamp_ms` first asks peers: once the pushes
/// had `fetch_timeout` to arrive after the proposal, but no earlier than now and no later than
/// `fetch_timeout` from now (the leader's clock is not trusted to be right).
pub(crate) fn first_request(
    now: SystemTime,
    timestamp_ms: u64,
    fetch_timeout: Duration,
) -> SystemTime {
    let pushes_due = UNIX_EPOCH + Duration::from_millis(timestamp_ms) + fetch_timeout;
    pushes_due.clamp(now, now + fetch_timeout)
}

impl<E, P> Actor<E, P>
where
    E: Spawner + Clock + Storage + Metrics,
    P: commonware_cryptography::PublicKey,
{
    /// Starts gathering `header`'s block (or joins a retrieval already under way).
    pub(crate) async fn start_retrieval(
        &mut self,
        header: Header,
        response: oneshot::Sender<Option<Retrieved>>,
    ) {
        let block = header.hash();
        if header.table.is_empty() {
            let empty = Block::from_parts(header, Vec::new(), &self.cfg.limits)
                .expect("an empty table describes an empty block");
            let _ = response.send(Some(Retrieved {
                block: empty,
                evidence: Vec::new(),
            }));
            return;
        }
        if let Some(r) = self.retrievals.get_mut(&block) {
            r.waiters.push(response);
            return;
        }
        let own = {
            let store = self
                .store
                .as_ref()
                .expect("store present between operations");
            store
                .get(Identifier::Key(&key(&block)))
                .await
                .expect("share store read failed")
        };
        let now = self.context.current();
        let mut retrieval = Retrieval {
            next_request: first_request(now, header.timestamp_ms, self.cfg.fetch_timeout),
            header,
            waiters: vec![response],
            gathered: BTreeMap::new(),
            asked: BTreeMap::new(),
            declined: BTreeSet::new(),
        };
        if let Some(own) = own {
            retrieval.gathered.insert(own.index, own);
        }
        self.retrievals.insert(block, retrieval);
        self.try_retrieve(block);
    }

    /// Validator `from` answered that it does not hold its share of `block`: ask another now.
    pub(crate) fn declined(&mut self, from: u16, block: Hash) {
        let now = self.context.current();
        if let Some(r) = self.retrievals.get_mut(&block)
            && r.asked.remove(&from).is_some()
        {
            r.declined.insert(from);
            r.next_request = now;
        }
    }

    /// Gathers the newly arrived shares of `block` and reconstructs once k are there.
    ///
    /// Shares are not verified first: `reconstruct` uses the k lowest-indexed shares whose
    /// every chunk verifies and skips the others, so checking them first would hash each chunk
    /// twice. Only when it finds fewer than k valid ones are the shares checked one by one, to
    /// drop the invalid ones and score their senders down (a share is accepted only from its own
    /// validator, one per index).
    pub(crate) fn try_retrieve(&mut self, block: Hash) {
        let Some(r) = self.retrievals.get_mut(&block) else {
            return;
        };
        let k = self.cfg.params.k as usize;
        let now = self.context.current();
        for share in self.buffers.pushed(&block) {
            if let Some((sent, _)) = r.asked.remove(&share.index) {
                let elapsed = now.duration_since(sent).unwrap_or_default();
                self.scores.answered(share.index, elapsed);
            }
            r.gathered.entry(share.index).or_insert(share);
        }
        if r.gathered.len() < k {
            return;
        }
        let shares: Vec<Share> = r.gathered.values().cloned().collect();
        let started = self.context.current();
        let reconstructed = match reconstruct(self.cfg.params, &r.header, &shares, &self.cfg.limits)
        {
            Ok(reconstructed) => reconstructed,
            Err(DecodeError::NotEnoughChunks { .. }) => {
                self.drop_invalid(block);
                return;
            }
            Err(err) => {
                warn!(%block, %err, "finalized header cannot head a block; retrieval stalls");
                return;
            }
        };
        let elapsed = self
            .context
            .current()
            .duration_since(started)
            .unwrap_or_default();
        self.metrics.reconstruct_ms.set(elapsed.as_millis() as i64);
        self.metrics.reconstructed.inc();
        self.stats
            .last_reconstruct_us
            .store(elapsed.as_micros() as u64, Ordering::Relaxed);
        self.stats
            .blocks_reconstructed
            .fetch_add(1, Ordering::Relaxed);
        self.metrics
            .invalid_namespaces
            .inc_by(reconstructed.invalid_namespaces().count() as u64);
        let r = self.retrievals.remove(&block).expect("present");
        for index in r.gathered.keys().filter(|i| **i != self.cfg.me) {
            self.scores.delivered(*index);
        }
        self.scores.tick();
        let evidence = if reconstructed.invalid_namespaces().next().is_some() {
            // Rare (a Byzantine leader): the evidence must be chunks that verify.
            let valid: Vec<Share> = shares
                .into_iter()
                .filter(|s| verify_share(self.cfg.params, &r.header, s.index, s).is_ok())
                .collect();
            evidence(&r.header, &reconstructed, &valid, self.cfg.params.k)
        } else {
            Vec::new()
        };
        let retrieved = Retrieved {
            evidence,
            block: reconstructed,
        };
        for waiter in r.waiters {
            let _ = waiter.send(Some(retrieved.clone()));
        }
        self.buffers.remove(&block);
    }

    /// Drops the gathered shares of `block` that do not verify, scores their senders down and
    /// asks others at once.
    fn drop_invalid(&mut self, block: Hash) {
        let now = self.context.current();
        let Some(r) = self.retrievals.get_mut(&block) else {
            return;
        };
        let params = self.cfg.params;
        let invalid: Vec<u16> = r
            .gathered
            .values()
            .filter(|s| verify_share(params, &r.header, s.index, s).is_err())
            .map(|s| s.index)
            .collect();
        for index in invalid {
            warn!(%block, index, "a validator sent a share that does not verify");
            r.gathered.remove(&index);
            r.declined.insert(index);
            self.buffers.remove_pushed(&block, index);
            self.scores.invalid(index);
            self.metrics.invalid_shares_received.inc();
        }
        r.next_request = now;
    }

    /// Sends the share requests that are due and expires unanswered ones.
    pub(crate) fn request_missing(&mut self, sender: &mut impl Sender<PublicKey = P>) {
        let now = self.context.current();
        let k = self.cfg.params.k as usize;
        let (n, me) = (self.cfg.params.n, self.cfg.me);
        let timeout = self.cfg.fetch_timeout;
        let mut requests: Vec<(u16, Hash)> = Vec::new();
        let mut unavailable: Vec<Hash> = Vec::new();
        for (block, r) in self.retrievals.iter_mut() {
            if r.next_request > now {
                continue;
            }
            let expired: Vec<u16> = r
                .asked
                .iter()
                .filter(|(_, (_, due))| *due <= now)
                .map(|(i, _)| *i)
                .collect();
            for index in expired {
                r.asked.remove(&index);
                r.declined.insert(index);
                self.scores.timed_out(index);
                self.metrics.requests_timed_out.inc();
            }
            let want = k.saturating_sub(r.gathered.len() + r.asked.len());
            let candidates = (0..n).filter(|i| {
                *i != me
                    && !r.gathered.contains_key(i)
                    && !r.asked.contains_key(i)
                    && !r.declined.contains(i)
            });
            let chosen = self
                .scores
                .choose(candidates, want, r.header.height, self.cfg.params.k);
            if chosen.len() < want && r.asked.is_empty() && chosen.is_empty() {
                // Every validator was asked in this round: the shares are not to be had now.
                debug!(%block, have = r.gathered.len(), "no validator could send a share");
                unavailable.push(*block);
                continue;
            }
            for index in chosen {
                let due = now + self.scores.timeout(index, timeout);
                r.asked.insert(index, (now, due));
                requests.push((index, *block));
            }
            r.next_request = r
                .asked
                .values()
                .map(|(_, due)| *due)
                .min()
                .unwrap_or(now + timeout);
        }
        for block in unavailable {
            if let Some(r) = self.retrievals.remove(&block) {
                self.metrics.retrievals_unavailable.inc();
                for waiter in r.waiters {
                    let _ = waiter.send(None);
                }
            }
        }
        for (index, block) in requests {
            let peer = self.cfg.participants[usize::from(index)].clone();
            let message = Wire::Request { block }.to_bytes();
            if !sender
                .send(Recipients::One(peer), message, false)
                .is_empty()
            {
                self.metrics.requests_sent.inc();
                continue;
            }
            // Not connected (yet: a node that just started dials its peers): ask another
            // validator soon rather than wait `fetch_timeout` for an answer that cannot come.
            self.scores.timed_out(index);
            self.metrics.requests_unsent.inc();
            if let Some(r) = self.retrievals.get_mut(&block) {
                r.asked.remove(&index);
                r.declined.insert(index);
                r.next_request = r.next_request.min(now + UNSENT_RETRY);
            }
        }
    }
}

/// The k chunks behind each invalid-encoding verdict of `block`.
fn evidence(
    header: &Header,
    block: &Block,
    shares: &[Share],
    k: u16,
) -> Vec<InvalidEncodingEvidence> {
    header
        .table
        .entries()
        .iter()
        .enumerate()
        .filter(|(j, _)| block.namespaces()[*j].invalid_encoding)
        .map(|(j, entry)| InvalidEncodingEvidence {
            entry: *entry,
            chunks: shares
                .iter()
                .take(k as usize)
                .map(|s| (s.index, s.chunks[j].clone()))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_blocks_are_requested_at_once_live_ones_after_the_pushes() {
        let t = Duration::from_millis(500);
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let ms = |d: SystemTime| d.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        // Proposed long ago (a node catching up): at once.
        assert_eq!(first_request(now, ms(now) - 60_000, t), now);
        // Proposed 100 ms ago: when the pushes had 500 ms.
        assert_eq!(
            first_request(now, ms(now) - 100, t),
            now + Duration::from_millis(400)
        );
        // A timestamp from the future waits no more than the timeout.
        assert_eq!(first_request(now, ms(now) + 10_000, t), now + t);
    }
}
