//! Messages on the dispersal channel.
//!
//! `tag (1) || body`: tag 0 = a share (`block hash (32) || share`), tag 1 = a request for the
//! receiver's own share of a block (`block hash (32)`), tag 2 = the answer to a request for a
//! share the sender does not hold (pruned, or never received: `block hash (32)`), tag 3 = a
//! proposal: the leader's share for the receiver with the block's manifest (`block hash (32) ||
//! share || varint count || count × 32-byte transaction hashes`, the count at most
//! `txs_per_block_max`), tag 4 = "send me my share of your proposal" (`block hash (32)`). Shares are `cortado_coding::Share` in their canonical encoding, decoded
//! with `(Params, Limits)` bounds.

use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write,
};
use cortado_coding::{Params, Share};
use cortado_types::{Hash, Limits};

const TAG_SHARE: u8 = 0;
const TAG_REQUEST: u8 = 1;
const TAG_MISSING: u8 = 2;
const TAG_PROPOSAL: u8 = 3;
const TAG_REQUEST_PROPOSAL: u8 = 4;

/// A dispersal message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Wire {
    /// A share of a block.
    Share { block: Hash, share: Share },
    /// "Send me your share of this block."
    Request { block: Hash },
    /// "I do not hold my share of this block."
    Missing { block: Hash },
    /// The leader's share for the receiver, with what the leader says the block holds (the
    /// hashes of its transactions, in block order).
    Proposal {
        block: Hash,
        share: Share,
        manifest: Vec<Hash>,
    },
    /// "Send me my share of your proposal (it did not arrive)."
    RequestProposal { block: Hash },
}

/// Largest message the dispersal channel must admit.
pub fn message_bytes_max(params: Params, limits: &Limits) -> usize {
    1 + 32 + cortado_coding::share_bytes_max(params, limits) + 5 + 32 * limits.txs_per_block_max
}

impl Write for Wire {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Wire::Share { block, share } => {
                TAG_SHARE.write(buf);
                block.write(buf);
                share.write(buf);
            }
            Wire::Request { block } => {
                TAG_REQUEST.write(buf);
                block.write(buf);
            }
            Wire::Missing { block } => {
                TAG_MISSING.write(buf);
                block.write(buf);
            }
            Wire::RequestProposal { block } => {
                TAG_REQUEST_PROPOSAL.write(buf);
                block.write(buf);
            }
            Wire::Proposal {
                block,
                share,
                manifest,
            } => {
                TAG_PROPOSAL.write(buf);
                block.write(buf);
                share.write(buf);
                manifest.write(buf);
            }
        }
    }
}

impl EncodeSize for Wire {
    fn encode_size(&self) -> usize {
        match self {
            Wire::Share { share, .. } => 1 + 32 + share.encode_size(),
            Wire::Request { .. } | Wire::Missing { .. } | Wire::RequestProposal { .. } => 1 + 32,
            Wire::Proposal {
                share, manifest, ..
            } => 1 + 32 + share.encode_size() + manifest.encode_size(),
        }
    }
}

impl Read for Wire {
    type Cfg = (Params, Limits);
    fn read_cfg(buf: &mut impl Buf, cfg: &Self::Cfg) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            TAG_SHARE => Ok(Wire::Share {
                block: Hash::read(buf)?,
                share: Share::read_cfg(buf, cfg)?,
            }),
            TAG_REQUEST => Ok(Wire::Request {
                block: Hash::read(buf)?,
            }),
            TAG_MISSING => Ok(Wire::Missing {
                block: Hash::read(buf)?,
            }),
            TAG_REQUEST_PROPOSAL => Ok(Wire::RequestProposal {
                block: Hash::read(buf)?,
            }),
            TAG_PROPOSAL => Ok(Wire::Proposal {
                block: Hash::read(buf)?,
                share: Share::read_cfg(buf, cfg)?,
                manifest: Vec::<Hash>::read_cfg(
                    buf,
                    &(RangeCfg::new(..=cfg.1.txs_per_block_max), ()),
                )?,
            }),
            _ => Err(CodecError::Invalid("dispersal message", "unknown tag")),
        }
    }
}

impl Wire {
    pub(crate) fn to_bytes(&self) -> Bytes {
        self.encode()
    }

    /// The encoding of `Wire::Proposal { block, share, manifest }` from the manifest's own
    /// encoding (`manifest.encode()`): a leader sends one proposal per validator with the same
    /// manifest, up to `txs_per_block_max` hashes, and encodes it once.
    pub(crate) fn proposal_bytes(block: Hash, share: &Share, manifest: &[u8]) -> Bytes {
        let mut buf = Vec::with_capacity(1 + 32 + share.encode_size() + manifest.len());
        TAG_PROPOSAL.write(&mut buf);
        block.write(&mut buf);
        share.write(&mut buf);
        buf.put_slice(manifest);
        Bytes::from(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Decode;

    #[test]
    fn every_message_round_trips_and_unknown_tags_are_refused() {
        let params = Params::for_validators(4);
        let cfg = (params, Limits::default());
        let block = Hash([9; 32]);
        let share = Share {
            index: 2,
            chunks: Vec::new(),
        };
        for message in [
            Wire::Proposal {
                block,
                share: share.clone(),
                manifest: vec![Hash([1; 32]), Hash([2; 32])],
            },
            Wire::Share { block, share },
            Wire::Request { block },
            Wire::Missing { block },
            Wire::RequestProposal { block },
        ] {
            let bytes = message.to_bytes();
            if let Wire::Proposal {
                block,
                share,
                manifest,
            } = &message
            {
                assert_eq!(
                    Wire::proposal_bytes(*block, share, &manifest.encode()),
                    bytes
                );
            }
            assert_eq!(bytes.len(), message.encode_size());
            assert!(bytes.len() <= message_bytes_max(params, &cfg.1));
            assert_eq!(Wire::decode_cfg(bytes, &cfg).unwrap(), message);
        }
        let mut unknown = Wire::Missing { block }.to_bytes().to_vec();
        unknown[0] = 5;
        assert!(Wire::decode_cfg(Bytes::from(unknown), &cfg).is_err());
        assert!(
            Wire::decode_cfg(Bytes::from_static(&[2, 1, 2]), &cfg).is_err(),
            "truncated"
        );
        let too_long = Wire::Proposal {
            block,
            share: Share {
                index: 0,
                chunks: Vec::new(),
            },
            manifest: vec![Hash([1; 32]); 3],
        };
        let small = Limits {
            txs_per_block_max: 2,
            ..Limits::default()
        };
        assert!(
            Wire::decode_cfg(too_long.to_bytes(), &(params, small)).is_err(),
            "a manifest longer than a block can be is refused"
        );
    }
}
