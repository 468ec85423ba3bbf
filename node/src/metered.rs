//! Byte counters per p2p channel: wrappers around a channel's sender and receiver that count
//! the payload bytes sent (once per recipient the network accepted) and received, as
//! `p2p_sent_bytes_total{channel}` and `p2p_received_bytes_total{channel}`.

use commonware_actor::{Feedback, Unreliable};
use commonware_p2p::{CheckedSender, LimitedSender, Message, Receiver, Recipients};
use commonware_runtime::{
    IoBufs, Metrics,
    telemetry::metrics::{Counter, MetricsExt as _},
};
use std::time::SystemTime;

/// Wraps `(sender, receiver)` of channel `name` with byte counters registered under `context`.
pub fn channel<S, R>(
    context: &impl Metrics,
    name: &'static str,
    (sender, receiver): (S, R),
) -> (Sent<S>, Received<R>) {
    let context = context.child("p2p").with_attribute("channel", name);
    let sent = context.counter(
        "sent_bytes",
        "Payload bytes sent on a p2p channel (per recipient)",
    );
    let received = context.counter("received_bytes", "Payload bytes received on a p2p channel");
    (
        Sent {
            inner: sender,
            bytes: sent,
        },
        Received {
            inner: receiver,
            bytes: received,
        },
    )
}

/// A sender that counts bytes sent.
#[derive(Clone)]
pub struct Sent<S> {
    inner: S,
    bytes: Counter,
}

/// The checked half of [`Sent`].
pub struct CheckedSent<C> {
    inner: C,
    bytes: Counter,
}

impl<S: LimitedSender> LimitedSender for Sent<S> {
    type PublicKey = S::PublicKey;
    type Checked<'a>
        = CheckedSent<S::Checked<'a>>
    where
        Self: 'a;

    fn check(
        &mut self,
        recipients: Recipients<Self::PublicKey>,
    ) -> Result<Self::Checked<'_>, SystemTime> {
        let bytes = self.bytes.clone();
        self.inner
            .check(recipients)
            .map(|inner| CheckedSent { inner, bytes })
    }
}

impl<C: CheckedSender> CheckedSender for CheckedSent<C> {
    type PublicKey = C::PublicKey;

    fn recipients(&self) -> Vec<Self::PublicKey> {
        self.inner.recipients()
    }

    fn send(self, message: impl Into<IoBufs> + Send, priority: bool) -> Unreliable<Feedback> {
        let message: IoBufs = message.into();
        let len = message.len() as u64;
        let recipients = self.inner.recipients().len() as u64;
        let feedback = self.inner.send(message, priority);
        if feedback.accepted() {
            self.bytes.inc_by(len.saturating_mul(recipients));
        }
        feedback
    }
}

/// A receiver that counts bytes received.
#[derive(Debug)]
pub struct Received<R> {
    inner: R,
    bytes: Counter,
}

impl<R: Receiver> Receiver for Received<R> {
    type Error = R::Error;
    type PublicKey = R::PublicKey;

    async fn recv(&mut self) -> Result<Message<Self::PublicKey>, Self::Error> {
        let message = self.inner.recv().await?;
        self.bytes.inc_by(message.1.len() as u64);
        Ok(message)
    }

    fn capacity(&self) -> std::num::NonZeroUsize {
        self.inner.capacity()
    }
}
