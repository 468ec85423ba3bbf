//! Byzantine validators from commonware's own simplex test suite, run against full Cortado
//! engines.
//!
//! commonware-consensus (feature `mocks`) ships the adversaries its simplex tests use. A
//! [`Behaviour`] other than [`Behaviour::Honest`] makes [`crate::Cluster::start_validator`] run
//! one of them in place of validator `i`'s Cortado engine: the actor signs with that validator's
//! dealt BLS threshold share over the chain's consensus namespace
//! ([`cortado_chain::signing_scheme`]) and speaks on its vote (0) and certificate (1) channels,
//! so honest validators see a real committee member misbehave. Such a validator runs no
//! dispersal, marshal or mempool: it stores no share and serves nothing, which is itself a fault
//! honest validators must survive (k = f + 1 shares of 2f + 1 honest ones still reconstruct).
//!
//! - conflicter: answers every notarize / finalize with one for a random digest and one for the
//!   proposal (conflicting votes in one view).
//! - equivocator: as leader, sends one proposal to a random victim and another to the rest (its
//!   digests name no Cortado block, so honest validators cannot verify either and time out).
//! - nuller: answers every notarize with a nullify and a finalize of the same view.
//! - nullify-only: answers every notarize with a nullify and never finalizes.
//! - impersonator: signs votes with its own share but names another signer (invalid votes).
//! - outdated: re-signs proposals of 3 views ago.
//! - reconfigurer: votes correctly but for the next epoch (votes of a wrong epoch).
//! - twins: see [`crate::twins`]; two honest Cortado engines share the identity and share.
//!
//! commonware's twins harness also scripts the leader of each adversarial view with its own
//! elector given to every engine, honest ones included. Cortado's engine builds its elector
//! (round robin) itself, so the twins here keep it: the split of the network is scripted, the
//! leaders are not. See [`crate::twins`] for what that covers.

use commonware_consensus::{
    simplex::{
        elector::RoundRobin,
        mocks::{
            conflicter, equivocator, impersonator, nuller, nullify_only, outdated, reconfigurer,
            relay::Relay,
        },
    },
    types::{Epoch, ViewDelta},
};
use commonware_cryptography::sha256::Sha256;
use commonware_p2p::{Receiver, Sender};
use commonware_runtime::{Handle, deterministic};
use cortado_chain::{PublicKey, Scheme};
use std::sync::Arc;

/// How a validator behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// The full Cortado engine.
    #[default]
    Honest,
    /// commonware's `conflicter`: conflicting notarize / finalize votes.
    Conflicter,
    /// commonware's `equivocator`: different proposals to different validators.
    Equivocator,
    /// commonware's `nuller`: nullify and finalize in one view.
    Nuller,
    /// commonware's `nullify_only`: only nullifies.
    NullifyOnly,
    /// commonware's `impersonator`: votes naming another signer.
    Impersonator,
    /// commonware's `outdated`: votes for proposals of earlier views.
    Outdated,
    /// commonware's `reconfigurer`: votes of the wrong epoch.
    Reconfigurer,
    /// Two honest engines with one identity, each seeing part of the network
    /// ([`crate::twins`]).
    Twins,
}

impl Behaviour {
    /// Every Byzantine behaviour.
    pub const BYZANTINE: [Behaviour; 8] = [
        Behaviour::Conflicter,
        Behaviour::Equivocator,
        Behaviour::Nuller,
        Behaviour::NullifyOnly,
        Behaviour::Impersonator,
        Behaviour::Outdated,
        Behaviour::Reconfigurer,
        Behaviour::Twins,
    ];

    /// Its name in scenario names (`conflicter`, `nullify-only`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Honest => "honest",
            Behaviour::Conflicter => "conflicter",
            Behaviour::Equivocator => "equivocator",
            Behaviour::Nuller => "nuller",
            Behaviour::NullifyOnly => "nullify-only",
            Behaviour::Impersonator => "impersonator",
            Behaviour::Outdated => "outdated",
            Behaviour::Reconfigurer => "reconfigurer",
            Behaviour::Twins => "twins",
        }
    }

    /// Whether it is a single commonware mock actor (not the engine, not twins).
    pub fn is_mock(self) -> bool {
        !matches!(self, Behaviour::Honest | Behaviour::Twins)
    }
}

/// How many views back [`Behaviour::Outdated`] votes.
const OUTDATED_VIEWS: u64 = 3;

/// Starts the mock actor for `behaviour` (one of [`Behaviour::is_mock`]) with `scheme` (the
/// validator's signer) on its vote and certificate channels.
pub fn start_actor<S1, R1, S2, R2>(
    behaviour: Behaviour,
    context: deterministic::Context,
    scheme: Scheme,
    votes: (S1, R1),
    certificates: (S2, R2),
) -> Handle<()>
where
    S1: Sender<PublicKey = PublicKey>,
    R1: Receiver<PublicKey = PublicKey>,
    S2: Sender<PublicKey = PublicKey>,
    R2: Receiver<PublicKey = PublicKey>,
{
    assert!(behaviour.is_mock(), "{behaviour:?} is not a mock actor");
    match behaviour {
        Behaviour::Conflicter => {
            conflicter::Conflicter::<_, _, Sha256>::new(context, conflicter::Config { scheme })
                .start(votes)
        }
        Behaviour::Equivocator => {
            // Its payloads reach no Cortado node: the relay has no subscribers.
            let cfg = equivocator::Config {
                scheme,
                elector: RoundRobin::<Sha256>::default(),
                epoch: Epoch::zero(),
                relay: Arc::new(Relay::new()),
            };
            equivocator::Equivocator::<_, _, _, Sha256>::new(context, cfg)
                .start(votes, certificates)
        }
        Behaviour::Nuller => {
            nuller::Nuller::<_, _, Sha256>::new(context, nuller::Config { scheme }).start(votes)
        }
        Behaviour::NullifyOnly => {
            nullify_only::NullifyOnly::<_, _, Sha256>::new(context, nullify_only::Config { scheme })
                .start(votes)
        }
        Behaviour::Impersonator => impersonator::Impersonator::<_, _, Sha256>::new(
            context,
            impersonator::Config { scheme },
        )
        .start(votes),
        Behaviour::Outdated => {
            let cfg = outdated::Config {
                scheme,
                view_delta: ViewDelta::new(OUTDATED_VIEWS),
            };
            outdated::Outdated::<_, _, Sha256>::new(context, cfg).start(votes)
        }
        Behaviour::Reconfigurer => reconfigurer::Reconfigurer::<_, _, Sha256>::new(
            context,
            reconfigurer::Config { scheme },
        )
        .start(votes),
        Behaviour::Honest | Behaviour::Twins => unreachable!("checked above"),
    }
}
