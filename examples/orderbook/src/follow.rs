//! Deriving a rollup's state from Cortado, height by height, through the verifying SDK; and,
//! for the rollup's operator, posting the messages its state emits.

use crate::{Message, Order, Side, State, open_message};
use cortado_client::{
    Trust,
    sdk::{Client, NamespaceContent, Options, SdkError, VerifiedMessage},
};
use cortado_types::{Address, ChainId, SenderKey};
use std::collections::BTreeMap;

/// A rollup follower: its state and what it needs to move it forward.
pub struct Follower {
    client: Client,
    /// The derived state.
    pub state: State,
    /// Verified messages from the peer not applied yet, by sequence.
    buffer: BTreeMap<u64, VerifiedMessage>,
    /// The chain the messages are signed for.
    chain: ChainId,
    /// The peer operator's address: the only sender whose messages this rollup reads.
    peer: Address,
    /// This rollup's operator key, if this follower posts the messages its state emits.
    operator: Option<SenderKey>,
    /// Outbox entries posted so far.
    posted: u64,
}

impl Follower {
    /// A follower of `side` reading `url`, from genesis.
    pub fn new(
        side: Side,
        trust: Trust,
        url: String,
        peer: Address,
        operator: Option<SenderKey>,
    ) -> Self {
        Self {
            chain: trust.chain_id,
            client: Client::new(trust, vec![url], Options::default()),
            state: State::genesis(side),
            buffer: BTreeMap::new(),
            peer,
            operator,
            posted: 0,
        }
    }

    /// Applies the next height if it is final; returns whether it did.
    pub async fn step(&mut self) -> Result<bool, SdkError> {
        let side = self.state.side;
        let height = self.state.height + 1;
        match self.client.header(height).await {
            Ok(_) => {}
            Err(SdkError::Refused { status: 404, .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
        // The rollup's own transactions, proven complete (inclusion or absence).
        for block in self
            .client
            .namespace_range(side.namespace(), height, height)
            .await?
        {
            if let NamespaceContent::Transactions(payloads) = block.content {
                for payload in &payloads {
                    self.state.apply_transaction(payload);
                }
            }
        }
        // Every message finalized at or below `height` is indexed now (the node indexes a
        // block before it serves its header): fetch the new ones.
        loop {
            // From the first sequence number not buffered (a gap is fetched again: the
            // missing message may have become final since).
            let mut from = self.state.inbox_next;
            while self.buffer.contains_key(&from) {
                from += 1;
            }
            // Only the peer operator's messages: sequence numbers count per sender, and the
            // SDK checks each message's signature, so no one else posting in the peer's
            // namespace can take the operator's numbers.
            let (page, full) = self
                .client
                .inbox_page(side.namespace(), side.peer(), &self.peer, from)
                .await?;
            let fetched = page.len();
            for message in page {
                self.buffer.insert(message.envelope.sequence, message);
            }
            if !full || fetched == 0 {
                break;
            }
        }
        // Then the messages of this height and below, in sequence order, as far as contiguous.
        while let Some(message) = self.buffer.get(&self.state.inbox_next) {
            if message.height > height {
                break;
            }
            let message = self
                .buffer
                .remove(&self.state.inbox_next)
                .expect("just found");
            // Every message of the page is the operator's own (signed by it, verified by the
            // SDK), so its number is consumed even if its body is not a message this rollup
            // understands: a stranger cannot make a real message be skipped.
            self.state.inbox_next += 1;
            if let Some(opened) = open_message(self.chain, &self.peer, &message.envelope) {
                self.state.apply_message(opened);
            }
        }
        self.state.height = height;
        Ok(true)
    }

    /// Posts the messages the state emitted since the last call (operator only).
    pub async fn post(&mut self) -> Result<(), SdkError> {
        let Some(key) = &self.operator else {
            return Ok(());
        };
        while (self.posted as usize) < self.state.outbox.len() {
            let envelope = self
                .state
                .envelope(self.chain, key, self.posted)
                .expect("outbox entry exists");
            self.client.send_message(&envelope).await?;
            self.posted += 1;
        }
        Ok(())
    }

    /// Applies every final height up to `to` (and posts, if operator).
    pub async fn catch_up(&mut self, to: u64) -> Result<(), SdkError> {
        while self.state.height < to {
            if !self.step().await? {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            self.post().await?;
        }
        Ok(())
    }

    /// The operator key's address.
    pub fn operator_address(&self) -> Option<Address> {
        self.operator.as_ref().map(|k| k.address())
    }
}

/// The orders of a scripted session: `pairs` matching pairs, an A order then its B
/// counterpart, with varying users and amounts, and every fifth pair preceded by an order that
/// cannot be paid (refused).
pub fn session(pairs: u64) -> Vec<(Side, Order)> {
    let users = crate::USERS;
    let mut orders = Vec::new();
    for i in 0..pairs {
        let (x, y) = (10 + i * 7 % 90, 20 + i * 13 % 170);
        let a_user = users[(i % 4) as usize];
        let b_user = users[((i + 1) % 4) as usize];
        if i % 5 == 0 {
            orders.push((
                Side::A,
                Order {
                    id: format!("A-overdraft-{i}"),
                    user: a_user.into(),
                    give: crate::GENESIS_BALANCE * 10,
                    want: 1,
                },
            ));
        }
        orders.push((
            Side::A,
            Order {
                id: format!("A-{i}"),
                user: a_user.into(),
                give: x,
                want: y,
            },
        ));
        orders.push((
            Side::B,
            Order {
                id: format!("B-{i}"),
                user: b_user.into(),
                give: y,
                want: x,
            },
        ));
    }
    orders
}

/// Submits `orders` through `client`; returns their transaction hashes.
pub async fn place(
    client: &Client,
    orders: &[(Side, Order)],
) -> Result<Vec<cortado_types::Hash>, SdkError> {
    let mut hashes = Vec::with_capacity(orders.len());
    for (side, order) in orders {
        hashes.push(client.submit(side.namespace(), &order.payload()).await?);
    }
    Ok(hashes)
}

/// A message on the wire, for display.
pub fn describe(message: &Message) -> String {
    match message {
        Message::Offer(o) => format!("offer {} by {}: {} for {}", o.id, o.user, o.give, o.want),
        Message::Fill {
            order,
            counterparty,
        } => format!("fill {order} to {counterparty}"),
    }
}
