//! Gossip wire format and the outgoing batch.
//!
//! A gossip message starts with a tag byte. Tag 0: a transaction batch, a `Vec<Transaction>` in
//! commonware-codec (a varint count, then each transaction in its canonical encoding). Tag 3:
//! the same, offered again by its owner because it is still pending there. Tags 1
//! and 2 were proposal hints (any peer could mark transactions in flight); they are refused:
//! what a proposal holds now travels with the leader's shares (`cortado-dispersal`). Batches
//! are decoded with the count bounded by how many of the smallest transactions fit in
//! `max_message_size` and each payload bounded by `tx_bytes_max`, so a peer cannot make this
//! node allocate more than the message it already received. Unknown tags are errors.

use bytes::Bytes;
use commonware_codec::{Decode, EncodeSize, Error as CodecError, Input, RangeCfg, ReadExt, Write};
use cortado_types::Transaction;
use std::time::{Duration, SystemTime};

/// Bytes a gossip message adds around one transaction payload: the tag (1), the count prefix
/// (5), and the transaction's version (1), namespace (8) and payload length prefix (5).
pub const GOSSIP_OVERHEAD: usize = COUNT_PREFIX_MAX + 1 + 8 + 5;

/// Tag and largest varint prefix of a `usize` count.
const COUNT_PREFIX_MAX: usize = 1 + 5;

const TAG_TXS: u8 = 0;
const TAG_REOFFER: u8 = 3;

/// Smallest encoded transaction: version, namespace, a one-byte length of an empty payload.
const TX_ENCODED_MIN: usize = 1 + 8 + 1;

/// Encodes a batch.
pub(crate) fn encode(txs: &[Transaction]) -> Bytes {
    encode_tagged(TAG_TXS, txs)
}

/// Encodes a batch its owner offers again.
pub(crate) fn encode_reoffer(txs: &[Transaction]) -> Bytes {
    encode_tagged(TAG_REOFFER, txs)
}

fn encode_tagged(tag: u8, txs: &[Transaction]) -> Bytes {
    let size = 1 + txs.len().encode_size() + txs.iter().map(EncodeSize::encode_size).sum::<usize>();
    let mut buf = Vec::with_capacity(size);
    tag.write(&mut buf);
    txs.len().write(&mut buf);
    for tx in txs {
        tx.write(&mut buf);
    }
    assert_eq!(buf.len(), size, "gossip batch encode size mismatch");
    Bytes::from(buf)
}

/// Decodes a message received from a peer.
#[cfg(test)]
pub(crate) fn decode<I: Input>(
    message: I,
    tx_bytes_max: usize,
    max_message_size: usize,
) -> Result<Vec<Transaction>, CodecError> {
    decode_batch(message, tx_bytes_max, max_message_size).map(|(txs, _)| txs)
}

/// Decodes a message received from a peer: the transactions, and whether their owner offers
/// them again.
pub(crate) fn decode_batch<I: Input>(
    message: I,
    tx_bytes_max: usize,
    max_message_size: usize,
) -> Result<(Vec<Transaction>, bool), CodecError> {
    let mut buf: I::Buf = message.into();
    match u8::read(&mut buf)? {
        tag @ (TAG_TXS | TAG_REOFFER) => {
            let count = RangeCfg::new(1..=max_message_size / TX_ENCODED_MIN);
            Vec::<Transaction>::decode_cfg(buf, &(count, tx_bytes_max))
                .map(|txs| (txs, tag == TAG_REOFFER))
        }
        1 | 2 => Err(CodecError::Invalid(
            "gossip message",
            "proposal hints are no longer accepted",
        )),
        _ => Err(CodecError::Invalid("gossip message", "unknown tag")),
    }
}

/// Local transactions waiting to be gossiped together.
pub(crate) struct Outbox {
    txs: Vec<Transaction>,
    /// Sum of the encoded sizes of `txs`.
    size: usize,
    batch_bytes_max: usize,
    interval: Duration,
    deadline: Option<SystemTime>,
}

impl Outbox {
    /// Creates an empty outbox whose batches encode to at most `batch_bytes_max` bytes.
    pub fn new(batch_bytes_max: usize, interval: Duration) -> Self {
        Self {
            txs: Vec::new(),
            size: 0,
            batch_bytes_max,
            interval,
            deadline: None,
        }
    }

    /// Adds `tx`. If it would not fit in the waiting batch, returns that batch (to be sent now)
    /// and starts a new one with `tx`.
    pub fn push(&mut self, tx: Transaction, now: SystemTime) -> Option<Vec<Transaction>> {
        let size = tx.encode_size();
        assert!(
            COUNT_PREFIX_MAX + size <= self.batch_bytes_max,
            "a transaction larger than gossip_batch_bytes_max allows reached the outbox"
        );
        let full =
            (COUNT_PREFIX_MAX + self.size + size > self.batch_bytes_max).then(|| self.take());
        if self.txs.is_empty() {
            self.deadline = Some(now + self.interval);
        }
        self.txs.push(tx);
        self.size += size;
        full
    }

    /// True if no further transaction could join the waiting batch.
    pub fn is_full(&self) -> bool {
        COUNT_PREFIX_MAX + self.size + TX_ENCODED_MIN > self.batch_bytes_max
    }

    /// When the waiting batch must be sent, if there is one.
    pub fn deadline(&self) -> Option<SystemTime> {
        self.deadline
    }

    /// Takes the waiting batch.
    pub fn take(&mut self) -> Vec<Transaction> {
        self.size = 0;
        self.deadline = None;
        std::mem::take(&mut self.txs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Encode;

    const MIB: usize = 1 << 20;

    #[test]
    fn round_trip() {
        let txs = vec![
            Transaction::new(1, vec![1u8; 10]),
            Transaction::new(2, Vec::<u8>::new()),
        ];
        let encoded = encode(&txs);
        assert_eq!(encoded[0], TAG_TXS);
        assert_eq!(encoded[1..], txs.encode()[..]);
        assert_eq!(decode(encoded, 10, MIB).unwrap(), txs);
        assert_eq!(
            decode_batch(encode_reoffer(&txs), 10, MIB).unwrap(),
            (txs.clone(), true)
        );
        let mut hint = vec![2u8];
        hint.extend_from_slice(&[9; 32]);
        hint.extend_from_slice(&[1]);
        hint.extend_from_slice(&[1; 32]);
        assert!(
            decode(Bytes::from(hint), 10, MIB).is_err(),
            "a proposal hint (tag 2) is refused"
        );
        assert!(
            decode(Bytes::from_static(&[1, 1, 0]), 10, MIB).is_err(),
            "the older hint tag is refused"
        );
        assert!(
            decode(Bytes::from_static(&[9, 0]), 10, MIB).is_err(),
            "unknown tag"
        );
    }

    #[test]
    fn a_tiny_message_claiming_a_huge_count_is_refused_without_reserving_it() {
        // Tag, then a varint count of 200,000 transactions, in 5 bytes (issue 13 item 7: the
        // codec must not reserve room for what the message cannot hold).
        let mut message = vec![TAG_TXS];
        let mut count = 200_000u32;
        while count >= 0x80 {
            message.push((count as u8) | 0x80);
            count >>= 7;
        }
        message.push(count as u8);
        message.push(1);
        assert!(message.len() <= 7);
        assert!(decode(Bytes::from(message), 10, 2 * MIB).is_err());
    }

    #[test]
    fn malformed_and_oversize_are_errors() {
        let txs = vec![Transaction::new(1, vec![1u8; 11])];
        // Payload above tx_bytes_max.
        assert!(decode(encode(&txs), 10, MIB).is_err());
        // Garbage, truncation, trailing bytes, an empty batch, a huge count.
        assert!(decode(Bytes::from_static(&[0xff]), 10, MIB).is_err());
        let encoded = encode(&txs);
        assert!(decode(encoded.slice(..encoded.len() - 1), 11, MIB).is_err());
        let mut extra = encoded.to_vec();
        extra.push(0);
        assert!(decode(extra, 11, MIB).is_err());
        assert!(decode(encode(&[]), 11, MIB).is_err());
        assert!(decode(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f]), 11, MIB).is_err());
        // A wrong format version inside the batch.
        let mut bad_version = encoded.to_vec();
        bad_version[1] = 9;
        assert!(decode(bad_version, 11, MIB).is_err());
    }

    #[test]
    fn largest_transaction_fits_with_overhead() {
        let tx_bytes_max = 1000;
        let tx = Transaction::new(u64::MAX, vec![0u8; tx_bytes_max]);
        let encoded = encode(std::slice::from_ref(&tx));
        assert!(encoded.len() <= tx_bytes_max + GOSSIP_OVERHEAD);
        let mut outbox = Outbox::new(tx_bytes_max + GOSSIP_OVERHEAD, Duration::from_millis(5));
        assert!(outbox.push(tx, SystemTime::UNIX_EPOCH).is_none());
        assert!(outbox.is_full());
    }

    #[test]
    fn outbox_batches_by_size_and_deadline() {
        let now = SystemTime::UNIX_EPOCH;
        let interval = Duration::from_millis(5);
        let tx = Transaction::new(1, vec![0u8; 40]); // 51 bytes encoded
        let mut outbox = Outbox::new(COUNT_PREFIX_MAX + 2 * 51, interval);
        assert_eq!(outbox.deadline(), None);
        assert!(outbox.push(tx.clone(), now).is_none());
        assert_eq!(outbox.deadline(), Some(now + interval));
        // A later push does not move the deadline.
        assert!(outbox.push(tx.clone(), now + interval / 2).is_none());
        assert_eq!(outbox.deadline(), Some(now + interval));
        assert!(outbox.is_full());
        // The third does not fit: the first two come out, the third starts a new batch.
        let later = now + interval;
        let batch = outbox.push(tx.clone(), later).unwrap();
        assert_eq!(batch.len(), 2);
        assert!(encode(&batch).len() <= COUNT_PREFIX_MAX + 2 * 51);
        assert_eq!(outbox.deadline(), Some(later + interval));
        assert_eq!(outbox.take(), vec![tx]);
        assert_eq!(outbox.deadline(), None);
    }
}
