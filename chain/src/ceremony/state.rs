//! The ceremony's rules, without I/O or a clock: messages in, messages out, and what must be
//! stored before they are sent ([`Ceremony::persisted`]).

use super::{
    Info, Output, Plan, SignedLog, Transcript, output_digest, sign_confirmation, wire::Wire,
};
use crate::{PrivateKey, PublicKey, Share, Variant};
use commonware_codec::{EncodeSize, Error as CodecError, Read, ReadExt, Write, varint::UInt};
use commonware_cryptography::{
    Signer as _, Verifier as _,
    bls12381::dkg::feldman_desmedt::{
        Dealer, DealerLog, DealerPrivMsg, DealerPubMsg, Logs, Player, PlayerAck,
    },
    ed25519,
    sha256::Digest,
};
use commonware_parallel::Sequential;
use commonware_utils::N3f1;
use rand::{SeedableRng, rngs::StdRng};
use rand_core::CryptoRng;
use std::{collections::BTreeMap, num::NonZeroU32};

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum To {
    /// One participant.
    One(PublicKey),
    /// Every other participant.
    All,
}

/// The finished ceremony: the group's public polynomial, this participant's share and the
/// transcript that proves them.
#[derive(Clone, Debug)]
pub struct Completed {
    /// The public output (group polynomial, dealers, players).
    pub output: Output,
    /// This participant's private share.
    pub share: Share,
    /// Every signed log and confirmation.
    pub transcript: Transcript,
}

/// A participant's ceremony.
pub struct Ceremony {
    plan: Plan,
    info: Info,
    me: PrivateKey,
    index: u16,
    seed: [u8; 32],
    // As a dealer.
    dealer: Option<Dealer<Variant, PrivateKey>>,
    commitment: DealerPubMsg<Variant>,
    evaluations: BTreeMap<PublicKey, DealerPrivMsg>,
    acks: BTreeMap<PublicKey, PlayerAck<PublicKey>>,
    // As a player.
    player: Option<Player<Variant, PrivateKey>>,
    dealings: BTreeMap<PublicKey, (DealerPubMsg<Variant>, DealerPrivMsg)>,
    my_acks: BTreeMap<PublicKey, PlayerAck<PublicKey>>,
    rejected: BTreeMap<PublicKey, String>,
    // Everyone.
    logs: BTreeMap<PublicKey, SignedLog>,
    output: Option<(Output, Share, Digest)>,
    confirmations: BTreeMap<u16, (Digest, ed25519::Signature)>,
    failure: Option<String>,
    dirty: bool,
    /// Simulations only: send each other player the next player's evaluation.
    corrupt: bool,
}

impl Ceremony {
    /// A fresh ceremony for participant `me`, dealing from `seed` (keep it: a restarted
    /// dealer must deal the same polynomial).
    pub fn new(plan: Plan, me: PrivateKey, seed: [u8; 32]) -> Result<Self, super::Error> {
        let info = plan.info()?;
        let index = plan.index(&me.public_key()).ok_or_else(|| {
            super::Error::Plan(format!(
                "this identity ({}) is not a participant of the ceremony",
                me.public_key()
            ))
        })?;
        let (dealer, commitment, evaluations) =
            Dealer::start::<N3f1>(StdRng::from_seed(seed), info.clone(), me.clone(), None)
                .map_err(|e| super::Error::Plan(e.to_string()))?;
        let player =
            Player::new(info.clone(), me.clone()).map_err(|e| super::Error::Plan(e.to_string()))?;
        Ok(Self {
            plan,
            info,
            me,
            index,
            seed,
            dealer: Some(dealer),
            commitment,
            evaluations: evaluations.into_iter().collect(),
            acks: BTreeMap::new(),
            player: Some(player),
            dealings: BTreeMap::new(),
            my_acks: BTreeMap::new(),
            rejected: BTreeMap::new(),
            logs: BTreeMap::new(),
            output: None,
            confirmations: BTreeMap::new(),
            failure: None,
            dirty: true,
            corrupt: false,
        })
    }

    /// The ceremony as it was stored ([`Self::persisted`]), replayed: the same dealing, the
    /// same acknowledgements, the logs and confirmations already held.
    pub fn restore(
        plan: Plan,
        me: PrivateKey,
        stored: Persisted,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, super::Error> {
        let mut this = Self::new(plan, me, stored.seed)?;
        let mut checked = BTreeMap::new();
        for log in stored.logs {
            if let Some((dealer, l)) = log.clone().check(&this.info) {
                checked.insert(dealer.clone(), l);
                this.logs.insert(dealer, log);
            }
        }
        let (player, my_acks) = Player::resume::<N3f1>(
            this.info.clone(),
            this.me.clone(),
            &checked,
            stored
                .dealings
                .iter()
                .map(|(d, p, e)| (d.clone(), p.clone(), e.clone())),
        )
        .map_err(|e| super::Error::Plan(format!("the stored ceremony state is unusable: {e}")))?;
        this.player = Some(player);
        this.my_acks = my_acks;
        this.dealings = stored
            .dealings
            .into_iter()
            .map(|(d, p, e)| (d, (p, e)))
            .collect();
        for (player, ack) in stored.acks {
            this.receive_ack(player, ack);
        }
        for (signer, digest, signature) in stored.confirmations {
            this.confirmations.insert(signer, (digest, signature));
        }
        this.maybe_finalize(rng);
        this.dirty = false;
        Ok(this)
    }

    /// What must be durable before the messages of the last step are sent.
    pub fn persisted(&self) -> Persisted {
        Persisted {
            seed: self.seed,
            dealings: self
                .dealings
                .iter()
                .map(|(d, (p, e))| (d.clone(), p.clone(), e.clone()))
                .collect(),
            acks: self
                .acks
                .iter()
                .map(|(p, a)| (p.clone(), a.clone()))
                .collect(),
            logs: self.logs.values().cloned().collect(),
            confirmations: self
                .confirmations
                .iter()
                .map(|(i, (d, s))| (*i, *d, s.clone()))
                .collect(),
        }
    }

    /// Whether the state changed since the last call (store it before sending).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Why the ceremony cannot complete (an equivocation, a confirmation of another output,
    /// logs that yield no output), if it cannot.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The first messages: this dealer's dealing to every player (its own is taken at once).
    pub fn start(&mut self, rng: &mut impl CryptoRng) -> Vec<(To, Wire)> {
        let me = self.me.public_key();
        let own = self.evaluations.get(&me).cloned();
        if let Some(evaluation) = own {
            let commitment = self.commitment.clone();
            let _ = self.on_message(
                me,
                Wire::Dealing {
                    commitment,
                    evaluation,
                },
                rng,
            );
        }
        self.resend()
    }

    /// Simulations of a Byzantine dealer: from now on, send every other player the next
    /// player's evaluation (which fails its check).
    pub fn corrupt_dealings(&mut self) {
        self.corrupt = true;
    }

    /// Messages to repeat on a timer: the dealing to players that have not acknowledged it,
    /// and a status, so peers send what this participant lacks.
    pub fn resend(&self) -> Vec<(To, Wire)> {
        let mut out = Vec::new();
        if self.dealer.is_some() {
            let evaluations: Vec<_> = self.evaluations.values().cloned().collect();
            for (i, player) in self.evaluations.keys().enumerate() {
                if !self.acks.contains_key(player) && *player != self.me.public_key() {
                    let j = if self.corrupt {
                        (i + 1) % evaluations.len()
                    } else {
                        i
                    };
                    out.push((
                        To::One(player.clone()),
                        Wire::Dealing {
                            commitment: self.commitment.clone(),
                            evaluation: evaluations[j].clone(),
                        },
                    ));
                }
            }
        }
        out.push((To::All, self.status()));
        out
    }

    fn status(&self) -> Wire {
        let n = self.plan.participants.len();
        Wire::Status {
            logs: self
                .plan
                .participants
                .iter()
                .map(|p| self.logs.contains_key(p))
                .collect(),
            confirmations: (0..n as u16)
                .map(|i| self.confirmations.contains_key(&i))
                .collect(),
        }
    }

    /// Handles `wire` from the authenticated participant `from`.
    pub fn on_message(
        &mut self,
        from: PublicKey,
        wire: Wire,
        rng: &mut impl CryptoRng,
    ) -> Vec<(To, Wire)> {
        if self.plan.index(&from).is_none() {
            return Vec::new();
        }
        let had_output = self.output.is_some();
        let mut out = self.handle(from, wire);
        // The last log may be this dealer's own (its last acknowledgement), or another's.
        self.maybe_finalize(rng);
        if !had_output {
            out.extend(self.confirmation());
        }
        out
    }

    fn handle(&mut self, from: PublicKey, wire: Wire) -> Vec<(To, Wire)> {
        match wire {
            Wire::Dealing {
                commitment,
                evaluation,
            } => self.on_dealing(from, commitment, evaluation),
            Wire::Ack(ack) => {
                self.receive_ack(from, ack);
                self.finalize_dealer()
            }
            Wire::Log(log) => self.on_log(*log),
            Wire::Confirm {
                signer,
                digest,
                signature,
            } => {
                self.on_confirm(signer, digest, signature);
                Vec::new()
            }
            Wire::Status {
                logs,
                confirmations,
            } => self.on_status(from, &logs, &confirmations),
        }
    }

    fn on_dealing(
        &mut self,
        dealer: PublicKey,
        commitment: DealerPubMsg<Variant>,
        evaluation: DealerPrivMsg,
    ) -> Vec<(To, Wire)> {
        let me = self.me.public_key();
        let reply = |ack: PlayerAck<PublicKey>, this: &mut Self| {
            if dealer == me {
                this.receive_ack(me.clone(), ack);
                this.finalize_dealer()
            } else {
                vec![(To::One(dealer.clone()), Wire::Ack(ack))]
            }
        };
        if let Some(ack) = self.my_acks.get(&dealer).cloned() {
            return reply(ack, self);
        }
        let Some(player) = self.player.as_mut() else {
            return Vec::new();
        };
        match player.dealer_message::<N3f1>(dealer.clone(), commitment.clone(), evaluation.clone())
        {
            Ok(Some(ack)) => {
                self.rejected.remove(&dealer);
                self.dealings
                    .insert(dealer.clone(), (commitment, evaluation));
                self.my_acks.insert(dealer.clone(), ack.clone());
                self.dirty = true;
                reply(ack, self)
            }
            Ok(None) => Vec::new(),
            Err(e) => {
                self.rejected.entry(dealer).or_insert_with(|| e.to_string());
                Vec::new()
            }
        }
    }

    fn receive_ack(&mut self, player: PublicKey, ack: PlayerAck<PublicKey>) {
        let Some(dealer) = self.dealer.as_mut() else {
            return;
        };
        if self.acks.contains_key(&player) {
            return;
        }
        if dealer
            .receive_player_ack(player.clone(), ack.clone())
            .is_ok()
        {
            self.acks.insert(player, ack);
            self.dirty = true;
        }
    }

    /// With every player's acknowledgement, the dealer signs its log and sends it to everyone.
    fn finalize_dealer(&mut self) -> Vec<(To, Wire)> {
        if self.acks.len() < self.plan.participants.len() {
            return Vec::new();
        }
        let Some(dealer) = self.dealer.take() else {
            return Vec::new();
        };
        let log = dealer.finalize::<N3f1>();
        self.logs.insert(self.me.public_key(), log.clone());
        self.dirty = true;
        vec![(To::All, Wire::Log(Box::new(log)))]
    }

    fn on_log(&mut self, log: SignedLog) -> Vec<(To, Wire)> {
        let Some((dealer, _)) = log.clone().check(&self.info) else {
            return Vec::new();
        };
        if self.plan.index(&dealer).is_none() {
            return Vec::new();
        }
        match self.logs.get(&dealer) {
            Some(held) if *held == log => {}
            Some(_) => {
                self.failure.get_or_insert_with(|| {
                    format!("dealer {dealer} signed two different logs (equivocation)")
                });
            }
            None => {
                self.logs.insert(dealer, log);
                self.dirty = true;
            }
        }
        Vec::new()
    }

    /// With every dealer's log: the output, this participant's share and its confirmation.
    fn maybe_finalize(&mut self, rng: &mut impl CryptoRng) {
        if self.output.is_some()
            || self.failure.is_some()
            || self.logs.len() < self.plan.participants.len()
        {
            return;
        }
        let Some(player) = self.player.take() else {
            return;
        };
        let mut logs = Logs::<Variant, PublicKey, N3f1>::new(self.info.clone());
        for log in self.logs.values() {
            let (dealer, log): (PublicKey, DealerLog<Variant, PublicKey>) = log
                .clone()
                .check(&self.info)
                .expect("checked when received");
            logs.record(dealer, log);
        }
        match player.finalize::<N3f1>(rng, logs, &Sequential) {
            Ok((output, share)) => {
                let digest = output_digest(&output);
                let signature = sign_confirmation(&self.me, &digest);
                self.confirmations.insert(self.index, (digest, signature));
                self.output = Some((output, share, digest));
                self.check_confirmations();
                self.dirty = true;
            }
            Err(e) => {
                self.failure = Some(format!("the logs of every dealer yield no output: {e}"));
            }
        }
    }

    fn confirmation(&self) -> Option<(To, Wire)> {
        let (_, _, digest) = self.output.as_ref()?;
        let (_, signature) = self.confirmations.get(&self.index)?;
        Some((
            To::All,
            Wire::Confirm {
                signer: self.index,
                digest: *digest,
                signature: signature.clone(),
            },
        ))
    }

    fn on_confirm(&mut self, signer: u16, digest: Digest, signature: ed25519::Signature) {
        let Some(key) = self.plan.participants.get(usize::from(signer)) else {
            return;
        };
        if self.confirmations.contains_key(&signer)
            || !key.verify(super::CONFIRM_NAMESPACE, digest.as_ref(), &signature)
        {
            return;
        }
        self.confirmations.insert(signer, (digest, signature));
        self.dirty = true;
        self.check_confirmations();
    }

    fn check_confirmations(&mut self) {
        let Some((_, _, mine)) = &self.output else {
            return;
        };
        if let Some((signer, _)) = self.confirmations.iter().find(|(_, (d, _))| d != mine) {
            self.failure.get_or_insert_with(|| {
                format!(
                    "participant {signer} ({}) confirmed a different output",
                    self.plan.participants[usize::from(*signer)]
                )
            });
        }
    }

    /// Sends `from` the logs and confirmations its status says it lacks.
    fn on_status(&self, from: PublicKey, logs: &[bool], confirmations: &[bool]) -> Vec<(To, Wire)> {
        let mut out = Vec::new();
        for (i, dealer) in self.plan.participants.iter().enumerate() {
            if !logs.get(i).copied().unwrap_or(true)
                && let Some(log) = self.logs.get(dealer)
            {
                out.push((To::One(from.clone()), Wire::Log(Box::new(log.clone()))));
            }
        }
        for (signer, (digest, signature)) in &self.confirmations {
            if !confirmations
                .get(usize::from(*signer))
                .copied()
                .unwrap_or(true)
            {
                out.push((
                    To::One(from.clone()),
                    Wire::Confirm {
                        signer: *signer,
                        digest: *digest,
                        signature: signature.clone(),
                    },
                ));
            }
        }
        out
    }

    /// The result, once every participant confirmed the same output.
    pub fn completed(&self) -> Option<Completed> {
        let (output, share, _) = self.output.as_ref()?;
        if self.failure.is_some() || self.confirmations.len() < self.plan.participants.len() {
            return None;
        }
        Some(Completed {
            output: output.clone(),
            share: share.clone(),
            transcript: Transcript {
                logs: self.logs.values().cloned().collect(),
                confirmations: self
                    .confirmations
                    .iter()
                    .map(|(i, (_, s))| (*i, s.clone()))
                    .collect(),
            },
        })
    }

    /// Whether `status` (a peer's) shows it holds every confirmation: it needs nothing more.
    pub fn satisfied(status: &[bool]) -> bool {
        status.iter().all(|b| *b)
    }

    /// What is missing, participant by participant, and why the ceremony stopped, for humans.
    pub fn report(&self) -> String {
        let mut lines = Vec::new();
        if let Some(failure) = &self.failure {
            lines.push(format!("failed: {failure}"));
        }
        let me = self.me.public_key();
        for (i, p) in self.plan.participants.iter().enumerate() {
            let mut missing = Vec::new();
            if let Some(why) = self.rejected.get(p) {
                missing.push(format!(
                    "its dealing to this participant failed its check ({why})"
                ));
            } else if !self.dealings.contains_key(p) && *p != me {
                missing.push("no dealing received from it".to_string());
            }
            if self.dealer.is_some() && !self.acks.contains_key(p) {
                missing.push("it has not acknowledged this participant's dealing".into());
            }
            if !self.logs.contains_key(p) {
                missing.push("no log from it".into());
            }
            if !self.confirmations.contains_key(&(i as u16)) {
                missing.push("no confirmation from it".into());
            }
            if !missing.is_empty() {
                let who = if *p == me { " (this participant)" } else { "" };
                lines.push(format!("participant {i} {p}{who}: {}", missing.join("; ")));
            }
        }
        if lines.is_empty() {
            "nothing is missing".into()
        } else {
            lines.join("\n")
        }
    }
}

/// What a participant stores to resume after a crash: its dealing seed, the dealings it
/// acknowledged (it must hold what it acknowledged), the acknowledgements of its dealing, the
/// logs and confirmations it holds. Holds secrets (the seed, the evaluations): keep it private.
///
/// Encoding: `seed (32) || dealings || acks || logs || confirmations`, each list a count (varint,
/// at most `n`) and its items: `(dealer, DealerPubMsg, DealerPrivMsg)`, `(player, PlayerAck)`,
/// `SignedDealerLog`, `(signer u16, digest, signature)`.
#[derive(Clone, Debug)]
pub struct Persisted {
    seed: [u8; 32],
    dealings: Vec<(PublicKey, DealerPubMsg<Variant>, DealerPrivMsg)>,
    acks: Vec<(PublicKey, PlayerAck<PublicKey>)>,
    logs: Vec<SignedLog>,
    confirmations: Vec<(u16, Digest, ed25519::Signature)>,
}

impl Write for Persisted {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.seed.write(buf);
        UInt(self.dealings.len() as u64).write(buf);
        for (d, p, e) in &self.dealings {
            d.write(buf);
            p.write(buf);
            e.write(buf);
        }
        UInt(self.acks.len() as u64).write(buf);
        for (p, a) in &self.acks {
            p.write(buf);
            a.write(buf);
        }
        UInt(self.logs.len() as u64).write(buf);
        for l in &self.logs {
            l.write(buf);
        }
        UInt(self.confirmations.len() as u64).write(buf);
        for (i, d, s) in &self.confirmations {
            i.write(buf);
            d.write(buf);
            s.write(buf);
        }
    }
}

impl EncodeSize for Persisted {
    fn encode_size(&self) -> usize {
        let count = |c: usize| UInt(c as u64).encode_size();
        32 + count(self.dealings.len())
            + self
                .dealings
                .iter()
                .map(|(d, p, e)| d.encode_size() + p.encode_size() + e.encode_size())
                .sum::<usize>()
            + count(self.acks.len())
            + self
                .acks
                .iter()
                .map(|(p, a)| p.encode_size() + a.encode_size())
                .sum::<usize>()
            + count(self.logs.len())
            + self.logs.iter().map(EncodeSize::encode_size).sum::<usize>()
            + count(self.confirmations.len())
            + self
                .confirmations
                .iter()
                .map(|(i, d, s)| i.encode_size() + d.encode_size() + s.encode_size())
                .sum::<usize>()
    }
}

impl Read for Persisted {
    /// The number of participants.
    type Cfg = NonZeroU32;

    fn read_cfg(buf: &mut impl commonware_codec::Buf, n: &NonZeroU32) -> Result<Self, CodecError> {
        let count = |buf: &mut _| -> Result<usize, CodecError> {
            let c = UInt::<u64>::read(buf)?.0 as usize;
            if c > n.get() as usize {
                return Err(CodecError::InvalidLength(c));
            }
            Ok(c)
        };
        let seed = <[u8; 32]>::read(buf)?;
        let dealings = (0..count(buf)?)
            .map(|_| {
                Ok((
                    PublicKey::read(buf)?,
                    DealerPubMsg::read_cfg(buf, n)?,
                    DealerPrivMsg::read(buf)?,
                ))
            })
            .collect::<Result<_, CodecError>>()?;
        let acks = (0..count(buf)?)
            .map(|_| Ok((PublicKey::read(buf)?, PlayerAck::read(buf)?)))
            .collect::<Result<_, CodecError>>()?;
        let logs = (0..count(buf)?)
            .map(|_| SignedLog::read_cfg(buf, n))
            .collect::<Result<_, _>>()?;
        let confirmations = (0..count(buf)?)
            .map(|_| {
                Ok((
                    u16::read(buf)?,
                    Digest::read(buf)?,
                    ed25519::Signature::read(buf)?,
                ))
            })
            .collect::<Result<_, CodecError>>()?;
        Ok(Self {
            seed,
            dealings,
            acks,
            logs,
            confirmations,
        })
    }
}
