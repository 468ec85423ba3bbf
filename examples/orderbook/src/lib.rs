//! Two toy rollups on Cortado and a cross-chain order book between them.
//!
//! - Rollup **A** (namespace 10) keeps balances of asset ALPHA; rollup **B** (namespace 20) of
//!   asset BETA. Each derives its state only from its own namespace on Cortado and the
//!   cross-rollup messages it receives, verified by the SDK (certificate + namespace proof).
//! - A user places an order on A ("give x ALPHA, want y BETA"): A escrows the ALPHA and sends
//!   B an `Offer` message. A user places an order on B ("give y BETA, want x ALPHA"): B escrows
//!   the BETA. B holds the book: it matches an offer from A with the oldest B order that gives
//!   exactly what the offer wants and wants exactly what it gives; on a match, B pays the
//!   escrowed BETA to the A user's account on B and sends A a `Fill`; A then pays the escrowed
//!   ALPHA to the B user's account on A.
//! - Messages are authenticated twice: Cortado proves they were posted in the source namespace
//!   (anyone can post there), and each envelope is signed by its sender's secp256k1 key; a
//!   destination reads only the stream of its peer's operator address, so it takes only
//!   messages its peer's state emitted, and nobody else can take the operator's sequence
//!   numbers (an envelope naming the operator without its signature is not a message).
//! - Total supply of each asset is conserved: balances plus escrow never change.
//!
//! Everything in a rollup's state follows from the chain in a fixed order: at each height, the
//! rollup's own transactions in block order, then the messages of that height in sequence order
//! (a message whose predecessor is not final yet waits for it). Replaying the chain gives the
//! same state, which the integration test checks.

use bytes::Bytes;
use cortado_types::{Address, ChainId, Envelope, Namespace, SenderKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

pub mod follow;

/// Namespace of rollup A.
pub const NS_A: Namespace = Namespace(10);
/// Namespace of rollup B.
pub const NS_B: Namespace = Namespace(20);
/// Users, each minted [`GENESIS_BALANCE`] on both rollups.
pub const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// Each user's starting balance of each rollup's asset.
pub const GENESIS_BALANCE: u64 = 1_000_000;
/// Prefix of an order transaction's payload (JSON follows).
pub const ORDER_PREFIX: &[u8] = b"ORD1";

/// An order, as a user posts it in a rollup's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Unique order id.
    pub id: String,
    /// The user placing it (must hold `give`).
    pub user: String,
    /// Amount of this rollup's asset given.
    pub give: u64,
    /// Amount of the other rollup's asset wanted.
    pub want: u64,
}

impl Order {
    /// The transaction payload of this order.
    pub fn payload(&self) -> Vec<u8> {
        let mut out = ORDER_PREFIX.to_vec();
        out.extend(serde_json::to_vec(self).expect("orders serialize"));
        out
    }

    /// Parses an order payload; `None` for anything else.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        serde_json::from_slice(payload.strip_prefix(ORDER_PREFIX)?).ok()
    }
}

/// What rollups tell each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A → B: an A order is escrowed; its user gives `give` ALPHA for `want` BETA.
    Offer(Order),
    /// B → A: the A order `order` matched; pay its escrow to `counterparty` on A.
    Fill {
        /// The A order id.
        order: String,
        /// The B user who receives the ALPHA.
        counterparty: String,
    },
}

/// An operator's message signing key, deterministic from a seed (example only: a real
/// operator keeps a secret key of its own).
pub fn operator_key(seed: u64) -> SenderKey {
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(b"orderbk1");
    secret[24..].copy_from_slice(&seed.to_be_bytes());
    SenderKey::from_bytes(&secret).expect("a valid secp256k1 scalar")
}

/// The message an envelope carries if `operator` signed it on chain `chain`; `None` for any
/// other sender, a signature that does not verify, or a body that is not a message.
pub fn open_message(chain: ChainId, operator: &Address, envelope: &Envelope) -> Option<Message> {
    if envelope.sender != *operator || envelope.verify_signature(chain).is_err() {
        return None;
    }
    serde_json::from_slice(&envelope.body).ok()
}

/// Which rollup a state is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// Rollup A: ALPHA, sends offers, receives fills.
    A,
    /// Rollup B: BETA, holds the book, receives offers, sends fills.
    B,
}

impl Side {
    /// Own namespace.
    pub fn namespace(self) -> Namespace {
        match self {
            Side::A => NS_A,
            Side::B => NS_B,
        }
    }

    /// The peer's namespace.
    pub fn peer(self) -> Namespace {
        match self {
            Side::A => NS_B,
            Side::B => NS_A,
        }
    }
}

/// A rollup's state, derived from the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Which rollup.
    pub side: Side,
    /// Balances of this rollup's asset.
    pub balances: BTreeMap<String, u64>,
    /// Escrowed orders by id (user, give, want).
    pub escrow: BTreeMap<String, Order>,
    /// B only: A offers not matched yet, oldest first.
    pub remote_offers: VecDeque<Order>,
    /// B only: own orders not matched yet, oldest first (their escrow is in `escrow`).
    pub book: VecDeque<String>,
    /// Orders refused (unknown user, insufficient balance, duplicate id).
    pub refused: Vec<String>,
    /// Matched trades, as (A order, B order).
    pub trades: Vec<(String, String)>,
    /// Messages to send, in sequence order (sequence = position).
    pub outbox: Vec<Message>,
    /// Next sequence number expected from the peer.
    pub inbox_next: u64,
    /// The last height applied.
    pub height: u64,
}

impl State {
    /// The genesis state of a rollup.
    pub fn genesis(side: Side) -> Self {
        Self {
            side,
            balances: USERS
                .iter()
                .map(|u| (u.to_string(), GENESIS_BALANCE))
                .collect(),
            escrow: BTreeMap::new(),
            remote_offers: VecDeque::new(),
            book: VecDeque::new(),
            refused: Vec::new(),
            trades: Vec::new(),
            outbox: Vec::new(),
            inbox_next: 0,
            height: 0,
        }
    }

    /// Total of this rollup's asset: balances plus escrow (constant).
    pub fn supply(&self) -> u64 {
        self.balances.values().sum::<u64>() + self.escrow.values().map(|o| o.give).sum::<u64>()
    }

    /// Applies one of this rollup's own transactions (payload); non-orders are ignored.
    pub fn apply_transaction(&mut self, payload: &[u8]) {
        let Some(order) = Order::parse(payload) else {
            return;
        };
        let balance = self.balances.get(&order.user).copied();
        if order.give == 0
            || order.want == 0
            || self.escrow.contains_key(&order.id)
            || self
                .trades
                .iter()
                .any(|(a, b)| *a == order.id || *b == order.id)
            || balance.is_none_or(|b| b < order.give)
        {
            self.refused.push(order.id);
            return;
        }
        *self.balances.get_mut(&order.user).expect("checked") -= order.give;
        self.escrow.insert(order.id.clone(), order.clone());
        match self.side {
            Side::A => self.outbox.push(Message::Offer(order)),
            Side::B => {
                self.book.push_back(order.id);
                self.match_book();
            }
        }
    }

    /// Applies a message from the peer (verified on Cortado and signed by its operator).
    pub fn apply_message(&mut self, message: Message) {
        match (self.side, message) {
            (Side::B, Message::Offer(offer)) => {
                self.remote_offers.push_back(offer);
                self.match_book();
            }
            (
                Side::A,
                Message::Fill {
                    order,
                    counterparty,
                },
            ) => {
                if let Some(escrowed) = self.escrow.remove(&order) {
                    *self.balances.entry(counterparty.clone()).or_insert(0) += escrowed.give;
                    self.trades.push((order, counterparty));
                }
            }
            // A message of the wrong kind for this side changes nothing.
            _ => {}
        }
    }

    /// B: matches remote offers with own orders, oldest first, exact reciprocal amounts.
    fn match_book(&mut self) {
        'offers: loop {
            for (i, offer) in self.remote_offers.iter().enumerate() {
                let found = self.book.iter().position(|id| {
                    let own = &self.escrow[id];
                    own.give == offer.want && own.want == offer.give
                });
                if let Some(j) = found {
                    let offer = self.remote_offers.remove(i).expect("index in range");
                    let own_id = self.book.remove(j).expect("index in range");
                    let own = self
                        .escrow
                        .remove(&own_id)
                        .expect("booked orders are escrowed");
                    *self.balances.entry(offer.user.clone()).or_insert(0) += own.give;
                    self.outbox.push(Message::Fill {
                        order: offer.id.clone(),
                        counterparty: own.user.clone(),
                    });
                    self.trades.push((offer.id, own_id));
                    continue 'offers;
                }
            }
            break;
        }
    }

    /// The envelope of outbox entry `sequence` on chain `chain`, signed by `key`.
    pub fn envelope(&self, chain: ChainId, key: &SenderKey, sequence: u64) -> Option<Envelope> {
        let message = self.outbox.get(sequence as usize)?;
        Some(Envelope::sign(
            chain,
            key,
            self.side.namespace(),
            self.side.peer(),
            sequence,
            Bytes::from_static(b"rollup"),
            Bytes::from(serde_json::to_vec(message).expect("messages serialize")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, user: &str, give: u64, want: u64) -> Vec<u8> {
        Order {
            id: id.into(),
            user: user.into(),
            give,
            want,
        }
        .payload()
    }

    #[test]
    fn a_trade_settles_on_both_sides_and_conserves_supply() {
        let (mut a, mut b) = (State::genesis(Side::A), State::genesis(Side::B));
        let (ka, kb) = (operator_key(1), operator_key(2));
        let chain = ChainId(5);
        a.apply_transaction(&order("a1", "alice", 100, 250));
        assert_eq!(a.balances["alice"], GENESIS_BALANCE - 100);
        b.apply_transaction(&order("b1", "bob", 250, 100));
        // A's offer reaches B (signed by A's operator).
        let offer = a.envelope(chain, &ka, 0).unwrap();
        b.apply_message(open_message(chain, &ka.address(), &offer).unwrap());
        assert_eq!(b.trades, vec![("a1".to_string(), "b1".to_string())]);
        assert_eq!(b.balances["alice"], GENESIS_BALANCE + 250);
        assert_eq!(b.balances["bob"], GENESIS_BALANCE - 250);
        // B's fill reaches A.
        let fill = b.envelope(chain, &kb, 0).unwrap();
        a.apply_message(open_message(chain, &kb.address(), &fill).unwrap());
        assert_eq!(a.balances["bob"], GENESIS_BALANCE + 100);
        for s in [&a, &b] {
            assert_eq!(s.supply(), GENESIS_BALANCE * USERS.len() as u64);
        }
        // Refusals: overdraft, repeated id.
        a.apply_transaction(&order("a2", "carol", GENESIS_BALANCE + 1, 1));
        a.apply_transaction(&order("a1", "alice", 1, 1));
        assert_eq!(a.refused, vec!["a2".to_string(), "a1".to_string()]);
    }

    #[test]
    fn messages_need_the_operator_signature() {
        let a = {
            let mut a = State::genesis(Side::A);
            a.apply_transaction(
                &Order {
                    id: "a1".into(),
                    user: "alice".into(),
                    give: 5,
                    want: 5,
                }
                .payload(),
            );
            a
        };
        let (operator, impostor) = (operator_key(1), operator_key(666));
        let chain = ChainId(5);
        let genuine = a.envelope(chain, &operator, 0).unwrap();
        assert!(open_message(chain, &operator.address(), &genuine).is_some());
        let forged = a.envelope(chain, &impostor, 0).unwrap();
        assert!(open_message(chain, &operator.address(), &forged).is_none());
        // The impostor naming the operator as sender: the signature is not the operator's.
        let squatted = Envelope {
            sender: operator.address(),
            ..forged
        };
        assert!(open_message(chain, &operator.address(), &squatted).is_none());
        let mut replayed = genuine.clone();
        replayed.sequence = 1;
        assert!(open_message(chain, &operator.address(), &replayed).is_none());
        assert!(open_message(ChainId(6), &operator.address(), &genuine).is_none());
    }
}
