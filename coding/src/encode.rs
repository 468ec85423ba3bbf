//! Encoding: namespace bytes → blob → `n` chunks → Merkle commitment; whole blocks and shares.

use crate::{
    Chunk, DOMAIN_CHUNK, Params, Share,
    params::{LENGTH_PREFIX_BYTES, SHARD_ALIGN, shard_len},
    rs,
    tree::{self, Tree},
};
use bytes::Bytes;
use commonware_codec::{EncodeSize, Write};
use cortado_types::{
    Block, BlockContext, Hash, Limits, NamespaceData, NamespaceEntry, Transaction, merkle,
};

/// The blob of a namespace: `len (u32 BE) || data.encode_payloads() || zeros` up to
/// `k * shard_len(len)`, written in place. `None` if the coded bytes are too long for the `u32`
/// length prefix.
pub(crate) fn blob(params: Params, data: &NamespaceData) -> Option<Vec<u8>> {
    let bytes: u64 = data.byte_len();
    if bytes > u64::from(u32::MAX) || data.payloads.len() > u32::MAX as usize {
        return None;
    }
    let len = data.payloads.encode_size();
    let prefix = u32::try_from(len).ok()?;
    let size = params.needed() * shard_len(params, len);
    let mut blob = Vec::with_capacity(size);
    blob.extend_from_slice(&prefix.to_be_bytes());
    data.payloads.write(&mut blob);
    debug_assert_eq!(blob.len(), LENGTH_PREFIX_BYTES + len);
    blob.resize(size, 0);
    Some(blob)
}

/// Splits a blob of `k * shard` bytes into the `n` chunk payloads: the `k` pieces, then the
/// recovery shards.
pub(crate) fn code(params: Params, blob: Bytes) -> Vec<Bytes> {
    let k = params.needed();
    assert!(
        !blob.is_empty() && blob.len().is_multiple_of(SHARD_ALIGN * k),
        "blob length {} is not k * an aligned shard length",
        blob.len()
    );
    let shard = blob.len() / k;
    let mut chunks: Vec<Bytes> = (0..k)
        .map(|i| blob.slice(i * shard..(i + 1) * shard))
        .collect();
    let originals: Vec<&[u8]> = chunks.iter().map(|c| c.as_ref()).collect();
    let recovery = rs::encode(params, shard, &originals);
    chunks.extend(recovery.into_iter().map(Bytes::from));
    chunks
}

/// The Merkle leaf of a chunk.
pub(crate) fn chunk_leaf(data: &[u8]) -> Hash {
    merkle::leaf_hash(DOMAIN_CHUNK, data)
}

/// The chunk payloads of a namespace; `None` if its coded bytes exceed the length prefix.
pub(crate) fn chunk_data(params: Params, data: &NamespaceData) -> Option<Vec<Bytes>> {
    Some(code(params, Bytes::from(blob(params, data)?)))
}

/// FAULT INJECTION (simulations, tests): commits to arbitrary chunk payloads, valid encoding or
/// not: returns the Merkle root over them (a namespace commitment) and each chunk with its path.
/// [`encode_namespace`] is this applied to a valid encoding.
pub fn commit_chunks(chunks: Vec<Bytes>) -> (Hash, Vec<Chunk>) {
    let tree = Tree::new(DOMAIN_CHUNK, chunks.iter().map(|c| chunk_leaf(c)).collect());
    let chunks = chunks
        .into_iter()
        .enumerate()
        .map(|(i, data)| Chunk {
            data,
            path: tree.path(i),
        })
        .collect();
    (tree.root(), chunks)
}

/// Encodes one namespace: its table entry (with commitment) and its `n` chunks (chunk `i` for
/// validator `i`, with its path).
///
/// Panics if the parameters are invalid, or the namespace's coded bytes exceed 4 GiB or it holds
/// more than `u32::MAX` transactions (far beyond any [`Limits`]; a caller bug).
pub fn encode_namespace(params: Params, data: &NamespaceData) -> (NamespaceEntry, Vec<Chunk>) {
    params.assert_valid();
    let chunks = chunk_data(params, data).expect("namespace bytes exceed the 4 GiB length prefix");
    let (root, chunks) = commit_chunks(chunks);
    (data.entry(root), chunks)
}

/// The commitment of a namespace (the root only: no paths are built). `None` if its coded bytes
/// exceed the `u32` length prefix.
pub(crate) fn commitment_of(params: Params, data: &NamespaceData) -> Option<Hash> {
    let chunks = chunk_data(params, data)?;
    Some(tree::root(
        DOMAIN_CHUNK,
        chunks.iter().map(|c| chunk_leaf(c)).collect(),
    ))
}

/// The table entry of one namespace (what [`encode_namespace`] returns, without the chunks).
///
/// Panics as [`encode_namespace`] does.
pub fn namespace_entry(params: Params, data: &NamespaceData) -> NamespaceEntry {
    params.assert_valid();
    let root = commitment_of(params, data).expect("namespace bytes exceed the 4 GiB length prefix");
    data.entry(root)
}

/// FAULT INJECTION (simulations of a Byzantine leader, tests): encodes `data` like
/// [`encode_namespace`] but commits to chunks that are not a valid encoding, so every `k`
/// chunks decode to [`crate::Decoded::InvalidEncoding`] with the same verdict.
///
/// When `n > k`, chunk `corrupt_index` has its first byte inverted before the commitment is
/// computed: the committed word is one symbol away from a codeword, hence not one (the code's
/// distance is `n - k + 1 ≥ 2`). When `n == k` every word is a codeword, so the blob's length
/// prefix is set to `u32::MAX` instead (beyond the blob's capacity), whatever `corrupt_index`.
/// The entry claims `data`'s transaction count and byte length.
///
/// Panics if `corrupt_index >= n` or as [`encode_namespace`] does.
pub fn encode_namespace_invalid(
    params: Params,
    data: &NamespaceData,
    corrupt_index: u16,
) -> (NamespaceEntry, Vec<Chunk>) {
    params.assert_valid();
    assert!(
        corrupt_index < params.n,
        "corrupt_index {corrupt_index} is not a chunk index (n = {})",
        params.n
    );
    let mut blob = blob(params, data).expect("namespace bytes exceed the 4 GiB length prefix");
    if params.recovery_count() == 0 {
        blob[..LENGTH_PREFIX_BYTES].copy_from_slice(&u32::MAX.to_be_bytes());
    }
    let mut chunks = code(params, Bytes::from(blob));
    if params.recovery_count() > 0 {
        let mut corrupted = chunks[corrupt_index as usize].to_vec();
        corrupted[0] ^= 0xff;
        chunks[corrupt_index as usize] = Bytes::from(corrupted);
    }
    let (root, chunks) = commit_chunks(chunks);
    (data.entry(root), chunks)
}

/// Builds a block and the `n` validator shares (`shares[i].index == i`): groups the
/// transactions by namespace (see [`Block::build`], which checks the limits), encodes every
/// namespace and hands chunk `i` of each namespace, in table order, to validator `i`.
///
/// Panics if the parameters are invalid (configuration).
pub fn build_block(
    params: Params,
    ctx: BlockContext,
    txs: Vec<Transaction>,
    limits: &Limits,
) -> Result<(Block, Vec<Share>), cortado_types::Error> {
    params.assert_valid();
    let mut coded: Vec<Vec<Chunk>> = Vec::new();
    let block = Block::build(ctx, txs, limits, |data| {
        let (entry, chunks) = encode_namespace(params, data);
        coded.push(chunks);
        entry.commitment
    })?;
    assert_eq!(
        coded.len(),
        block.header().table.len(),
        "one commitment per namespace"
    );
    let mut shares: Vec<Share> = (0..params.n)
        .map(|index| Share {
            index,
            chunks: Vec::with_capacity(coded.len()),
        })
        .collect();
    for chunks in coded {
        for (share, chunk) in shares.iter_mut().zip(chunks) {
            share.chunks.push(chunk);
        }
    }
    Ok((block, shares))
}
