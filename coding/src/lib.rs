//! Per-namespace erasure coding of Cortado blocks: commitments, validator shares, namespace proofs and the bad-encoding rule.
//!
//! # SPECIFICATION
//!
//! This text is normative: two implementations that follow it produce the same commitments,
//! shares and verdicts. The fixture test (`tests/fixtures.rs`) pins the bytes.
//!
//! ## Parameters
//!
//! `n` validators, `k = f + 1` where `f = (n - 1) / 3` ([`Params::for_validators`]; `1 ≤ n ≤`
//! [`VALIDATORS_MAX`]). Every namespace of a block is coded separately into `n` chunks, any `k`
//! of which recover it. Any `1 ≤ k ≤ n` that `reed-solomon-simd` supports is accepted by
//! [`Params::check`]; invalid parameters are a configuration error and make every function panic.
//!
//! ## Encoding a namespace
//!
//! 1. Namespace bytes: `NamespaceData::encode_payloads()`: `count (varint) || for each payload:
//!    length (varint) || bytes` (commonware-codec varints, which decode only in canonical form).
//! 2. Blob: `len (u32 BE) || bytes || zeros`, `len` the byte length of the namespace bytes,
//!    zero-padded to `k * shard_len`, where `shard_len` ([`shard_len`]) is the smallest positive
//!    multiple of [`SHARD_ALIGN`] (64) with `k * shard_len ≥ 4 + len`. (`reed-solomon-simd`
//!    needs even shards; 64-byte alignment lets a block's namespaces share one decoding.)
//! 3. Chunks `0..k` are the blob split in `k` equal pieces; chunks `k..n` are the `n - k`
//!    Reed–Solomon recovery shards of those originals (reed-solomon-simd 3.1, GF(2^16), Leopard,
//!    recovery shard `j` is chunk `k + j`). When `n == k` there are no recovery shards.
//! 4. Commitment: the `cortado_types::merkle` root (domain [`DOMAIN_CHUNK`]) over the `n` chunk
//!    leaves, leaf `i` being `merkle::leaf_hash(DOMAIN_CHUNK, chunk_i)`. Chunk `i`'s proof is its
//!    audit path (`merkle::proof` layout, at most `ceil(log2(n))` hashes). The namespace table
//!    entry carries this root as `commitment`, with the namespace's `tx_count` and `byte_len`.
//! 5. Transaction root: the `merkle` root (domain `_CORTADO_TXS`) over the namespace's
//!    transaction hashes in block order, leaf `j` being `merkle::leaf_hash(_CORTADO_TXS,
//!    hash_j)` (`cortado_types::tx_leaf`); the entry carries it as `tx_root`.
//!
//! ## Shares
//!
//! Share `i` (what validator `i` receives): chunk `i` of every namespace of the block, in table
//! order, each with its path ([`build_block`]). A validator checks ([`verify_share`]) that the
//! header's payload commitment is its table's root, that `i < n`, and every chunk's path against
//! the table entry, its own index and `n`; it should also run [`check_header`] (table within the
//! limits, no empty namespace) so that every block it votes for reconstructs. A verified share
//! proves only that the leader committed to these chunks, not that the commitment is a valid
//! encoding: that is the bad-encoding rule's job.
//!
//! ## Decoding and the bad-encoding rule
//!
//! From any `k` distinct chunks whose paths verify ([`decode_namespace`] uses the `k` lowest
//! indices; unverified chunks and duplicates are ignored), in this order:
//!
//! 1. The chunks must have one length, a positive multiple of 64; otherwise INVALID
//!    ([`NOT_A_CODEWORD`]).
//! 2. Recover the `k` originals (Reed–Solomon decoding if any is missing), re-encode all `n`
//!    chunks, recompute the root. If it differs from the commitment: INVALID
//!    ([`NOT_A_CODEWORD`]).
//! 3. Parse the blob: the length prefix must fit in the blob, the chunk length must be the
//!    minimal `shard_len` for it, the padding must be zeros, the bytes must parse as a payload
//!    list within the limits (`NamespaceData::decode_payloads`: count ≤ `txs_per_block_max`,
//!    each payload ≤ `tx_bytes_max`), the payloads must total at most `block_bytes_max`, and
//!    the list must match the entry's `tx_count`, `byte_len` and `tx_root` (recomputed from
//!    the parsed payloads); otherwise INVALID.
//! 4. Otherwise VALID, with the parsed payloads.
//!
//! The verdict depends only on the commitment, the entry and the limits, never on which `k`
//! chunks were used: once step 2 passes, the re-encoded codeword *is* the committed one (up to a
//! hash collision), so every subset sees the same blob; and if the committed leaves were a
//! codeword, every subset would recover it and pass step 2. So every honest node reaches the
//! same verdict. Steps 1 and 2 share one reason and step 3's reasons depend only on the blob, so
//! even the human-readable reason is the same for every subset. An INVALID namespace counts as empty (`NamespaceData::invalid`); the `k` chunks
//! are the evidence ([`InvalidEncodingEvidence`], checked by [`verify_invalid_encoding`]).
//! [`encode_namespace_invalid`] builds such an encoding on purpose (Byzantine leaders in
//! simulations).
//!
//! ## Namespace proofs
//!
//! Reading namespace `x` returns its payloads and a [`NamespaceProof`]: `x`'s entry, its
//! position, the table length and the entry's audit path to the payload commitment (domain
//! `_CORTADO_TABLE`). [`verify_namespace`] checks the path, that the table length is the
//! header's (an RFC-6962 path alone does not bind the tree size), the entry's counts, and that
//! the payloads re-encode to the entry's commitment, so an omitted, added, altered or reordered
//! transaction is caught. Absence ([`AbsenceProof`], [`verify_absence`]) is proven by the
//! neighbouring entries: adjacent positions with `below < x < above`, or only `below` at the last
//! position, or only `above` at position 0, or an empty table whose commitment is the empty
//! tree's root.
//!
//! ## Transaction proofs
//!
//! One transaction is proven without its namespace by a [`TransactionProof`]: its position, the
//! namespace's `tx_count` and the audit path from `tx_leaf(hash)` to the entry's `tx_root`
//! ([`verify_transaction`]). It proves what the leader committed, not that the namespace is
//! validly encoded (see the `txproof` module docs); the whole namespace proves both.
//!
//! ## Byte layouts
//!
//! Integers are big-endian; "varint" is commonware-codec's canonical LEB128 of a `u32`;
//! `FORMAT_VERSION` is `cortado_types::FORMAT_VERSION`; a hash is 32 bytes; a path is
//! `count (varint) || hashes`.
//!
//! | type | layout | decoder bounds (codec config) |
//! |---|---|---|
//! | [`Chunk`] (nested only) | `len (varint) \|\| data \|\| path` | `(Params, Limits)`: `len ≤` [`chunk_bytes_max`], path `≤ ceil(log2 n)` |
//! | [`Share`] | `FORMAT_VERSION \|\| index (u16) \|\| count (varint) \|\| count × Chunk` | `(Params, Limits)`: `index < n`, `count ≤ namespaces_per_block_max`; total `≤` [`share_bytes_max`] |
//! | [`NamespaceProof`] | `FORMAT_VERSION \|\| body`; body = `entry (84) \|\| position (u32) \|\| table_len (u32) \|\| path` | `namespaces_per_block_max`: `position < table_len ≤` it, path `≤ ceil(log2 table_len)` |
//! | [`AbsenceProof`] | `FORMAT_VERSION \|\| below \|\| above \|\| table_len (u32)`; `below`/`above` = `0x00` or `0x01 \|\| NamespaceProof body` | `namespaces_per_block_max` |
//! | [`TransactionProof`] | `FORMAT_VERSION \|\| position (u32) \|\| count (u32) \|\| path` | `txs_per_block_max`: `position < count ≤` it, path `≤ ceil(log2 count)` |
//! | [`InvalidEncodingEvidence`] | `FORMAT_VERSION \|\| entry (84) \|\| count (varint) \|\| count × (index (u16) \|\| Chunk)` | `(Params, Limits)`: `count ≤ k` |
//!
//! A decoder never panics and never allocates more than its input's length plus these bounds.
//!
//! ## Costs
//!
//! Encoding hashes `n / k ≈ 3×` the payload bytes (chunk leaves) plus `n - 1` inner nodes per
//! namespace; all `n` paths come from one pass over the tree (`O(n)` hashes, not `O(n²)`).
//! Decoding re-encodes and re-hashes the chunks it did not receive (the ones it did receive are
//! compared byte for byte instead). Reed–Solomon runs in cache-sized column stripes, and
//! [`reconstruct`] decodes all namespaces of a block in one call, since a decoding's fixed cost
//! (~1.3 ms) would otherwise be paid per namespace; receiving the `k` originals (validators
//! `0..k`) needs no decoding at all. Each thread that codes keeps one Reed–Solomon encoder and
//! one decoder for reuse (their working memory, up to about 24 MiB together at the default
//! limits). This crate is single-threaded and does no I/O.

mod check;
mod decode;
mod encode;
mod header;
mod params;
mod proof;
mod rs;
mod share;
mod tree;
mod txproof;

pub use check::{BlockCheckError, verify_block};
pub use decode::{
    DecodeError, Decoded, InvalidEncodingEvidence, NOT_A_CODEWORD, decode_namespace,
    invalid_encoding_evidence, reconstruct, verify_invalid_encoding,
};
pub use encode::{
    build_block, commit_chunks, encode_namespace, encode_namespace_invalid, namespace_entry,
};
pub use header::check_header;
pub use params::{
    LENGTH_PREFIX_BYTES, Params, SHARD_ALIGN, VALIDATORS_MAX, chunk_bytes_max, namespace_bytes_max,
    shard_len, share_bytes_max,
};
pub use proof::{
    AbsenceProof, NamespaceProof, ProofError, prove_namespace, verify_absence, verify_namespace,
};
pub use share::{Chunk, Share, ShareError, namespace_chunks, verify_share};
pub use txproof::{TransactionProof, prove_among, prove_transaction, verify_transaction};

/// Merkle domain of namespace chunk trees.
pub const DOMAIN_CHUNK: &[u8] = b"_CORTADO_CHUNK";
