//! Chunks and validator shares: their codecs and the validator's check.

use crate::{
    DOMAIN_CHUNK, Params,
    encode::chunk_leaf,
    params::{chunk_bytes_max, varint_len},
};
use bytes::Bytes;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};
use cortado_types::{FORMAT_VERSION, Hash, Header, Limits, Namespace, merkle};

/// One namespace's chunk for one validator, with the Merkle path binding it to the namespace
/// commitment.
///
/// Encoding (always nested, no version byte): `data length (varint) || data || path length
/// (varint) || path hashes (32 bytes each)`. Codec config `(Params, Limits)`: the data is at most
/// [`chunk_bytes_max`] bytes and the path at most [`Params::path_len_max`] hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The chunk bytes.
    pub data: Bytes,
    /// Audit path of leaf `index` in the namespace's chunk tree.
    pub path: Vec<Hash>,
}

impl Chunk {
    /// The chunk's Merkle leaf hash (`merkle::leaf_hash(DOMAIN_CHUNK, data)`).
    pub fn leaf(&self) -> Hash {
        chunk_leaf(&self.data)
    }

    /// Whether this chunk sits at `index` of the `n`-leaf tree with root `commitment`.
    pub fn verify(&self, params: Params, commitment: &Hash, index: u16) -> bool {
        verify_chunk(params, commitment, index, self).is_some()
    }
}

/// The leaf hash of `chunk` if its path leads from leaf `index` to `commitment`.
pub(crate) fn verify_chunk(
    params: Params,
    commitment: &Hash,
    index: u16,
    chunk: &Chunk,
) -> Option<Hash> {
    if index >= params.n {
        return None;
    }
    let leaf = chunk.leaf();
    merkle::verify(
        DOMAIN_CHUNK,
        commitment,
        leaf,
        index as usize,
        params.total(),
        &chunk.path,
    )
    .then_some(leaf)
}

impl Write for Chunk {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.data.write(buf);
        self.path.write(buf);
    }
}

impl EncodeSize for Chunk {
    fn encode_size(&self) -> usize {
        self.data.encode_size() + self.path.encode_size()
    }
}

impl Read for Chunk {
    /// Coding parameters and chain limits (they bound the data and path lengths).
    type Cfg = (Params, Limits);

    fn read_cfg(
        buf: &mut impl Buf,
        (params, limits): &(Params, Limits),
    ) -> Result<Self, CodecError> {
        let data = Bytes::read_cfg(buf, &RangeCfg::new(..=chunk_bytes_max(*params, limits)))?;
        let path = Vec::<Hash>::read_cfg(buf, &(RangeCfg::new(..=params.path_len_max()), ()))?;
        Ok(Self { data, path })
    }
}

/// What validator `index` receives for a block: its chunk of every namespace, in table order.
///
/// Encoding: `version (1 byte, FORMAT_VERSION) || index (u16 BE) || chunk count (varint) ||
/// chunks` (see [`Chunk`]). Codec config `(Params, Limits)`: the index is below `n` and there are
/// at most `namespaces_per_block_max` chunks, so an encoded share is at most
/// [`crate::share_bytes_max`] bytes long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The validator index (position in the sorted validator set).
    pub index: u16,
    /// One chunk per namespace table entry, in table order.
    pub chunks: Vec<Chunk>,
}

impl Write for Share {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.index.write(buf);
        self.chunks.write(buf);
    }
}

impl EncodeSize for Share {
    fn encode_size(&self) -> usize {
        1 + 2 + self.chunks.encode_size()
    }
}

impl Read for Share {
    /// Coding parameters and chain limits.
    type Cfg = (Params, Limits);

    fn read_cfg(buf: &mut impl Buf, cfg: &(Params, Limits)) -> Result<Self, CodecError> {
        read_version(buf, "Share")?;
        let index = u16::read(buf)?;
        if index >= cfg.0.n {
            return Err(CodecError::Invalid("Share", "validator index out of range"));
        }
        let chunks = Vec::<Chunk>::read_cfg(
            buf,
            &(RangeCfg::new(..=cfg.1.namespaces_per_block_max), *cfg),
        )?;
        Ok(Self { index, chunks })
    }
}

/// Reads and checks the format version byte.
pub(crate) fn read_version(buf: &mut impl Buf, what: &'static str) -> Result<(), CodecError> {
    if u8::read(buf)? != FORMAT_VERSION {
        return Err(CodecError::Invalid(what, "unsupported format version"));
    }
    Ok(())
}

/// Encoded size of a `Vec<Hash>` of `len` hashes.
pub(crate) fn path_encode_size(len: usize) -> usize {
    varint_len(len) + len * Hash::LENGTH
}

/// Why a share does not belong to a header.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShareError {
    /// The share is for another validator.
    #[error("share is for validator {got}, expected {expected}")]
    WrongIndex {
        /// Expected index.
        expected: u16,
        /// Index in the share.
        got: u16,
    },
    /// The validator index is not below `n`.
    #[error("validator index {index} is out of range: there are {n} validators")]
    IndexOutOfRange {
        /// The index.
        index: u16,
        /// Validators (chunks per namespace).
        n: u16,
    },
    /// One chunk per namespace is required.
    #[error("share has {got} chunks; the block has {expected} namespaces")]
    ChunkCount {
        /// Namespaces in the header.
        expected: usize,
        /// Chunks in the share.
        got: usize,
    },
    /// A chunk's path does not lead to its namespace commitment.
    #[error("chunk for namespace {0} does not verify against its commitment")]
    BadChunk(Namespace),
    /// The header's payload commitment is not its table's root.
    #[error("header payload commitment does not match its namespace table")]
    BadHeader,
}

/// Checks validator `index`'s share against a header (and the header's table root): the share
/// is for `index`, `index < n`, the payload commitment is the table's root, and there is one
/// chunk per table entry whose path leads from leaf `index` to the entry's commitment.
///
/// A share that passes proves only that the leader committed to these chunks; whether the
/// commitment is a valid encoding is decided at reconstruction (the bad-encoding rule).
/// Panics if the parameters are invalid (configuration).
pub fn verify_share(
    params: Params,
    header: &Header,
    index: u16,
    share: &Share,
) -> Result<(), ShareError> {
    params.assert_valid();
    if share.index != index {
        return Err(ShareError::WrongIndex {
            expected: index,
            got: share.index,
        });
    }
    if header.payload_commitment != header.table.root() {
        return Err(ShareError::BadHeader);
    }
    share_leaves(params, header, share).map(drop)
}

/// Checks a share's index, chunk count and chunk paths (not the header's table root) and
/// returns each chunk's leaf hash.
pub(crate) fn share_leaves(
    params: Params,
    header: &Header,
    share: &Share,
) -> Result<Vec<Hash>, ShareError> {
    if share.index >= params.n {
        return Err(ShareError::IndexOutOfRange {
            index: share.index,
            n: params.n,
        });
    }
    let entries = header.table.entries();
    if share.chunks.len() != entries.len() {
        return Err(ShareError::ChunkCount {
            expected: entries.len(),
            got: share.chunks.len(),
        });
    }
    entries
        .iter()
        .zip(&share.chunks)
        .map(|(entry, chunk)| {
            verify_chunk(params, &entry.commitment, share.index, chunk)
                .ok_or(ShareError::BadChunk(entry.namespace))
        })
        .collect()
}

/// The chunks of the namespace at table `position` from a set of shares, as `(index, chunk)`
/// pairs for [`crate::decode_namespace`] (shares without that position are skipped).
pub fn namespace_chunks(shares: &[Share], position: usize) -> Vec<(u16, Chunk)> {
    shares
        .iter()
        .filter_map(|s| s.chunks.get(position).map(|c| (s.index, c.clone())))
        .collect()
}
