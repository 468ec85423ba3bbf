//! Coding parameters and the size bounds derived from them and the chain's [`Limits`].

use cortado_types::{Hash, Limits};
use reed_solomon_simd::ReedSolomonEncoder;

/// Bytes of the blob's length prefix (`u32` big-endian).
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// Chunk lengths are multiples of this many bytes (`reed-solomon-simd` codes 64-byte blocks
/// independently, so aligned namespaces of one block can share one decoding).
pub const SHARD_ALIGN: usize = 64;

/// The largest validator count [`Params::for_validators`] accepts: above it, `reed-solomon-simd`
/// (GF(2^16)) cannot code `k = f + 1` originals into `n - k` recovery shards.
pub const VALIDATORS_MAX: usize = 49_153;

/// Coding parameters of a validator set.
///
/// Valid parameters (see [`Params::check`]) have `1 ≤ k ≤ n` and, when `n > k`, a shard count
/// `reed-solomon-simd` supports. Every function of this crate panics on invalid parameters: they
/// are configuration, checked at start-up, never input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Params {
    /// Total chunks per namespace (= validators).
    pub n: u16,
    /// Chunks needed to recover a namespace (= f + 1).
    pub k: u16,
}

impl Params {
    /// The parameters for `n` validators: `k = f + 1`, `f = (n - 1) / 3`. Panics if `n` is 0 or
    /// above [`VALIDATORS_MAX`] (a configuration error, checked at start-up).
    pub fn for_validators(n: usize) -> Self {
        assert!(
            (1..=VALIDATORS_MAX).contains(&n),
            "{n} validators: Cortado's erasure code supports 1 to {VALIDATORS_MAX} validators"
        );
        let f = (n - 1) / 3;
        let params = Self {
            n: n as u16,
            k: (f + 1) as u16,
        };
        params.assert_valid();
        params
    }

    /// Checks that the parameters can be coded with; returns a message naming the problem.
    pub fn check(&self) -> Result<(), String> {
        if self.k == 0 || self.k > self.n {
            return Err(format!(
                "coding parameters n = {}, k = {}: need 1 <= k <= n",
                self.n, self.k
            ));
        }
        let (k, r) = (self.k as usize, self.recovery_count());
        if r > 0 && !ReedSolomonEncoder::supports(k, r) {
            return Err(format!(
                "coding parameters n = {}, k = {}: reed-solomon-simd cannot code {k} originals into {r} recovery shards",
                self.n, self.k
            ));
        }
        Ok(())
    }

    /// Panics with [`Self::check`]'s message if the parameters are invalid (configuration error).
    pub(crate) fn assert_valid(&self) {
        if let Err(message) = self.check() {
            panic!("{message}");
        }
    }

    /// Total chunks per namespace, as a `usize`.
    pub fn total(&self) -> usize {
        self.n as usize
    }

    /// Chunks needed to recover a namespace, as a `usize`.
    pub fn needed(&self) -> usize {
        self.k as usize
    }

    /// Reed–Solomon recovery chunks per namespace (`n - k`; 0 when `n == k`).
    pub fn recovery_count(&self) -> usize {
        (self.n as usize).saturating_sub(self.k as usize)
    }

    /// Length of a chunk's Merkle path: at most `ceil(log2(n))` (the tree's height).
    pub fn path_len_max(&self) -> usize {
        tree_height(self.n as usize)
    }
}

/// Height of an RFC-6962 tree of `size` leaves: `ceil(log2(size))`, 0 for 0 or 1 leaf.
pub(crate) fn tree_height(size: usize) -> usize {
    if size <= 1 {
        0
    } else {
        (usize::BITS - (size - 1).leading_zeros()) as usize
    }
}

/// The chunk length of a namespace whose coded bytes are `len` long: the smallest positive
/// multiple of [`SHARD_ALIGN`] (64) with `k * shard_len ≥ 4 + len` (saturating for absurd
/// lengths).
pub fn shard_len(params: Params, len: usize) -> usize {
    let k = params.needed().max(1);
    let need = len.saturating_add(LENGTH_PREFIX_BYTES);
    need.div_ceil(SHARD_ALIGN * k)
        .saturating_mul(SHARD_ALIGN)
        .max(SHARD_ALIGN)
}

/// Encoded size of a `u32` varint (how commonware-codec writes lengths).
pub(crate) fn varint_len(value: usize) -> usize {
    let bits = usize::BITS - value.leading_zeros();
    (bits as usize).div_ceil(7).max(1)
}

/// Upper bound on the coded bytes of one namespace within `limits`
/// ([`cortado_types::NamespaceData::encode_payloads`]): count prefix, a length prefix per
/// transaction, and the payload bytes.
pub fn namespace_bytes_max(limits: &Limits) -> usize {
    let tx_max = limits.tx_bytes_max.min(limits.block_bytes_max);
    varint_len(limits.txs_per_block_max)
        .saturating_add(limits.txs_per_block_max.saturating_mul(varint_len(tx_max)))
        .saturating_add(limits.block_bytes_max)
}

/// The largest chunk any namespace within `limits` produces: the bound a decoder puts on
/// [`crate::Chunk::data`].
pub fn chunk_bytes_max(params: Params, limits: &Limits) -> usize {
    shard_len(params, namespace_bytes_max(limits))
}

/// The largest encoded [`crate::Share`] any block within `limits` produces: the bound for the
/// p2p message carrying a share (add the channel's framing slack).
///
/// The chunks of all namespaces add up to at most
/// `(4·N + Σ encoded namespace bytes) / k + 64·N` bytes (each chunk is rounded up to a multiple
/// of 64), where `N = namespaces_per_block_max` and the encoded bytes are bounded as in
/// [`namespace_bytes_max`] summed over the block.
pub fn share_bytes_max(params: Params, limits: &Limits) -> usize {
    let namespaces = limits.namespaces_per_block_max;
    let k = params.needed().max(1);
    let tx_max = limits.tx_bytes_max.min(limits.block_bytes_max);
    // Σ over namespaces of (length prefix + count prefix + per-tx length prefixes + bytes).
    let coded_total = namespaces
        .saturating_mul(LENGTH_PREFIX_BYTES + varint_len(limits.txs_per_block_max))
        .saturating_add(limits.txs_per_block_max.saturating_mul(varint_len(tx_max)))
        .saturating_add(limits.block_bytes_max);
    let data_total = coded_total
        .div_ceil(k)
        .saturating_add(namespaces.saturating_mul(SHARD_ALIGN))
        .min(namespaces.saturating_mul(chunk_bytes_max(params, limits)));
    let path = params.path_len_max();
    let per_chunk_overhead = varint_len(chunk_bytes_max(params, limits))
        .saturating_add(varint_len(path))
        .saturating_add(path * Hash::LENGTH);
    (1usize + 2)
        .saturating_add(varint_len(namespaces))
        .saturating_add(namespaces.saturating_mul(per_chunk_overhead))
        .saturating_add(data_total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reed_solomon_simd::ReedSolomonDecoder;

    #[test]
    fn validator_counts() {
        assert_eq!(Params::for_validators(1), Params { n: 1, k: 1 });
        assert_eq!(Params::for_validators(3), Params { n: 3, k: 1 });
        assert_eq!(Params::for_validators(4), Params { n: 4, k: 2 });
        assert_eq!(Params::for_validators(10), Params { n: 10, k: 4 });
        assert_eq!(Params::for_validators(100), Params { n: 100, k: 34 });
    }

    #[test]
    fn validators_max_is_exact() {
        for n in 1..=VALIDATORS_MAX {
            let f = (n - 1) / 3;
            let (k, r) = (f + 1, n - f - 1);
            assert!(
                r == 0
                    || (ReedSolomonEncoder::supports(k, r) && ReedSolomonDecoder::supports(k, r)),
                "n = {n}"
            );
        }
        let n = VALIDATORS_MAX + 1;
        let k = (n - 1) / 3 + 1;
        assert!(!ReedSolomonEncoder::supports(k, n - k));
        Params::for_validators(VALIDATORS_MAX);
    }

    #[test]
    #[should_panic(expected = "supports 1 to")]
    fn zero_validators_panics() {
        Params::for_validators(0);
    }

    #[test]
    #[should_panic(expected = "supports 1 to")]
    fn too_many_validators_panics() {
        Params::for_validators(VALIDATORS_MAX + 1);
    }

    #[test]
    fn check_rejects_bad_params() {
        assert!(Params { n: 4, k: 0 }.check().is_err());
        assert!(Params { n: 4, k: 5 }.check().is_err());
        assert!(Params { n: 4, k: 4 }.check().is_ok());
        assert!(
            Params {
                n: 60_000,
                k: 20_000
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn heights() {
        let expect = [
            (0, 0),
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 3),
            (100, 7),
            (1024, 10),
        ];
        for (size, height) in expect {
            assert_eq!(tree_height(size), height, "size {size}");
        }
    }

    #[test]
    fn shard_lengths_are_minimal_and_aligned() {
        for k in 1..=40u16 {
            let params = Params { n: 3 * k, k };
            for len in (0..3000).chain([1 << 20, 8 << 20]) {
                let s = shard_len(params, len);
                assert!(s >= 64 && s.is_multiple_of(64));
                assert!(s * k as usize >= 4 + len);
                assert!(s == 64 || (s - 64) * (k as usize) < 4 + len);
            }
        }
    }

    #[test]
    fn varint_lengths() {
        use commonware_codec::EncodeSize;
        for v in [
            0usize,
            1,
            127,
            128,
            16_383,
            16_384,
            1 << 20,
            u32::MAX as usize,
        ] {
            assert_eq!(varint_len(v), v.encode_size(), "{v}");
        }
    }
}
