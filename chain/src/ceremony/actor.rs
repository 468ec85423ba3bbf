//! Drives a [`Ceremony`] over p2p: stores its state before anything that depends on it is
//! sent (an acknowledgement is never sent before the dealing it acknowledges is durable),
//! repeats dealings and a status every `tick`, and ends complete once every participant
//! confirmed the output (after lingering until the peers have every confirmation too, so a
//! participant that finishes first does not strand the others), or aborted with a report at
//! its deadline.
//!
//! Generic over the runtime: the same loop runs on commonware's deterministic runtime with a
//! simulated network (tests: offline, lying and crashing participants) and on tokio with the
//! authenticated p2p network (`cortado ceremony`).

use super::{
    Plan,
    state::{Ceremony, Completed, To},
    store::Store,
    wire::Wire,
};
use crate::{PrivateKey, PublicKey};
use commonware_codec::{Decode as _, Encode as _};
use commonware_cryptography::Signer as _;
use commonware_macros::select;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::Supervisor;
use rand_core::CryptoRng;
use std::{collections::BTreeSet, time::Duration};
use tracing::{debug, info, warn};

/// How a participant runs its ceremony.
#[derive(Clone, Debug)]
pub struct Config {
    /// Dealings and the status are repeated this often.
    pub tick: Duration,
    /// The ceremony aborts if it has not completed this long after this participant started.
    pub timeout: Duration,
    /// Once complete, how long to keep answering peers that still lack a confirmation.
    pub linger: Duration,
    /// Storage partition of the participant's ceremony state.
    pub partition: String,
    /// Simulations only: deal every other player a wrong evaluation.
    pub corrupt_dealings: bool,
}

/// Why a ceremony did not complete.
#[derive(Debug, thiserror::Error)]
pub enum Aborted {
    /// The plan is unusable, or the stored state does not match it.
    #[error(transparent)]
    Plan(#[from] super::Error),
    /// The deadline passed, or the ceremony cannot complete.
    #[error("the ceremony did not complete: {reason}\n{report}")]
    Incomplete {
        /// Deadline, failure or closed network.
        reason: String,
        /// Who did not do what ([`Ceremony::report`]).
        report: String,
    },
}

/// Runs participant `me`'s ceremony of `plan` to its end.
pub async fn run<E, S, R>(
    mut context: E,
    plan: Plan,
    me: PrivateKey,
    (mut sender, mut receiver): (S, R),
    cfg: Config,
) -> Result<Completed, Aborted>
where
    E: commonware_storage::Context + Supervisor + CryptoRng,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let n = plan.n();
    let mut store = Store::open(context.child("ceremony_state"), cfg.partition.clone(), n).await;
    let mut ceremony = match store.get() {
        Some(stored) => {
            info!("resuming the ceremony from its stored state");
            Ceremony::restore(plan, me.clone(), stored, &mut context)?
        }
        None => {
            let mut seed = [0u8; 32];
            context.fill_bytes(&mut seed);
            Ceremony::new(plan, me.clone(), seed)?
        }
    };
    if cfg.corrupt_dealings {
        ceremony.corrupt_dealings();
    }
    let others: Vec<PublicKey> = ceremony
        .plan()
        .participants
        .iter()
        .filter(|p| **p != me.public_key())
        .cloned()
        .collect();
    let first = ceremony.start(&mut context);
    flush(&mut ceremony, &mut store, &mut sender, &others, first).await;
    let started = context.current();
    let deadline = started + cfg.timeout;
    let mut next_tick = started + cfg.tick;
    let mut satisfied: BTreeSet<PublicKey> = BTreeSet::new();
    let mut completed_at = None;
    loop {
        if let Some(failure) = ceremony.failure() {
            return Err(Aborted::Incomplete {
                reason: failure.to_string(),
                report: ceremony.report(),
            });
        }
        if let Some(done) = ceremony.completed() {
            let now = context.current();
            if completed_at.is_none() {
                info!("every participant confirmed the output");
                completed_at = Some(now);
                // Say so at once: a peer waits for this status before it stops lingering.
                let out = ceremony.resend();
                flush(&mut ceremony, &mut store, &mut sender, &others, out).await;
            }
            let at = completed_at.expect("set above");
            if satisfied.len() == others.len() || now >= at + cfg.linger {
                return Ok(done);
            }
        }
        select! {
            _ = context.sleep_until(next_tick) => {
                next_tick = context.current() + cfg.tick;
                let out = ceremony.resend();
                flush(&mut ceremony, &mut store, &mut sender, &others, out).await;
            },
            _ = context.sleep_until(deadline) => {
                return Err(Aborted::Incomplete {
                    reason: format!("no result within {:?}", cfg.timeout),
                    report: ceremony.report(),
                });
            },
            received = receiver.recv() => {
                let Ok((from, bytes)) = received else {
                    return Err(Aborted::Incomplete {
                        reason: "the network stopped".into(),
                        report: ceremony.report(),
                    });
                };
                let wire = match Wire::decode_cfg(bytes, &n) {
                    Ok(wire) => wire,
                    Err(err) => {
                        warn!(%from, %err, "undecodable ceremony message");
                        continue;
                    }
                };
                if let Wire::Status { confirmations, .. } = &wire
                    && Ceremony::satisfied(confirmations)
                {
                    satisfied.insert(from.clone());
                }
                let out = ceremony.on_message(from, wire, &mut context);
                flush(&mut ceremony, &mut store, &mut sender, &others, out).await;
            },
        }
    }
}

/// Stores the state if it changed, then sends `out`.
async fn flush<E, S>(
    ceremony: &mut Ceremony,
    store: &mut Store<E>,
    sender: &mut S,
    others: &[PublicKey],
    out: Vec<(To, Wire)>,
) where
    E: commonware_storage::Context,
    S: Sender<PublicKey = PublicKey>,
{
    if ceremony.take_dirty() {
        store.put(ceremony.persisted()).await;
    }
    for (to, wire) in out {
        let recipients = match to {
            To::One(peer) => Recipients::One(peer),
            To::All => Recipients::Some(others.to_vec()),
        };
        if sender.send(recipients, wire.encode(), false).is_empty() {
            debug!("ceremony message not sent (peer not connected yet)");
        }
    }
}
