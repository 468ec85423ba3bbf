//! A distributed key generation ceremony: the validators create the group's BLS12-381 threshold
//! key together, so that nobody (no dealer, no participant) ever knows the group secret.
//!
//! # Protocol
//!
//! commonware's Joint-Feldman DKG (`bls12381::dkg::feldman_desmedt`), every participant both a
//! dealer and a player, over the authenticated, encrypted p2p network the validators later use
//! (so a private dealing is readable by its player only, and nobody can speak for another):
//!
//! 1. **Deal.** Each dealer samples a random polynomial of degree `2f` (from a seed it keeps, so a
//!    restarted dealer deals the same again), sends every player the public commitment and that
//!    player's private evaluation, and resends to players that have not acknowledged.
//! 2. **Acknowledge.** A player checks the evaluation against the commitment and signs an
//!    acknowledgement of `(dealer, commitment)`, after storing the dealing durably. It answers a
//!    repeated dealing with the same acknowledgement, and never acknowledges a dealing that does
//!    not verify (the report names the dealer and why).
//! 3. **Log.** A dealer with every player's acknowledgement signs its log (commitment and
//!    acknowledgements) and sends it to everyone. Logs are signed by their dealer, so anyone may
//!    forward them: participants exchange a status (whose logs and confirmations they hold)
//!    and send each other what the other lacks. Two different valid logs from one dealer are an
//!    equivocation: the ceremony aborts naming it.
//! 4. **Finalize.** With the logs of **all** dealers, each player computes the output (the group's
//!    public polynomial: the sum of the first `2f + 1` dealers' commitments in key order) and its
//!    private share (the sum of those dealers' evaluations for it), and signs a confirmation of
//!    the output's SHA-256 digest.
//! 5. **Confirm.** With every participant's confirmation of the same digest, the ceremony is
//!    complete: the caller writes the genesis (group key and polynomial), the participant's share
//!    and the [`Transcript`] (every signed log and confirmation), from which
//!    [`Transcript::verify`] recomputes the output without any secret.
//!
//! # Why every participant, and what a failure looks like
//!
//! The players must finalize on the same set of logs; with all `n` logs and acknowledgements
//! from all `n` players there is nothing to agree on and no share is ever revealed. The price is
//! that one absent or misbehaving participant stops the ceremony: past its deadline it aborts
//! with a [`Report`] naming who did not deal, acknowledge, log or confirm (and any dealing that
//! failed its check, with the reason); the operators run it again without them (with the next
//! `round`). A ceremony is a one-off among operators who agree on a time; tolerating absent
//! participants needs agreement on the logs, which the chain itself will provide for resharing.
//!
//! # Safety
//!
//! The group secret is the sum of `2f + 1` dealers' constants; at least `f + 1` of them are
//! honest, and each honest constant is known only to its dealer, so up to `f` colluding
//! participants learn nothing of it. Each share is the sum of evaluations sent privately to its
//! player. Nothing a participant writes holds more than its own share. Acknowledgements and
//! logs are bound to `(chain id, round, participants)` by commonware's transcript, so nothing
//! from another chain or an earlier, aborted round counts.
//!
//! Sans-I/O state machine: [`state::Ceremony`]; the loop that drives it over p2p with a
//! clock and durable storage: [`actor`].

pub mod actor;
pub mod state;
mod store;
pub mod wire;

use crate::{PrivateKey, PublicKey, Sharing, Variant};
use commonware_codec::{
    EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write, varint::UInt,
};
use commonware_cryptography::{
    Hasher, Signer as _, Verifier as _,
    bls12381::{
        dkg::feldman_desmedt::{self, Logs, Reveal},
        primitives::sharing::Mode,
    },
    ed25519,
    sha256::{Digest as Sha256Digest, Sha256},
};
use commonware_parallel::Sequential;
use commonware_utils::{N3f1, ordered::Set};
use rand_core::CryptoRng;
use std::num::NonZeroU32;

/// The round's information (dealers, players, chain, round).
pub type Info = feldman_desmedt::Info<Variant, PublicKey>;
/// The public outcome of the DKG.
pub type Output = feldman_desmedt::Output<Variant, PublicKey>;
/// A dealer's signed log.
pub type SignedLog = feldman_desmedt::SignedDealerLog<Variant, PublicKey>;

/// Signing domain of the DKG transcript (commonware binds every acknowledgement and log to it).
pub const NAMESPACE: &[u8] = b"_CORTADO_CEREMONY";
/// Signing domain of a confirmation (a participant's signature over the output's digest).
pub const CONFIRM_NAMESPACE: &[u8] = b"_CORTADO_CEREMONY_CONFIRM";
/// Most participants a ceremony may have.
pub const PARTICIPANTS_MAX: u32 = 1_024;

/// Why a ceremony cannot be planned or a transcript does not verify.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The participants do not make a round.
    #[error("cannot plan the ceremony: {0}")]
    Plan(String),
    /// The transcript does not prove the output.
    #[error("the transcript does not verify: {0}")]
    Transcript(String),
}

/// What the participants agreed to run: the chain, the round and who takes part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The chain the key is for (in every signature of the ceremony).
    pub chain_id: u64,
    /// Incremented for every attempt, failed ones included.
    pub round: u64,
    /// Every participant's ed25519 identity (each deals and receives a share).
    pub participants: Set<PublicKey>,
}

impl Plan {
    /// The DKG round this plan describes.
    pub fn info(&self) -> Result<Info, Error> {
        let n = self.participants.len();
        if n == 0 || n > PARTICIPANTS_MAX as usize {
            return Err(Error::Plan(format!(
                "a ceremony needs between 1 and {PARTICIPANTS_MAX} participants, not {n}"
            )));
        }
        Info::new::<N3f1>(
            &self.namespace(),
            self.round,
            None,
            Mode::NonZeroCounter,
            Reveal::V1,
            self.participants.clone(),
            self.participants.clone(),
        )
        .map_err(|e| Error::Plan(e.to_string()))
    }

    /// `NAMESPACE || chain_id`.
    fn namespace(&self) -> Vec<u8> {
        let mut ns = NAMESPACE.to_vec();
        ns.extend_from_slice(&self.chain_id.to_be_bytes());
        ns
    }

    /// Number of participants.
    pub fn n(&self) -> NonZeroU32 {
        NonZeroU32::new(self.participants.len() as u32).expect("a plan has participants")
    }

    /// The index of `key` among the participants.
    pub fn index(&self, key: &PublicKey) -> Option<u16> {
        self.participants.position(key).map(|i| i as u16)
    }
}

/// The digest a participant confirms: SHA-256 of the output's encoding.
pub fn output_digest(output: &Output) -> Sha256Digest {
    use commonware_codec::Encode;
    Sha256::hash(&[output.encode().as_ref()])
}

/// A participant's signature over the output digest.
pub fn sign_confirmation(me: &PrivateKey, digest: &Sha256Digest) -> ed25519::Signature {
    me.sign(CONFIRM_NAMESPACE, digest.as_ref())
}

/// Every signed log and every participant's confirmation of one output: what anyone checks a
/// genesis against ([`Self::verify`]), with no secret.
///
/// Encoding: `count (varint) || count × SignedDealerLog || count (varint) || count × (index (u16
/// BE) || ed25519 signature)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Transcript {
    /// One signed log per dealer, in participant order.
    pub logs: Vec<SignedLog>,
    /// `(participant index, signature over the output digest)`, in participant order.
    pub confirmations: Vec<(u16, ed25519::Signature)>,
}

impl Transcript {
    /// Recomputes the output from the logs (commonware's `observe`) and checks that every
    /// participant confirmed it. Returns the output.
    pub fn verify(&self, plan: &Plan, rng: &mut impl CryptoRng) -> Result<Output, Error> {
        let info = plan.info()?;
        let bad = |m: String| Error::Transcript(m);
        let mut logs = Logs::<Variant, PublicKey, N3f1>::new(info.clone());
        let mut seen = std::collections::BTreeSet::new();
        for signed in &self.logs {
            let (dealer, log) = signed
                .clone()
                .check(&info)
                .ok_or_else(|| bad("a log's signature does not verify for this round".into()))?;
            if plan.index(&dealer).is_none() {
                return Err(bad(format!(
                    "a log is signed by {dealer}, not a participant"
                )));
            }
            if !seen.insert(dealer.clone()) {
                return Err(bad(format!("two logs from {dealer}")));
            }
            logs.record(dealer, log);
        }
        let output = feldman_desmedt::observe::<Variant, PublicKey, N3f1>(rng, logs, &Sequential)
            .map_err(|e| bad(format!("the logs do not yield an output: {e}")))?;
        let digest = output_digest(&output);
        let mut confirmed = std::collections::BTreeSet::new();
        for (index, signature) in &self.confirmations {
            let key = plan
                .participants
                .get(usize::from(*index))
                .ok_or_else(|| bad(format!("a confirmation names participant {index}")))?;
            if !key.verify(CONFIRM_NAMESPACE, digest.as_ref(), signature) {
                return Err(bad(format!(
                    "participant {index}'s confirmation is not a signature of this output"
                )));
            }
            confirmed.insert(*index);
        }
        if confirmed.len() != plan.participants.len() {
            let missing: Vec<u16> = (0..plan.participants.len() as u16)
                .filter(|i| !confirmed.contains(i))
                .collect();
            return Err(bad(format!("participants {missing:?} did not confirm")));
        }
        Ok(output)
    }

    /// The group's public polynomial the transcript proves.
    pub fn sharing(&self, plan: &Plan, rng: &mut impl CryptoRng) -> Result<Sharing, Error> {
        Ok(self.verify(plan, rng)?.public().clone())
    }
}

impl Write for Transcript {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        UInt(self.logs.len() as u64).write(buf);
        for log in &self.logs {
            log.write(buf);
        }
        UInt(self.confirmations.len() as u64).write(buf);
        for (index, signature) in &self.confirmations {
            index.write(buf);
            signature.write(buf);
        }
    }
}

impl EncodeSize for Transcript {
    fn encode_size(&self) -> usize {
        UInt(self.logs.len() as u64).encode_size()
            + self.logs.iter().map(EncodeSize::encode_size).sum::<usize>()
            + UInt(self.confirmations.len() as u64).encode_size()
            + self
                .confirmations
                .iter()
                .map(|(i, s)| i.encode_size() + s.encode_size())
                .sum::<usize>()
    }
}

impl Read for Transcript {
    /// The number of participants.
    type Cfg = NonZeroU32;

    fn read_cfg(buf: &mut impl commonware_codec::Buf, n: &NonZeroU32) -> Result<Self, CodecError> {
        let count = |buf: &mut _| -> Result<usize, CodecError> {
            let c = UInt::<u64>::read(buf)?.0 as usize;
            if !RangeCfg::new(..=n.get() as usize).contains(&c) {
                return Err(CodecError::InvalidLength(c));
            }
            Ok(c)
        };
        let logs = (0..count(buf)?)
            .map(|_| SignedLog::read_cfg(buf, n))
            .collect::<Result<_, _>>()?;
        let confirmations = (0..count(buf)?)
            .map(|_| Ok((u16::read(buf)?, ed25519::Signature::read(buf)?)))
            .collect::<Result<_, CodecError>>()?;
        Ok(Self {
            logs,
            confirmations,
        })
    }
}

#[cfg(test)]
mod tests;
