//! Cross-rollup messages: an envelope carried as an ordinary transaction of its source
//! namespace, signed by its sender.
//!
//! A transaction is a message when its payload decodes as an [`Envelope`] whose `source` is the
//! transaction's own namespace and whose signature recovers to its `sender`
//! ([`Envelope::from_transaction`]). A rollup can only send from its own namespace, so a
//! message's origin is proven by the source namespace's proof; its sender is proven by the
//! signature, so nobody without the sender's key can post in its name. Nodes index finalized
//! messages by destination; the destination rollup reads a sender's messages in `sequence`
//! order, each with the proof of the block of its source namespace that holds it.
//!
//! `sequence` numbers are chosen by the sender, per `(source, destination, sender)`, from 0;
//! the first finalized message with a given `(source, destination, sender, sequence)` is the
//! one that counts (later ones are duplicates), and a missing number is a gap the reader sees.
//! Only the sender can sign a number, so only the sender can occupy it; a replay of a
//! message is the same transaction (a duplicate), and the signature binds the chain, both
//! namespaces and the number, so it cannot be moved elsewhere.
//!
//! Encoding (version [`ENVELOPE_VERSION`]): `"CXM1" (4 bytes) || version (1) || source (u64 BE)
//! || destination (u64 BE) || sequence (u64 BE) || sender (20) || signature (65) || varint len
//! || recipient || body (the rest)`. The signature scheme is in [`sender`]. The recipient is an
//! opaque address of at most [`ADDRESS_BYTES_MAX`] bytes.

pub mod sender;

use crate::{ChainId, Namespace, Transaction};
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write,
};
use sender::{Address, SIGNATURE_BYTES, SenderKey, SenderSignature};

/// The four bytes every envelope starts with.
pub const MAGIC: &[u8; 4] = b"CXM1";

/// The envelope format version: 2 since senders sign (version 1 had unauthenticated senders).
pub const ENVELOPE_VERSION: u8 = 2;

/// Largest recipient address, in bytes.
pub const ADDRESS_BYTES_MAX: usize = 64;

/// Bytes of an envelope besides its recipient and body.
pub const ENVELOPE_OVERHEAD: usize = MAGIC.len() + 1 + 24 + 20 + SIGNATURE_BYTES;

/// A cross-rollup message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The sending rollup's namespace (the transaction's namespace).
    pub source: Namespace,
    /// The receiving rollup's namespace.
    pub destination: Namespace,
    /// Position in the sender's `(source, destination)` stream, from 0.
    pub sequence: u64,
    /// The sender: the address of the key that signed the message.
    pub sender: Address,
    /// The recipient's address on the destination rollup (opaque).
    pub recipient: Bytes,
    /// The message body (opaque to Cortado).
    pub body: Bytes,
    /// The sender's signature over [`Envelope::digest`].
    pub signature: SenderSignature,
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
    /// The signature is not the sender's over this message on this chain.
    #[error("envelope of sender {sender} is not signed by it on chain {chain}: {reason}")]
    BadSignature {
        /// The envelope's claimed sender.
        sender: Address,
        /// The chain the signature was checked for.
        chain: ChainId,
        /// What failed.
        reason: String,
    },
}

impl Envelope {
    /// A message signed by `key` (its address becomes the sender) for chain `chain`.
    pub fn sign(
        chain: ChainId,
        key: &SenderKey,
        source: Namespace,
        destination: Namespace,
        sequence: u64,
        recipient: Bytes,
        body: Bytes,
    ) -> Self {
        let mut envelope = Self {
            source,
            destination,
            sequence,
            sender: key.address(),
            recipient,
            body,
            signature: SenderSignature([0; SIGNATURE_BYTES]),
        };
        envelope.signature = key.sign_digest(&envelope.digest(chain));
        envelope
    }

    /// The EIP-712 digest the sender signs (see [`sender`]).
    pub fn digest(&self, chain: ChainId) -> [u8; 32] {
        sender::message_digest(
            chain,
            self.source.get(),
            self.destination.get(),
            self.sequence,
            &self.recipient,
            &self.body,
        )
    }

    /// Checks that the signature recovers to `sender` for chain `chain`.
    pub fn verify_signature(&self, chain: ChainId) -> Result<(), EnvelopeError> {
        let bad = |reason: String| EnvelopeError::BadSignature {
            sender: self.sender,
            chain,
            reason,
        };
        match sender::recover(&self.digest(chain), &self.signature) {
            Ok(signer) if signer == self.sender => Ok(()),
            Ok(signer) => Err(bad(format!("it recovers to {signer}"))),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    /// The transaction carrying this message (in its source namespace).
    pub fn to_transaction(&self) -> Transaction {
        Transaction::new(self.source, self.encode())
    }

    /// Decodes a payload as an envelope, checking neither where it was posted nor its
    /// signature (see [`Envelope::from_transaction`]).
    pub fn decode_payload(payload: &[u8]) -> Result<Self, EnvelopeError> {
        if payload.len() < MAGIC.len() || &payload[..MAGIC.len()] != MAGIC {
            return Err(EnvelopeError::NotAMessage);
        }
        let mut buf = Bytes::copy_from_slice(payload);
        Self::read_cfg(&mut buf, &()).map_err(|e| EnvelopeError::Malformed(e.to_string()))
    }

    /// The message a transaction of `namespace` on chain `chain` carries: it decodes, names
    /// `namespace` as its source, and is signed by its sender. Anything else is not a message.
    pub fn from_transaction(
        chain: ChainId,
        namespace: Namespace,
        payload: &[u8],
    ) -> Result<Self, EnvelopeError> {
        let envelope = Self::decode_payload(payload)?;
        if envelope.source != namespace {
            return Err(EnvelopeError::WrongSource {
                claimed: envelope.source,
                posted: namespace,
            });
        }
        envelope.verify_signature(chain)?;
        Ok(envelope)
    }
}

impl Write for Envelope {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(MAGIC);
        ENVELOPE_VERSION.write(buf);
        self.source.get().write(buf);
        self.destination.get().write(buf);
        self.sequence.write(buf);
        buf.put_slice(self.sender.as_bytes());
        buf.put_slice(&self.signature.0);
        self.recipient.len().write(buf);
        buf.put_slice(&self.recipient);
        buf.put_slice(&self.body);
    }
}

impl EncodeSize for Envelope {
    fn encode_size(&self) -> usize {
        ENVELOPE_OVERHEAD
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
        if u8::read(buf)? != ENVELOPE_VERSION {
            return Err(CodecError::Invalid(
                "Envelope",
                "unsupported envelope version (2 is current: senders sign)",
            ));
        }
        let source = Namespace(u64::read(buf)?);
        let destination = Namespace(u64::read(buf)?);
        let sequence = u64::read(buf)?;
        if buf.remaining() < 20 + SIGNATURE_BYTES {
            return Err(CodecError::EndOfBuffer);
        }
        let mut sender = [0u8; 20];
        buf.copy_to_slice(&mut sender);
        let mut signature = [0u8; SIGNATURE_BYTES];
        buf.copy_to_slice(&mut signature);
        let len = usize::read_cfg(buf, &RangeCfg::new(..=ADDRESS_BYTES_MAX))?;
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let recipient = buf.copy_to_bytes(len);
        let body = buf.copy_to_bytes(buf.remaining());
        Ok(Self {
            source,
            destination,
            sequence,
            sender: Address(sender),
            recipient,
            body,
            signature: SenderSignature(signature),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: ChainId = ChainId(7);

    fn alice() -> SenderKey {
        SenderKey::from_bytes(&[0xa1; 32]).unwrap()
    }

    fn sample() -> Envelope {
        Envelope::sign(
            CHAIN,
            &alice(),
            Namespace(10),
            Namespace(20),
            3,
            Bytes::from_static(b"bob"),
            Bytes::from_static(b"pay 5"),
        )
    }

    #[test]
    fn round_trip_source_and_signature_checks() {
        let e = sample();
        let tx = e.to_transaction();
        assert_eq!(tx.namespace, Namespace(10));
        assert_eq!(tx.payload.len(), e.encode_size());
        assert_eq!(
            Envelope::from_transaction(CHAIN, Namespace(10), &tx.payload),
            Ok(e.clone())
        );
        assert_eq!(
            Envelope::from_transaction(CHAIN, Namespace(11), &tx.payload),
            Err(EnvelopeError::WrongSource {
                claimed: Namespace(10),
                posted: Namespace(11)
            })
        );
        // Another chain: the signature does not carry over.
        assert!(matches!(
            Envelope::from_transaction(ChainId(8), Namespace(10), &tx.payload),
            Err(EnvelopeError::BadSignature { .. })
        ));
        let empty = Envelope::sign(
            CHAIN,
            &alice(),
            Namespace(1),
            Namespace(2),
            0,
            Bytes::new(),
            Bytes::new(),
        );
        assert_eq!(Envelope::decode_payload(&empty.encode()), Ok(empty.clone()));
        assert_eq!(empty.verify_signature(CHAIN), Ok(()));
    }

    /// A stranger cannot occupy alice's number: naming her as sender with any other content or
    /// number breaks the signature, and signing itself makes the stranger the sender.
    #[test]
    fn nobody_else_can_sign_for_a_sender() {
        let genuine = sample();
        let mallory = SenderKey::from_bytes(&[0x66; 32]).unwrap();
        let own = Envelope::sign(
            CHAIN,
            &mallory,
            genuine.source,
            genuine.destination,
            genuine.sequence,
            genuine.recipient.clone(),
            Bytes::from_static(b"pay 500"),
        );
        assert_eq!(own.verify_signature(CHAIN), Ok(()));
        assert_ne!(own.sender, genuine.sender);
        let squatted = Envelope {
            sender: genuine.sender,
            ..own
        };
        assert!(matches!(
            squatted.verify_signature(CHAIN),
            Err(EnvelopeError::BadSignature { .. })
        ));
        for tampered in [
            Envelope {
                sequence: 4,
                ..genuine.clone()
            },
            Envelope {
                body: Bytes::from_static(b"pay 6"),
                ..genuine.clone()
            },
            Envelope {
                recipient: Bytes::from_static(b"eve"),
                ..genuine.clone()
            },
            Envelope {
                destination: Namespace(21),
                ..genuine.clone()
            },
        ] {
            assert!(tampered.verify_signature(CHAIN).is_err(), "{tampered:?}");
        }
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
        for cut in [5, 10, 29, 30, 60, ENVELOPE_OVERHEAD] {
            assert!(
                matches!(
                    Envelope::decode_payload(&bytes[..cut]),
                    Err(EnvelopeError::Malformed(_))
                ),
                "cut at {cut}"
            );
        }
        let mut long = sample();
        long.recipient = Bytes::from(vec![1u8; ADDRESS_BYTES_MAX + 1]);
        assert!(matches!(
            Envelope::decode_payload(&long.encode()),
            Err(EnvelopeError::Malformed(_))
        ));
        for version in [1, 9] {
            let mut old = bytes.to_vec();
            old[4] = version;
            assert!(matches!(
                Envelope::decode_payload(&old),
                Err(EnvelopeError::Malformed(_))
            ));
        }
    }
}
