//! Decoding and the bad-encoding rule: from `k` verified chunks to a verdict every honest node
//! shares.

use crate::{
    Chunk, DOMAIN_CHUNK, Params, Share,
    encode::chunk_leaf,
    params::{LENGTH_PREFIX_BYTES, SHARD_ALIGN, shard_len},
    rs,
    share::{read_version, share_leaves, verify_chunk},
    tree,
};
use bytes::Bytes;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};
use cortado_types::{Block, FORMAT_VERSION, Hash, Header, Limits, NamespaceData, NamespaceEntry};

/// The verdict on a namespace from `k` verified chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The namespace's data, re-encoded and checked against its commitment.
    Valid(NamespaceData),
    /// The committed encoding is invalid; the namespace counts as empty. The reason is for
    /// humans; the evidence is the chunks themselves (see [`InvalidEncodingEvidence`]).
    InvalidEncoding(String),
}

/// Why decoding could not reach a verdict.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than `k` distinct verified chunks.
    #[error("need {needed} chunks with valid paths, have {have}")]
    NotEnoughChunks {
        /// k.
        needed: usize,
        /// Distinct verified chunks given.
        have: usize,
    },
    /// The header cannot head a block within the limits (its payload commitment is not its
    /// table's root, a namespace has no transactions, or the table's totals exceed the limits);
    /// [`crate::check_header`] rejects such a header before anyone votes for it.
    #[error("the header does not describe a valid block: {0}")]
    Block(cortado_types::Error),
}

/// Evidence that a namespace was invalidly encoded: `k` chunks with valid paths whose decoding
/// does not re-encode to the commitment. Anyone can check it with [`verify_invalid_encoding`].
///
/// Encoding: `version (1 byte, FORMAT_VERSION) || entry (84 bytes, see NamespaceEntry) || count
/// (varint) || count × (index (u16 BE) || chunk)` (see [`Chunk`]). Codec config
/// `(Params, Limits)`: at most `k` chunks, each bounded as a [`Chunk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidEncodingEvidence {
    /// The namespace's table entry.
    pub entry: NamespaceEntry,
    /// `(index, chunk)` pairs, `k` of them.
    pub chunks: Vec<(u16, Chunk)>,
}

impl Write for InvalidEncodingEvidence {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.entry.write(buf);
        self.chunks.write(buf);
    }
}

impl EncodeSize for InvalidEncodingEvidence {
    fn encode_size(&self) -> usize {
        1 + self.entry.encode_size() + self.chunks.encode_size()
    }
}

impl Read for InvalidEncodingEvidence {
    /// Coding parameters and chain limits.
    type Cfg = (Params, Limits);

    fn read_cfg(buf: &mut impl Buf, cfg: &(Params, Limits)) -> Result<Self, CodecError> {
        read_version(buf, "InvalidEncodingEvidence")?;
        let entry = NamespaceEntry::read(buf)?;
        let chunks =
            Vec::<(u16, Chunk)>::read_cfg(buf, &(RangeCfg::new(..=cfg.0.needed()), ((), *cfg)))?;
        Ok(Self { entry, chunks })
    }
}

/// The reason of an [`Decoded::InvalidEncoding`] verdict whose chunks are not a Reed–Solomon
/// codeword of equal, 64-byte-aligned chunks (steps 1 and 2 of the rule).
pub const NOT_A_CODEWORD: &str = "the chunks do not re-encode to the commitment";

/// A chunk whose path verified, with its leaf hash.
struct Verified<'a> {
    index: u16,
    data: &'a Bytes,
    leaf: Hash,
}

/// Picks `k` distinct chunks whose paths verify against `entry`, lowest indices first (the
/// originals, which need no Reed–Solomon decoding). Unverified chunks and duplicates are skipped.
fn select<'a>(
    params: Params,
    entry: &NamespaceEntry,
    chunks: &'a [(u16, Chunk)],
) -> Result<Vec<(Verified<'a>, &'a Chunk)>, DecodeError> {
    let mut order: Vec<&(u16, Chunk)> = chunks.iter().filter(|(i, _)| *i < params.n).collect();
    order.sort_by_key(|(i, _)| *i);
    let mut chosen: Vec<(Verified<'a>, &'a Chunk)> = Vec::with_capacity(params.needed());
    for (index, chunk) in order {
        if chosen.len() == params.needed() {
            break;
        }
        if chosen.last().is_some_and(|(v, _)| v.index == *index) {
            continue;
        }
        if let Some(leaf) = verify_chunk(params, &entry.commitment, *index, chunk) {
            let verified = Verified {
                index: *index,
                data: &chunk.data,
                leaf,
            };
            chosen.push((verified, chunk));
        }
    }
    if chosen.len() < params.needed() {
        return Err(DecodeError::NotEnoughChunks {
            needed: params.needed(),
            have: chosen.len(),
        });
    }
    Ok(chosen)
}

/// The verdicts on several namespaces from chunks at the same `k` distinct indices (each list
/// sorted by index): one Reed–Solomon decoding serves them all (see [`crate::rs`]).
fn verdicts(
    params: Params,
    items: &[(&NamespaceEntry, Vec<Verified<'_>>)],
    limits: &Limits,
) -> Vec<Decoded> {
    let k = params.needed();
    let mut out: Vec<Option<Decoded>> = vec![None; items.len()];
    // Step 1. Chunks of different, unaligned or zero lengths are never part of a codeword. They
    // share step 2's reason, so the whole verdict, reason included, is the same for every subset.
    let mut batch: Vec<(usize, usize)> = Vec::with_capacity(items.len());
    for (j, (_, chunks)) in items.iter().enumerate() {
        debug_assert_eq!(chunks.len(), k);
        let shard = chunks[0].data.len();
        if shard == 0
            || !shard.is_multiple_of(SHARD_ALIGN)
            || chunks.iter().any(|c| c.data.len() != shard)
        {
            out[j] = Some(Decoded::InvalidEncoding(NOT_A_CODEWORD.into()));
        } else {
            batch.push((j, shard));
        }
    }
    // Recover the originals of every aligned namespace at once: namespace `j`'s chunk `i` is
    // bytes `offset_j .. offset_j + shard_j` of the joined chunk `i`. With the `k` originals in
    // hand (indices `0..k`) there is nothing to decode: the blob is the chunks in order.
    let indices: Vec<usize> = items
        .first()
        .map(|(_, chunks)| chunks.iter().map(|c| c.index as usize).collect())
        .unwrap_or_default();
    let decoding = indices.iter().any(|i| *i >= k);
    let total: usize = batch.iter().map(|(_, shard)| shard).sum();
    let originals: Vec<Vec<u8>> = if decoding && !batch.is_empty() {
        let joined: Vec<Vec<u8>> = (0..indices.len())
            .map(|position| {
                let mut joined = Vec::with_capacity(total);
                for (j, _) in &batch {
                    joined.extend_from_slice(items[*j].1[position].data);
                }
                joined
            })
            .collect();
        let given: Vec<(usize, &[u8])> = indices
            .iter()
            .copied()
            .zip(joined.iter().map(Vec::as_slice))
            .collect();
        rs::decode(params, total, &given)
    } else {
        Vec::new()
    };
    let mut offset = 0;
    for (j, shard) in batch {
        let mut blob = Vec::with_capacity(k * shard);
        if decoding {
            for original in &originals {
                blob.extend_from_slice(&original[offset..offset + shard]);
            }
        } else {
            for chunk in &items[j].1 {
                blob.extend_from_slice(chunk.data);
            }
        }
        offset += shard;
        let (entry, chunks) = &items[j];
        out[j] = Some(
            if !matches_commitment(params, entry, shard, &blob, chunks) {
                Decoded::InvalidEncoding(NOT_A_CODEWORD.into())
            } else {
                // From here on the blob is the one the commitment binds: the verdict no longer
                // depends on which chunks were used.
                match parse_blob(params, entry, shard, &blob, limits) {
                    Ok(data) => Decoded::Valid(data),
                    Err(reason) => Decoded::InvalidEncoding(reason),
                }
            },
        );
    }
    out.into_iter()
        .map(|d| d.expect("every namespace has a verdict"))
        .collect()
}

/// The verdict on one namespace from `k` distinct verified chunks (sorted by index).
fn verdict(
    params: Params,
    entry: &NamespaceEntry,
    chunks: Vec<Verified<'_>>,
    limits: &Limits,
) -> Decoded {
    verdicts(params, &[(entry, chunks)], limits)
        .pop()
        .expect("one verdict per namespace")
}

/// Re-encodes the blob and compares the root with the commitment.
fn matches_commitment(
    params: Params,
    entry: &NamespaceEntry,
    shard: usize,
    blob: &[u8],
    given: &[Verified<'_>],
) -> bool {
    let originals: Vec<&[u8]> = blob.chunks(shard).collect();
    let recovery = rs::encode(params, shard, &originals);
    let mut leaves = Vec::with_capacity(params.total());
    let mut given = given.iter().peekable();
    let all = originals
        .into_iter()
        .chain(recovery.iter().map(Vec::as_slice));
    for (i, data) in all.enumerate() {
        // A re-encoded chunk byte-identical to a verified one has that one's leaf: skip hashing.
        match given.next_if(|c| c.index as usize == i) {
            Some(c) if c.data.as_ref() == data => leaves.push(c.leaf),
            _ => leaves.push(chunk_leaf(data)),
        }
    }
    tree::root(DOMAIN_CHUNK, leaves) == entry.commitment
}

/// Checks that the blob is canonical and parses to data matching the entry within the limits.
fn parse_blob(
    params: Params,
    entry: &NamespaceEntry,
    shard: usize,
    blob: &[u8],
    limits: &Limits,
) -> Result<NamespaceData, String> {
    let (prefix, rest) = blob.split_at(LENGTH_PREFIX_BYTES.min(blob.len()));
    let prefix: [u8; LENGTH_PREFIX_BYTES] = prefix
        .try_into()
        .map_err(|_| "blob shorter than its length prefix".to_string())?;
    let len = u32::from_be_bytes(prefix) as usize;
    if len > rest.len() {
        return Err(format!(
            "length prefix {len} exceeds the blob's {} bytes",
            rest.len()
        ));
    }
    if shard != shard_len(params, len) {
        return Err(format!(
            "chunk length {shard} is not the minimal {} for {len} bytes",
            shard_len(params, len)
        ));
    }
    let (bytes, padding) = rest.split_at(len);
    if padding.iter().any(|b| *b != 0) {
        return Err("non-zero padding".into());
    }
    let data = NamespaceData::decode_payloads(entry.namespace, bytes, limits)
        .ok_or("the bytes are not a payload list within the limits")?;
    // The codec's varints are canonical, so `data.encode_payloads() == bytes` here.
    if data.byte_len() > limits.block_bytes_max as u64 {
        return Err(format!(
            "{} payload bytes exceed block_bytes_max ({})",
            data.byte_len(),
            limits.block_bytes_max
        ));
    }
    let derived = data.entry(entry.commitment);
    if derived.tx_count == entry.tx_count
        && derived.byte_len == entry.byte_len
        && derived.tx_root != entry.tx_root
    {
        return Err("the transactions' hashes do not form the entry's tx_root".into());
    }
    if derived != *entry {
        return Err(format!(
            "decoded {} transactions of {} bytes; the entry says {} of {}",
            data.payloads.len(),
            data.byte_len(),
            entry.tx_count,
            entry.byte_len
        ));
    }
    Ok(data)
}

/// Decodes one namespace from chunks given as `(index, chunk)` (unverified chunks and duplicates
/// are ignored; at least `k` must verify).
///
/// Uses the `k` lowest verified indices. Panics if the parameters are invalid (configuration).
pub fn decode_namespace(
    params: Params,
    entry: &NamespaceEntry,
    chunks: &[(u16, Chunk)],
    limits: &Limits,
) -> Result<Decoded, DecodeError> {
    params.assert_valid();
    let chosen = select(params, entry, chunks)?;
    let verified: Vec<Verified<'_>> = chosen.into_iter().map(|(v, _)| v).collect();
    Ok(verdict(params, entry, verified, limits))
}

/// Decodes one namespace and, if it is invalidly encoded, returns the evidence: the entry and
/// the `k` chunks the verdict was reached with. `Ok(None)` if the namespace is valid.
///
/// Panics if the parameters are invalid (configuration).
pub fn invalid_encoding_evidence(
    params: Params,
    entry: &NamespaceEntry,
    chunks: &[(u16, Chunk)],
    limits: &Limits,
) -> Result<Option<InvalidEncodingEvidence>, DecodeError> {
    params.assert_valid();
    let chosen = select(params, entry, chunks)?;
    let evidence = InvalidEncodingEvidence {
        entry: *entry,
        chunks: chosen
            .iter()
            .map(|(v, chunk)| (v.index, (*chunk).clone()))
            .collect(),
    };
    let verified: Vec<Verified<'_>> = chosen.into_iter().map(|(v, _)| v).collect();
    Ok(match verdict(params, entry, verified, limits) {
        Decoded::Valid(_) => None,
        Decoded::InvalidEncoding(_) => Some(evidence),
    })
}

/// Checks evidence of an invalid encoding: at least `k` of its chunks verify against the entry
/// and they decode to [`Decoded::InvalidEncoding`] under `limits` (the chain's limits: whether a
/// payload list is within them is part of the verdict).
///
/// Panics if the parameters are invalid (configuration).
pub fn verify_invalid_encoding(
    params: Params,
    evidence: &InvalidEncodingEvidence,
    limits: &Limits,
) -> bool {
    matches!(
        decode_namespace(params, &evidence.entry, &evidence.chunks, limits),
        Ok(Decoded::InvalidEncoding(_))
    )
}

/// Reconstructs a whole block from shares (each share verified or skipped), marking invalidly
/// encoded namespaces.
///
/// Uses the `k` lowest-indexed shares that verify in full; fails with
/// [`DecodeError::NotEnoughChunks`] if fewer do (and the table is not empty), and with
/// [`DecodeError::Block`] if the header cannot head a block within `limits`.
/// Panics if the parameters are invalid (configuration).
pub fn reconstruct(
    params: Params,
    header: &Header,
    shares: &[Share],
    limits: &Limits,
) -> Result<Block, DecodeError> {
    params.assert_valid();
    let computed = header.table.root();
    if computed != header.payload_commitment {
        return Err(DecodeError::Block(
            cortado_types::Error::CommitmentMismatch {
                claimed: header.payload_commitment,
                computed,
            },
        ));
    }
    let entries = header.table.entries();
    let mut namespaces = Vec::with_capacity(entries.len());
    if !entries.is_empty() {
        let chosen = select_shares(params, header, shares)?;
        let items: Vec<(&NamespaceEntry, Vec<Verified<'_>>)> = entries
            .iter()
            .enumerate()
            .map(|(position, entry)| {
                let chunks = chosen
                    .iter()
                    .map(|(share, leaves)| Verified {
                        index: share.index,
                        data: &share.chunks[position].data,
                        leaf: leaves[position],
                    })
                    .collect();
                (entry, chunks)
            })
            .collect();
        for ((entry, _), decoded) in items.iter().zip(verdicts(params, &items, limits)) {
            namespaces.push(match decoded {
                Decoded::Valid(data) => data,
                Decoded::InvalidEncoding(_) => NamespaceData::invalid(entry.namespace),
            });
        }
    }
    Block::from_parts(header.clone(), namespaces, limits).map_err(DecodeError::Block)
}

/// The `k` lowest-indexed distinct shares that verify, with their chunks' leaf hashes.
fn select_shares<'a>(
    params: Params,
    header: &Header,
    shares: &'a [Share],
) -> Result<Vec<(&'a Share, Vec<Hash>)>, DecodeError> {
    let mut order: Vec<&Share> = shares.iter().collect();
    order.sort_by_key(|s| s.index);
    let mut chosen: Vec<(&Share, Vec<Hash>)> = Vec::with_capacity(params.needed());
    for share in order {
        if chosen.len() == params.needed() {
            break;
        }
        if chosen.last().is_some_and(|(s, _)| s.index == share.index) {
            continue;
        }
        if let Ok(leaves) = share_leaves(params, header, share) {
            chosen.push((share, leaves));
        }
    }
    if chosen.len() < params.needed() {
        return Err(DecodeError::NotEnoughChunks {
            needed: params.needed(),
            have: chosen.len(),
        });
    }
    Ok(chosen)
}
