//! Cross-rollup messages: an envelope carried as an ordinary transaction of its source
//! namespace.
//!
//! A transaction is a message when its payload decodes as an [`Envelope`] whose `source` is the
//! transaction's own namespace: a rollup can only send from its own namespace, so a message's
//! origin is proven by the source namespace's proof. Nodes index finalized messages by
//! destination; the destination rollup reads them in `sequence` order, each with the proof of
//! the block of its source namespace that holds it.
//!
//! `sequence` numbers are chosen by the sender, per `(source, destination)` pair, from 0; the
//! first finalized message with a given `(source, destination, sequence)` is the one that
//! counts (later ones are duplicates), and a missing number is a gap the reader sees.
//!
//! Encoding: `"CXM1" (4 bytes) || version (1) || source (u64 BE) || destination (u64 BE) ||
//! sequence (u64 BE) || varint len || sender || varint len || recipient || body (the rest)`.
//! Sender and recipient are opaque addresses of at most [`ADDRESS_BYTES_MAX`] bytes each.

use crate::{FORMAT_VERSION, Namespace, Transaction, read_version};
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write,
};

/// The four bytes every envelope starts with.
pub const MAGIC: &[u8; 4] = b"CXM1";

/// Largest sender or recipient address, in bytes.
pub const ADDRESS_BYTES_MAX: usize = 64;

/// A cross-rollup message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The sending rollup's namespace (the transaction's namespace).
    pub source: Namespace,
    /// The receiving rollup's namespace.
    pub destination: Namespace,
    /// Position in the `(source, destination)` stream, from 0.
    pub sequence: u64,
    /// The sender's address on the source rollup (opaque).
    pub sender: Bytes,
    /// The recipient's address on the destination rollup (opaque).
    pub recipient: Bytes,
    /// The message body (opaque to Cortado).
    pub body: Bytes,
}

/// Why a payload is not a message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The payload does not start with [`MAGIC`]: an ordinary transaction.
    #[error("not a message (no envelope magic)")]
    NotAMessage,
    /// The payload starts like an envelope but does not decode.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// The envelope names another source than the namespace it was posted in.
    #[error("envelope claims source namespace {claimed} but was posted in {posted}")]
    WrongSource {
        /// The envelope's `source`.
        claimed: Namespace,
        /// The transaction's namespace.
        posted: Namespace,
    },
}

impl Envelope {
    /// The transaction carrying this message (in its source namespace).
    pub fn to_transaction(&self) -> Transaction {
        Transaction::new(self.source, self.encode())
    }

    /// Decodes a payload as an envelope (without checking where it was posted).
    pub fn decode_payload(payload: &[u8]) -> Result<Self, EnvelopeError> {
        if payload.len() < MAGIC.len() || &payload[..MAGIC.len()] != MAGIC {
            return Err(EnvelopeError::NotAMessage);
        }
        let mut buf = Bytes::copy_from_slice(payload);
        Self::read_cfg(&mut buf, &()).map_err(|e| EnvelopeError::Malformed(e.to_string()))
    }

    /// The message a transaction carries, checked to come from its own namespace.
    pub fn from_transaction(namespace: Namespace, payload: &[u8]) -> Result<Self, EnvelopeError> {
        let envelope = Self::decode_payload(payload)?;
        if envelope.source != namespace {
            return Err(EnvelopeError::WrongSource {
                claimed: envelope.source,
                posted: namespace,
            });
        }
        Ok(envelope)
    }
}

fn write_bytes(bytes: &Bytes, buf: &mut impl BufMut) {
    bytes.len().write(buf);
    buf.put_slice(bytes);
}

fn read_address(buf: &mut impl Buf) -> Result<Bytes, CodecError> {
    let len = usize::read_cfg(buf, &RangeCfg::new(..=ADDRESS_BYTES_MAX))?;
    if buf.remaining() < len {
        return Err(CodecError::EndOfBuffer);
    }
    Ok(buf.copy_to_bytes(len))
}

impl Write for Envelope {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(MAGIC);
        FORMAT_VERSION.write(buf);
        self.source.get().write(buf);
        self.destination.get().write(buf);
        self.sequence.write(buf);
        write_bytes(&self.sender, buf);
        write_bytes(&self.recipient, buf);
        buf.put_slice(&self.body);
    }
}

impl EncodeSize for Envelope {
    fn encode_size(&self) -> usize {
        MAGIC.len()
            + 1
            + 24
            + self.sender.len().encode_size()
            + self.sender.len()
            + self.recipient.len().encode_size()
            + self.recipient.len()
            + self.body.len()
    }
}

impl Read for Envelope {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        if buf.remaining() < MAGIC.len() {
            return Err(CodecError::EndOfBuffer);
        }
        let mut magic = [0u8; 4];
        buf.copy_to_slice(&mut magic);
        if &magic != MAGIC {
            return Err(CodecError::Invalid("Envelope", "bad magic"));
        }
        read_version(buf, "Envelope")?;
        let source = Namespace(u64::read(buf)?);
        let destination = Namespace(u64::read(buf)?);
        let sequence = u64::read(buf)?;
        let sender = read_address(buf)?;
        let recipient = read_address(buf)?;
        let body = buf.copy_to_bytes(buf.remaining());
        Ok(Self {
            source,
            destination,
            sequence,
            sender,
            recipient,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            source: Namespace(10),
            destination: Namespace(20),
            sequence: 3,
            sender: Bytes::from_static(b"alice"),
            recipient: Bytes::from_static(b"bob"),
            body: Bytes::from_static(b"pay 5"),
        }
    }

    #[test]
    fn round_trip_and_source_check() {
        let e = sample();
        let tx = e.to_transaction();
        assert_eq!(tx.namespace, Namespace(10));
        assert_eq!(tx.payload.len(), e.encode_size());
        assert_eq!(
            Envelope::from_transaction(Namespace(10), &tx.payload),
            Ok(e.clone())
        );
        assert_eq!(
            Envelope::from_transaction(Namespace(11), &tx.payload),
            Err(EnvelopeError::WrongSource {
                claimed: Namespace(10),
                posted: Namespace(11)
            })
        );
        let empty = Envelope {
            body: Bytes::new(),
            sender: Bytes::new(),
            recipient: Bytes::new(),
            ..e
        };
        assert_eq!(Envelope::decode_payload(&empty.encode()), Ok(empty));
    }

    #[test]
    fn ordinary_and_malformed_payloads() {
        assert_eq!(
            Envelope::decode_payload(b"hello"),
            Err(EnvelopeError::NotAMessage)
        );
        assert_eq!(
            Envelope::decode_payload(b""),
            Err(EnvelopeError::NotAMessage)
        );
        let bytes = sample().encode();
        for cut in [5, 10, 29, 30] {
            assert!(
                matches!(
                    Envelope::decode_payload(&bytes[..cut]),
                    Err(EnvelopeError::Malformed(_))
                ),
                "cut at {cut}"
            );
        }
        let mut long = sample();
        long.sender = Bytes::from(vec![1u8; ADDRESS_BYTES_MAX + 1]);
        assert!(matches!(
            Envelope::decode_payload(&long.encode()),
            Err(EnvelopeError::Malformed(_))
        ));
        let mut version = bytes.to_vec();
        version[4] = 9;
        assert!(matches!(
            Envelope::decode_payload(&version),
            Err(EnvelopeError::Malformed(_))
        ));
    }
}
