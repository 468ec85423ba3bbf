//! The block as consensus and marshal see it.
//!
//! [`ChainBlock`] wraps a [`cortado_types::Block`] and implements the commonware traits
//! (`Digestible`, `Heightable`, `Block`, `CertifiableBlock`, `BoundedBlock`, codec). The
//! block's digest is its header hash, and the header embeds the consensus context it was
//! proposed in (epoch, view, leader, parent view and parent hash), so the digest commits to
//! that context as `CertifiableBlock` requires.

use crate::{Context, Digest, PublicKey};
use bytes::BufMut;
use commonware_codec::{Buf, DecodeExt, EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::{
    BoundedBlock, CertifiableBlock, Heightable,
    types::{Epoch, Height, Round, View},
};
use commonware_cryptography::Digestible;
use cortado_types::{Block, Hash, Limits};
use std::sync::Arc;

/// A Cortado block, with its proposer key decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBlock {
    block: Arc<Block>,
    leader: PublicKey,
}

impl ChainBlock {
    /// Wraps a block; fails if its leader field is not a valid ed25519 public key.
    pub fn new(block: Block) -> Result<Self, CodecError> {
        let leader = PublicKey::decode(block.header().leader.to_vec())?;
        Ok(Self {
            block: Arc::new(block),
            leader,
        })
    }

    /// The Cortado block.
    pub fn block(&self) -> &Block {
        &self.block
    }

    /// A shared handle to the Cortado block.
    pub fn shared(&self) -> Arc<Block> {
        self.block.clone()
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
        to_digest(self.block.hash())
    }
}

impl Heightable for ChainBlock {
    fn height(&self) -> Height {
        Height::new(self.block.height())
    }
}

impl commonware_consensus::Block for ChainBlock {
    fn parent(&self) -> Digest {
        to_digest(self.block.header().parent)
    }
}

impl CertifiableBlock for ChainBlock {
    type Context = Context;
    fn context(&self) -> Context {
        let h = self.block.header();
        Context {
            round: Round::new(Epoch::new(h.epoch), View::new(h.view)),
            leader: self.leader.clone(),
            parent: (View::new(h.parent_view), to_digest(h.parent)),
        }
    }
}

impl Write for ChainBlock {
    fn write(&self, buf: &mut impl BufMut) {
        self.block.write(buf);
    }
}

impl EncodeSize for ChainBlock {
    fn encode_size(&self) -> usize {
        self.block.encode_size()
    }
}

impl Read for ChainBlock {
    type Cfg = Limits;
    fn read_cfg(buf: &mut impl Buf, limits: &Limits) -> Result<Self, CodecError> {
        Self::new(Block::read_cfg(buf, limits)?)
    }
}

impl BoundedBlock for ChainBlock {
    fn max_encode_size(limits: &Limits) -> usize {
        limits.block_encode_size_max()
    }
}
