use crate::{FORMAT_VERSION, Hash, NamespaceTable, hash::DOMAIN_HEADER, read_version};
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write,
};
use std::fmt;

/// Identifies one Cortado chain; part of every signing domain, so a certificate of one chain
/// is never valid on another.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct ChainId(pub u64);

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Height of a block; genesis is 0.
pub type Height = u64;

/// An ed25519 public key (32 bytes) as carried in headers.
pub type PublicKeyBytes = [u8; 32];

/// A block header.
///
/// It carries the consensus context the block was proposed in (epoch, view, leader, parent view),
/// so any node can re-check a block it did not see proposed. Its hash is the block's id, and what
/// consensus votes on.
///
/// Encoding: `version (1) || chain_id || height || epoch || view || parent_view (u64 BE each) ||
/// leader (32) || timestamp_ms (u64 BE) || parent (32) || history (varint count ≤ 64, then 32
/// bytes per peak) || payload_commitment (32) || namespace table`. (That the history is the
/// parent's plus the parent is a chain rule, checked when a proposal is verified.)
/// Hash: `SHA-256("_CORTADO_HEADER" || encoding)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Header {
    /// The chain.
    pub chain_id: ChainId,
    /// Height; the parent's height plus one.
    pub height: Height,
    /// Consensus epoch (always 0 until validator-set changes exist).
    pub epoch: u64,
    /// Consensus view in which this block was proposed.
    pub view: u64,
    /// Consensus view of the parent block.
    pub parent_view: u64,
    /// The proposer's ed25519 public key.
    pub leader: PublicKeyBytes,
    /// Proposer's clock, milliseconds since the Unix epoch; strictly increasing along the chain.
    pub timestamp_ms: u64,
    /// Hash of the parent header.
    pub parent: Hash,
    /// Peaks of the history accumulator over the hashes of headers `0..height` (see
    /// [`crate::history`]).
    pub history: Vec<Hash>,
    /// Merkle root over the namespace table.
    pub payload_commitment: Hash,
    /// The namespace table.
    pub table: NamespaceTable,
}

impl Header {
    /// Upper bound of the encoded size without the table entries.
    pub const FIXED_SIZE_MAX: usize =
        1 + 8 * 6 + 32 + 32 + 32 + 5 + 1 + crate::history::PEAKS_MAX * 32;

    /// The header hash (the block id).
    pub fn hash(&self) -> Hash {
        Hash::digest(DOMAIN_HEADER, &[&self.encode()])
    }

    /// The root of this header's history accumulator.
    pub fn history_root(&self) -> Hash {
        crate::history::root(self.height, &self.history)
    }

    /// The history peaks a child of this header must carry.
    pub fn child_history(&self) -> Vec<Hash> {
        crate::history::append(&self.history, self.height, self.hash()).0
    }
}

impl Write for Header {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.chain_id.0.write(buf);
        self.height.write(buf);
        self.epoch.write(buf);
        self.view.write(buf);
        self.parent_view.write(buf);
        self.leader.write(buf);
        self.timestamp_ms.write(buf);
        self.parent.write(buf);
        self.history.write(buf);
        self.payload_commitment.write(buf);
        self.table.write(buf);
    }
}

impl EncodeSize for Header {
    fn encode_size(&self) -> usize {
        1 + 8 * 6 + 32 + 32 + 32 + self.history.encode_size() + self.table.encode_size()
    }
}

impl Read for Header {
    /// Most namespace table entries accepted.
    type Cfg = usize;
    fn read_cfg(buf: &mut impl Buf, max_namespaces: &usize) -> Result<Self, CodecError> {
        read_version(buf, "Header")?;
        let chain_id = ChainId(u64::read(buf)?);
        let height = u64::read(buf)?;
        let epoch = u64::read(buf)?;
        let view = u64::read(buf)?;
        let parent_view = u64::read(buf)?;
        let leader = <[u8; 32]>::read(buf)?;
        let timestamp_ms = u64::read(buf)?;
        let parent = Hash::read(buf)?;
        let history =
            Vec::<Hash>::read_cfg(buf, &(RangeCfg::new(..=crate::history::PEAKS_MAX), ()))?;
        Ok(Self {
            chain_id,
            height,
            epoch,
            view,
            parent_view,
            leader,
            timestamp_ms,
            parent,
            history,
            payload_commitment: Hash::read(buf)?,
            table: NamespaceTable::read_cfg(buf, max_namespaces)?,
        })
    }
}
