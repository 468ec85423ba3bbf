//! Messages on the block-sync channel.
//!
//! `tag (1) || body`: tag 0 = a request for a finalized block (`height (u64) || block hash (32)`),
//! tag 1 = the answer that the sender does not hold it (`block hash (32)`), tag 2 = the block
//! (`Block || evidence count (varint) || count × InvalidEncodingEvidence`, in their canonical
//! encodings, decoded within the chain's limits: at most `namespaces_per_block_max` items of
//! evidence, each with at most `k` chunks).

use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write,
};
use cortado_coding::{InvalidEncodingEvidence, Params};
use cortado_types::{Block, Hash, Limits};

const TAG_REQUEST: u8 = 0;
const TAG_NOT_HELD: u8 = 1;
const TAG_BLOCK: u8 = 2;

/// A block-sync message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SyncWire {
    /// "Send me the finalized block `block` at `height`."
    Request { height: u64, block: Hash },
    /// "I do not hold that block."
    NotHeld { block: Hash },
    /// A finalized block with the evidence of each of its invalidly encoded namespaces.
    Block {
        block: Box<Block>,
        evidence: Vec<InvalidEncodingEvidence>,
    },
}

/// Largest message the block-sync channel must admit: the largest block and, for the
/// namespaces it marks invalidly encoded, `k` chunks each (at most `k` shares' worth).
pub fn sync_message_bytes_max(params: Params, limits: &Limits) -> usize {
    // Per item: version, entry, and the varint count of its chunks.
    let entry = <cortado_types::NamespaceEntry as commonware_codec::FixedSize>::SIZE;
    let evidence_items = limits.namespaces_per_block_max * (1 + entry + 10);
    let chunks = params.needed() * cortado_coding::share_bytes_max(params, limits);
    1 + limits.block_encode_size_max() + 10 + evidence_items + chunks
}

impl Write for SyncWire {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            SyncWire::Request { height, block } => {
                TAG_REQUEST.write(buf);
                height.write(buf);
                block.write(buf);
            }
            SyncWire::NotHeld { block } => {
                TAG_NOT_HELD.write(buf);
                block.write(buf);
            }
            SyncWire::Block { block, evidence } => {
                TAG_BLOCK.write(buf);
                block.write(buf);
                evidence.write(buf);
            }
        }
    }
}

impl EncodeSize for SyncWire {
    fn encode_size(&self) -> usize {
        match self {
            SyncWire::Request { .. } => 1 + 8 + 32,
            SyncWire::NotHeld { .. } => 1 + 32,
            SyncWire::Block { block, evidence } => 1 + block.encode_size() + evidence.encode_size(),
        }
    }
}

impl Read for SyncWire {
    type Cfg = (Params, Limits);
    fn read_cfg(buf: &mut impl Buf, cfg: &Self::Cfg) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            TAG_REQUEST => Ok(SyncWire::Request {
                height: u64::read(buf)?,
                block: Hash::read(buf)?,
            }),
            TAG_NOT_HELD => Ok(SyncWire::NotHeld {
                block: Hash::read(buf)?,
            }),
            TAG_BLOCK => {
                let block = Box::new(Block::read_cfg(buf, &cfg.1)?);
                let range = RangeCfg::new(..=cfg.1.namespaces_per_block_max);
                let evidence = Vec::<InvalidEncodingEvidence>::read_cfg(buf, &(range, *cfg))?;
                Ok(SyncWire::Block { block, evidence })
            }
            _ => Err(CodecError::Invalid("block-sync message", "unknown tag")),
        }
    }
}

impl SyncWire {
    pub(crate) fn to_bytes(&self) -> Bytes {
        self.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Decode;
    use cortado_types::{BlockContext, ChainId, Transaction};

    #[test]
    fn every_message_round_trips_within_its_bound_and_unknown_tags_are_refused() {
        let limits = Limits::default();
        let params = Params::for_validators(4);
        let cfg = (params, limits);
        let ctx = BlockContext {
            chain_id: ChainId(1),
            height: 3,
            epoch: 0,
            view: 4,
            parent_view: 3,
            leader: [1; 32],
            timestamp_ms: 5,
            parent: Hash([2; 32]),
            history: Vec::new(),
        };
        let txs = vec![Transaction::new(7, Bytes::from_static(b"payload"))];
        let (block, _) = cortado_coding::build_block(params, ctx.clone(), txs, &limits).unwrap();
        let hash = block.hash();
        for message in [
            SyncWire::Request {
                height: 3,
                block: hash,
            },
            SyncWire::NotHeld { block: hash },
            SyncWire::Block {
                block: Box::new(block),
                evidence: Vec::new(),
            },
        ] {
            let bytes = message.to_bytes();
            assert_eq!(bytes.len(), message.encode_size());
            assert!(bytes.len() <= sync_message_bytes_max(params, &limits));
            assert_eq!(SyncWire::decode_cfg(bytes, &cfg).unwrap(), message);
        }
        let mut unknown = SyncWire::NotHeld { block: hash }.to_bytes().to_vec();
        unknown[0] = 3;
        assert!(SyncWire::decode_cfg(Bytes::from(unknown), &cfg).is_err());
        assert!(SyncWire::decode_cfg(Bytes::from_static(&[0, 1]), &cfg).is_err());
        // Far more evidence than a block may hold is refused before anything is allocated.
        let (empty, _) = cortado_coding::build_block(params, ctx, Vec::new(), &limits).unwrap();
        let mut many = SyncWire::Block {
            block: Box::new(empty),
            evidence: Vec::new(),
        }
        .to_bytes()
        .to_vec();
        assert_eq!(many.pop(), Some(0), "the evidence count comes last");
        many.extend_from_slice(&[0xff, 0xff, 0x03]);
        assert!(SyncWire::decode_cfg(Bytes::from(many), &cfg).is_err());
    }
}
