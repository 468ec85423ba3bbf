//! The block as consensus and marshal see it: the header only.
//!
//! Consensus, marshal's ordering, storage and backfill move headers; the transactions travel as
//! erasure-coded shares (`cortado-dispersal`). [`ChainBlock`] wraps a [`cortado_types::Header`]
//! and implements the commonware traits. Its digest is the header hash; the header embeds the
//! consensus context it was proposed in (epoch, view, leader, parent view and parent hash), and
//! its namespace table commits to every namespace's coded data.

use crate::{Context, Digest, PublicKey};
use bytes::BufMut;
use commonware_codec::{Buf, DecodeExt, EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::{
    BoundedBlock, CertifiableBlock, Heightable,
    types::{Epoch, Height, Round, View},
};
use commonware_cryptography::Digestible;
use cortado_types::{Hash, Header, Limits, NamespaceEntry};
use std::sync::Arc;

/// A Cortado header, with its hash and proposer key decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBlock {
    header: Arc<Header>,
    hash: Hash,
    leader: PublicKey,
}

impl ChainBlock {
    /// Wraps a header; fails if its leader is not a valid ed25519 key or its payload commitment
    /// is not its table's root.
    pub fn new(header: Header) -> Result<Self, CodecError> {
        let leader = PublicKey::decode(header.leader.to_vec())?;
        if header.table.root() != header.payload_commitment {
            return Err(CodecError::Invalid(
                "Header",
                "payload commitment is not the namespace table root",
            ));
        }
        let hash = header.hash();
        Ok(Self {
            header: Arc::new(header),
            hash,
            leader,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The header hash (block id).
    pub fn hash(&self) -> Hash {
        self.hash
    }
}

/// Converts a Cortado hash to a consensus digest.
pub fn to_digest(hash: Hash) -> Digest {
    commonware_cryptography::sha256::Digest(hash.0)
}

/// Converts a consensus digest to a Cortado hash.
pub fn from_digest(digest: &Digest) -> Hash {
    Hash(digest.0)
}

impl Digestible for ChainBlock {
    type Digest = Digest;
    fn digest(&self) -> Digest {
        to_digest(self.hash)
    }
}

impl Heightable for ChainBlock {
    fn height(&self) -> Height {
        Height::new(self.header.height)
    }
}

impl commonware_consensus::Block for ChainBlock {
    fn parent(&self) -> Digest {
        to_digest(self.header.parent)
    }
}

impl CertifiableBlock for ChainBlock {
    type Context = Context;
    fn context(&self) -> Context {
        let h = &self.header;
        Context {
            round: Round::new(Epoch::new(h.epoch), View::new(h.view)),
            leader: self.leader.clone(),
            parent: (View::new(h.parent_view), to_digest(h.parent)),
        }
    }
}

impl Write for ChainBlock {
    fn write(&self, buf: &mut impl BufMut) {
        self.header.write(buf);
    }
}

impl EncodeSize for ChainBlock {
    fn encode_size(&self) -> usize {
        self.header.encode_size()
    }
}

impl Read for ChainBlock {
    type Cfg = Limits;
    fn read_cfg(buf: &mut impl Buf, limits: &Limits) -> Result<Self, CodecError> {
        Self::new(Header::read_cfg(buf, &limits.namespaces_per_block_max)?)
    }
}

impl BoundedBlock for ChainBlock {
    fn max_encode_size(limits: &Limits) -> usize {
        Header::FIXED_SIZE_MAX
            + limits.namespaces_per_block_max
                * <NamespaceEntry as commonware_codec::FixedSize>::SIZE
    }
}
