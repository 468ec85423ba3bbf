//! What a destination rollup's state machine uses to take each verified cross-rollup message
//! exactly once, in sequence order per source.
//!
//! The receiver keeps, per source namespace, the next sequence number it expects. A message
//! with that number is taken (and the expectation moves on); one below it was already taken (a
//! duplicate, e.g. re-read after a restart or a resumed stream); one above it leaves a gap that
//! must be filled first. Its state is a small map, which the rollup stores with its own state so
//! that a restart resumes where it was.

use cortado_types::{Envelope, Namespace};
use std::collections::BTreeMap;

/// What to do with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The next message of its source: apply it.
    Take,
    /// Already taken: ignore it.
    Duplicate,
    /// Sequence numbers `expected..sequence` of this source are missing: wait for them.
    Gap {
        /// The sequence number expected next.
        expected: u64,
    },
    /// The message is for another destination.
    NotForUs,
}

/// The exactly-once, in-order filter of one destination namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receiver {
    destination: Namespace,
    next: BTreeMap<Namespace, u64>,
}

impl Receiver {
    /// A receiver for `destination` that has taken nothing.
    pub fn new(destination: Namespace) -> Self {
        Self {
            destination,
            next: BTreeMap::new(),
        }
    }

    /// A receiver resuming from saved state: `(source, next expected sequence)` pairs.
    pub fn resume(
        destination: Namespace,
        next: impl IntoIterator<Item = (Namespace, u64)>,
    ) -> Self {
        Self {
            destination,
            next: next.into_iter().collect(),
        }
    }

    /// The state to save: per source, the next sequence number expected.
    pub fn state(&self) -> impl Iterator<Item = (Namespace, u64)> + '_ {
        self.next.iter().map(|(s, n)| (*s, *n))
    }

    /// The next sequence number expected from `source`.
    pub fn expected(&self, source: Namespace) -> u64 {
        self.next.get(&source).copied().unwrap_or(0)
    }

    /// Decides on a (verified) message and, if it is taken, records it.
    pub fn admit(&mut self, envelope: &Envelope) -> Admission {
        if envelope.destination != self.destination {
            return Admission::NotForUs;
        }
        let expected = self.expected(envelope.source);
        match envelope.sequence.cmp(&expected) {
            std::cmp::Ordering::Less => Admission::Duplicate,
            std::cmp::Ordering::Greater => Admission::Gap { expected },
            std::cmp::Ordering::Equal => {
                self.next
                    .insert(envelope.source, expected.saturating_add(1));
                Admission::Take
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn message(source: u64, destination: u64, sequence: u64) -> Envelope {
        let key = cortado_types::SenderKey::from_bytes(&[1; 32]).unwrap();
        Envelope::sign(
            cortado_types::ChainId(1),
            &key,
            Namespace(source),
            Namespace(destination),
            sequence,
            Bytes::new(),
            Bytes::new(),
        )
    }

    #[test]
    fn exactly_once_in_order_per_source() {
        let mut r = Receiver::new(Namespace(20));
        assert_eq!(r.admit(&message(10, 20, 0)), Admission::Take);
        assert_eq!(r.admit(&message(10, 20, 0)), Admission::Duplicate);
        assert_eq!(r.admit(&message(10, 20, 2)), Admission::Gap { expected: 1 });
        assert_eq!(
            r.admit(&message(11, 20, 0)),
            Admission::Take,
            "sources are independent"
        );
        assert_eq!(r.admit(&message(10, 20, 1)), Admission::Take);
        assert_eq!(r.admit(&message(10, 20, 2)), Admission::Take);
        assert_eq!(r.admit(&message(10, 21, 3)), Admission::NotForUs);
        let saved: Vec<_> = r.state().collect();
        let mut back = Receiver::resume(Namespace(20), saved);
        assert_eq!(back, r);
        assert_eq!(back.admit(&message(10, 20, 2)), Admission::Duplicate);
        assert_eq!(back.expected(Namespace(10)), 3);
    }
}
