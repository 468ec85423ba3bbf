//! The ceremony's p2p messages.
//!
//! Encoding: `version (1 byte, 1) || tag (1 byte) || body`:
//!
//! | tag | message | body |
//! |---|---|---|
//! | 0 | `Dealing` | `DealerPubMsg || DealerPrivMsg` (dealer → one player; p2p authenticates the dealer) |
//! | 1 | `Ack` | `PlayerAck` (player → dealer) |
//! | 2 | `Log` | `SignedDealerLog` (to anyone; signed by its dealer, so forwardable) |
//! | 3 | `Confirm` | `signer (u16 BE) || output digest (32) || ed25519 signature` (forwardable) |
//! | 4 | `Status` | `logs (bitmap) || confirmations (bitmap)`: whose logs and confirmations the sender holds |
//!
//! A bitmap is `byte length (varint) || bytes`, bit `i` (LSB first) for participant `i`, at most
//! `ceil(n / 8)` bytes. Every length is bounded by the number of participants, so a peer cannot
//! make a reader allocate more than the largest valid message.

use super::SignedLog;
use crate::{PublicKey, Variant};
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, Error as CodecError, Read, ReadExt, Write, varint::UInt};
use commonware_cryptography::{
    bls12381::dkg::feldman_desmedt::{DealerPrivMsg, DealerPubMsg, PlayerAck},
    ed25519,
    sha256::Digest,
};
use std::num::NonZeroU32;

/// The wire version.
pub const VERSION: u8 = 1;

/// One ceremony message.
#[derive(Clone, Debug)]
pub enum Wire {
    /// A dealer's commitment and the recipient's private evaluation.
    Dealing {
        /// The commitment (the same for every player).
        commitment: DealerPubMsg<Variant>,
        /// The recipient's evaluation.
        evaluation: DealerPrivMsg,
    },
    /// A player's acknowledgement of the recipient's dealing.
    Ack(PlayerAck<PublicKey>),
    /// A dealer's signed log.
    Log(Box<SignedLog>),
    /// A participant's confirmation of the output.
    Confirm {
        /// The confirming participant.
        signer: u16,
        /// The output digest it confirms.
        digest: Digest,
        /// Its signature over the digest.
        signature: ed25519::Signature,
    },
    /// What the sender holds.
    Status {
        /// Bit `i`: the sender holds dealer `i`'s log.
        logs: Vec<bool>,
        /// Bit `i`: the sender holds participant `i`'s confirmation.
        confirmations: Vec<bool>,
    },
}

fn write_bits(bits: &[bool], buf: &mut impl BufMut) {
    let bytes = bits.len().div_ceil(8);
    UInt(bytes as u64).write(buf);
    let mut out = vec![0u8; bytes];
    for (i, b) in bits.iter().enumerate() {
        if *b {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    buf.put_slice(&out);
}

fn read_bits(buf: &mut impl Buf, n: usize) -> Result<Vec<bool>, CodecError> {
    let bytes = UInt::<u64>::read(buf)?.0 as usize;
    if bytes > n.div_ceil(8) {
        return Err(CodecError::InvalidLength(bytes));
    }
    if buf.remaining() < bytes {
        return Err(CodecError::EndOfBuffer);
    }
    let mut raw = vec![0u8; bytes];
    buf.copy_to_slice(&mut raw);
    Ok((0..n)
        .map(|i| raw.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
        .collect())
}

impl Write for Wire {
    fn write(&self, buf: &mut impl BufMut) {
        VERSION.write(buf);
        match self {
            Wire::Dealing {
                commitment,
                evaluation,
            } => {
                0u8.write(buf);
                commitment.write(buf);
                evaluation.write(buf);
            }
            Wire::Ack(ack) => {
                1u8.write(buf);
                ack.write(buf);
            }
            Wire::Log(log) => {
                2u8.write(buf);
                log.write(buf);
            }
            Wire::Confirm {
                signer,
                digest,
                signature,
            } => {
                3u8.write(buf);
                signer.write(buf);
                digest.write(buf);
                signature.write(buf);
            }
            Wire::Status {
                logs,
                confirmations,
            } => {
                4u8.write(buf);
                write_bits(logs, buf);
                write_bits(confirmations, buf);
            }
        }
    }
}

impl EncodeSize for Wire {
    fn encode_size(&self) -> usize {
        let bits = |b: &Vec<bool>| {
            let bytes = b.len().div_ceil(8);
            UInt(bytes as u64).encode_size() + bytes
        };
        2 + match self {
            Wire::Dealing {
                commitment,
                evaluation,
            } => commitment.encode_size() + evaluation.encode_size(),
            Wire::Ack(ack) => ack.encode_size(),
            Wire::Log(log) => log.encode_size(),
            Wire::Confirm {
                signer,
                digest,
                signature,
            } => signer.encode_size() + digest.encode_size() + signature.encode_size(),
            Wire::Status {
                logs,
                confirmations,
            } => bits(logs) + bits(confirmations),
        }
    }
}

impl Read for Wire {
    /// The number of participants.
    type Cfg = NonZeroU32;

    fn read_cfg(buf: &mut impl Buf, n: &NonZeroU32) -> Result<Self, CodecError> {
        let version = u8::read(buf)?;
        if version != VERSION {
            return Err(CodecError::Invalid("ceremony message", "unknown version"));
        }
        match u8::read(buf)? {
            0 => Ok(Wire::Dealing {
                commitment: DealerPubMsg::read_cfg(buf, n)?,
                evaluation: DealerPrivMsg::read(buf)?,
            }),
            1 => Ok(Wire::Ack(PlayerAck::read(buf)?)),
            2 => Ok(Wire::Log(Box::new(SignedLog::read_cfg(buf, n)?))),
            3 => Ok(Wire::Confirm {
                signer: u16::read(buf)?,
                digest: Digest::read(buf)?,
                signature: ed25519::Signature::read(buf)?,
            }),
            4 => Ok(Wire::Status {
                logs: read_bits(buf, n.get() as usize)?,
                confirmations: read_bits(buf, n.get() as usize)?,
            }),
            _ => Err(CodecError::Invalid("ceremony message", "unknown tag")),
        }
    }
}

/// Largest encoded message for `n` participants (a signed log is the largest).
pub fn max_size(n: NonZeroU32) -> usize {
    2 + SignedLog::max_encode_size(n)
        .max(DealerPubMsg::<Variant>::max_encode_size(n) + 64)
        .max(256 + 2 * n.get() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode as _, Encode};

    #[test]
    fn status_round_trips_and_foreign_bytes_are_refused() {
        let n = NonZeroU32::new(10).unwrap();
        let status = Wire::Status {
            logs: (0..10).map(|i| i % 3 == 0).collect(),
            confirmations: vec![true; 10],
        };
        let bytes = status.encode();
        assert_eq!(bytes.len(), status.encode_size());
        let Wire::Status {
            logs,
            confirmations,
        } = Wire::decode_cfg(bytes, &n).unwrap()
        else {
            panic!("a status");
        };
        assert_eq!(logs, (0..10).map(|i| i % 3 == 0).collect::<Vec<_>>());
        assert_eq!(confirmations, vec![true; 10]);
        // A bitmap longer than the participants need, an unknown tag or version, a truncation.
        for bad in [
            vec![VERSION, 4, 3, 0, 0, 0, 0],
            vec![VERSION, 9],
            vec![2, 4, 0, 0],
            vec![VERSION, 4, 2, 0],
        ] {
            assert!(Wire::decode_cfg(bytes::Bytes::from(bad), &n).is_err());
        }
    }
}
