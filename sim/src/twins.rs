//! Twins (Bano et al., "Twins: BFT Systems Made Robust"): a Byzantine validator runs as two
//! honest Cortado engines that share its identity and BLS share, each talking to part of the
//! network, so the one identity signs conflicting votes and, as leader, two different blocks
//! in one view, each with consistent honest-looking behaviour.
//!
//! The split is commonware's `SplitSender` / `SplitReceiver` of the simulated network, applied
//! to every channel of the twin (votes, certificates, resolver, headers, backfill, shares, block
//! sync, gossip): [`Halves`] says which other validators each twin exchanges messages with.
//! Every other validator is in the primary half, the secondary half, or both (the recipient
//! masks of commonware's twins, which may overlap); both halves are non-empty. A validator in
//! both halves hears both twins and sees the equivocation directly.
//!
//! Limitation, against commonware's own twins campaigns (`simplex::mocks::twins`): those
//! script, per view, both the split and the leader, with a twins elector given to every engine,
//! and switch to full synchrony after the scripted prefix. Cortado's engine builds its round-
//! robin elector itself, so here the leaders are not scripted (each twin leads in its own
//! round-robin views, and there both twins propose) and the split holds for the whole run
//! (commonware's `Sustained` mode without leader scripting). Each twin engine has its own
//! storage and recorder ([`crate::Validator::twin`] for the secondary one): what a twin
//! finalized must agree with the honest chain too.

use commonware_p2p::{
    Recipients,
    simulated::{Receiver, Sender, SplitForwarder, SplitOrigin, SplitSender, SplitTarget},
};
use commonware_runtime::{Supervisor, deterministic};
use cortado_chain::PublicKey;
use rand::{Rng, RngExt};
use std::sync::Arc;

/// Which validators each twin exchanges messages with.
#[derive(Clone, Debug)]
pub struct Halves {
    /// Peers of the primary twin.
    pub primary: Vec<PublicKey>,
    /// Peers of the secondary twin.
    pub secondary: Vec<PublicKey>,
}

impl Halves {
    /// Puts each of `others` (at least two) in the primary half, the secondary half, or both,
    /// at random, keeping both halves non-empty and at least one peer in one half only.
    pub fn sample(rng: &mut impl Rng, others: &[PublicKey]) -> Self {
        assert!(
            others.len() >= 2,
            "twins need at least two other validators"
        );
        loop {
            let (mut primary, mut secondary) = (Vec::new(), Vec::new());
            for peer in others {
                match rng.random_range(0..3u8) {
                    0 => primary.push(peer.clone()),
                    1 => secondary.push(peer.clone()),
                    _ => {
                        primary.push(peer.clone());
                        secondary.push(peer.clone());
                    }
                }
            }
            let disjoint_part = primary.len() < others.len() || secondary.len() < others.len();
            if !primary.is_empty() && !secondary.is_empty() && disjoint_part {
                return Self { primary, secondary };
            }
        }
    }

    fn half(&self, origin: SplitOrigin) -> &[PublicKey] {
        match origin {
            SplitOrigin::Primary => &self.primary,
            SplitOrigin::Secondary => &self.secondary,
        }
    }

    /// Which twin hears a message from `from`.
    fn route(&self, from: &PublicKey) -> SplitTarget {
        match (self.primary.contains(from), self.secondary.contains(from)) {
            (true, true) => SplitTarget::Both,
            (true, false) => SplitTarget::Primary,
            (false, true) => SplitTarget::Secondary,
            (false, false) => SplitTarget::None,
        }
    }

    /// The recipients of a send by twin `origin` to `to`: those of its half (`None`: nobody).
    fn restrict(
        &self,
        origin: SplitOrigin,
        to: &Recipients<PublicKey>,
    ) -> Option<Recipients<PublicKey>> {
        let half = self.half(origin);
        let keys: Vec<PublicKey> = match to {
            Recipients::All => half.to_vec(),
            Recipients::One(peer) => half.iter().filter(|k| *k == peer).cloned().collect(),
            Recipients::Some(peers) => half.iter().filter(|k| peers.contains(k)).cloned().collect(),
        };
        (!keys.is_empty()).then_some(Recipients::Some(keys))
    }
}

/// One twin's end of a channel.
pub type TwinChannel<F> = (
    SplitSender<PublicKey, deterministic::Context, F>,
    Receiver<PublicKey>,
);

/// Splits one registered channel into the primary and the secondary twin's ends.
pub fn split(
    context: &deterministic::Context,
    halves: &Arc<Halves>,
    (sender, receiver): (
        Sender<PublicKey, deterministic::Context>,
        Receiver<PublicKey>,
    ),
) -> [TwinChannel<impl SplitForwarder<PublicKey>>; 2] {
    let forward = halves.clone();
    let (send_primary, send_secondary) = sender
        .split_with(move |origin, to: &Recipients<PublicKey>, _: &_| forward.restrict(origin, to));
    let route = halves.clone();
    let (receive_primary, receive_secondary) = receiver.split_with(
        context.child("twin_split"),
        move |(from, _): &(PublicKey, _)| route.route(from),
    );
    [
        (send_primary, receive_primary),
        (send_secondary, receive_secondary),
    ]
}
