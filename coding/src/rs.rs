//! Reed–Solomon coding through `reed-solomon-simd`, in column stripes.
//!
//! `reed-solomon-simd` codes each 64-byte block of a shard (32 GF(2^16) symbols) independently
//! of the others, so coding a shard in stripes whose boundaries fall on multiples of 64 gives the
//! same bytes as coding it whole, and so does coding the concatenation of several namespaces'
//! shards when each shard length is a multiple of 64 ([`crate::SHARD_ALIGN`]). The tests check
//! both equalities. Stripes keep the coder's working memory in cache (large shards code 2–3×
//! faster); concatenation lets a block's namespaces share one decoding, whose fixed cost (about
//! 1.3 ms: evaluating the erasure locator over all 2^16 field elements) would otherwise be paid
//! per namespace.

use crate::Params;
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};
use std::cell::RefCell;

/// Stripe width for encoding (a multiple of 64).
const ENCODE_STRIPE: usize = 32 * 1024;
/// Decoder working memory aimed at per stripe: wide enough to amortise the fixed cost.
const DECODE_WORK_BYTES: usize = 16 << 20;
/// Narrowest decoding stripe (a multiple of 64).
const DECODE_STRIPE_MIN: usize = 64 * 1024;

thread_local! {
    /// One encoder and one decoder per thread, reused so that their working memory (up to a few
    /// MiB) is not allocated, zeroed and faulted in again for every namespace.
    static ENCODER: RefCell<Option<ReedSolomonEncoder>> = const { RefCell::new(None) };
    static DECODER: RefCell<Option<ReedSolomonDecoder>> = const { RefCell::new(None) };
}

/// The `n - k` recovery shards of `originals` (`k` shards of `shard` bytes each).
///
/// Each shard is its own allocation: one contiguous `(n - k) · shard` buffer is large enough to
/// be mapped fresh by the allocator every time, and faulting it in costs more than the coding.
/// Panics if the parameters are invalid or the originals are not `k` shards of `shard` bytes,
/// `shard` even and non-zero: the callers establish both.
pub(crate) fn encode(params: Params, shard: usize, originals: &[&[u8]]) -> Vec<Vec<u8>> {
    let (k, r) = (params.needed(), params.recovery_count());
    assert!(
        originals.len() == k && originals.iter().all(|o| o.len() == shard),
        "k originals of {shard} bytes"
    );
    let mut out: Vec<Vec<u8>> = (0..r).map(|_| Vec::with_capacity(shard)).collect();
    if r == 0 {
        return out;
    }
    ENCODER.with_borrow_mut(|cached| {
        for (start, len) in stripes(shard, ENCODE_STRIPE) {
            let encoder = match cached {
                Some(encoder) => {
                    encoder
                        .reset(k, r, len)
                        .expect("coding parameters and shard length were checked");
                    encoder
                }
                None => cached.insert(
                    ReedSolomonEncoder::new(k, r, len)
                        .expect("coding parameters and shard length were checked"),
                ),
            };
            for original in originals {
                encoder
                    .add_original_shard(&original[start..start + len])
                    .expect("k originals of one even length");
            }
            let result = encoder.encode().expect("k originals were added");
            for (out, recovery) in out.iter_mut().zip(result.recovery_iter()) {
                out.extend_from_slice(recovery);
            }
        }
    });
    out
}

/// The `k` originals from `k` distinct chunks `(index, bytes)` of `shard` bytes each (original
/// `i` is chunk `i`; recovery shard `j` is chunk `k + j`).
///
/// Panics if that does not hold (the callers select and check the chunks).
pub(crate) fn decode(params: Params, shard: usize, given: &[(usize, &[u8])]) -> Vec<Vec<u8>> {
    let (k, r) = (params.needed(), params.recovery_count());
    assert!(
        given.len() == k && given.iter().all(|(i, c)| *i < k + r && c.len() == shard),
        "k chunks of {shard} bytes"
    );
    let mut present: Vec<Option<&[u8]>> = vec![None; k];
    for (i, chunk) in given.iter().filter(|(i, _)| *i < k) {
        present[*i] = Some(chunk);
    }
    if present.iter().all(Option::is_some) {
        return present.into_iter().flatten().map(<[u8]>::to_vec).collect();
    }
    let mut out: Vec<Vec<u8>> = (0..k).map(|_| Vec::with_capacity(shard)).collect();
    let work_shards = (k.next_power_of_two() + r).next_power_of_two();
    let stripe = (DECODE_WORK_BYTES / work_shards).max(DECODE_STRIPE_MIN) / 64 * 64;
    DECODER.with_borrow_mut(|cached| {
        for (start, len) in stripes(shard, stripe) {
            let decoder = match cached {
                Some(decoder) => {
                    decoder
                        .reset(k, r, len)
                        .expect("coding parameters and shard length were checked");
                    decoder
                }
                None => cached.insert(
                    ReedSolomonDecoder::new(k, r, len)
                        .expect("coding parameters and shard length were checked"),
                ),
            };
            for (i, chunk) in given {
                let piece = &chunk[start..start + len];
                if *i < k {
                    decoder.add_original_shard(*i, piece)
                } else {
                    decoder.add_recovery_shard(*i - k, piece)
                }
                .expect("distinct in-range chunks of one even length");
            }
            let result = decoder
                .decode()
                .expect("k distinct chunks of one even length always decode");
            for (i, out) in out.iter_mut().enumerate() {
                match present[i] {
                    Some(chunk) => out.extend_from_slice(&chunk[start..start + len]),
                    None => out.extend_from_slice(
                        result
                            .restored_original(i)
                            .expect("the decoder restores every missing original"),
                    ),
                }
            }
        }
    });
    out
}

/// `(start, len)` of consecutive stripes of at most `width` bytes covering `0..total`.
fn stripes(total: usize, width: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..total)
        .step_by(width)
        .map(move |start| (start, width.min(total - start)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn originals(k: usize, shard: usize, seed: usize) -> Vec<Vec<u8>> {
        (0..k)
            .map(|i| {
                (0..shard)
                    .map(|b| ((b * 31 + i * 7 + seed) % 251) as u8)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn striped_coding_matches_whole_shard_coding() {
        // Sizes straddling the stripe widths, including non-multiples of 64.
        for (k, r) in [(1, 2), (2, 2), (4, 6), (34, 66)] {
            let params = Params {
                n: (k + r) as u16,
                k: k as u16,
            };
            for shard in [
                2,
                64,
                66,
                4096,
                ENCODE_STRIPE + 64,
                ENCODE_STRIPE * 2 + 6,
                200_002,
            ] {
                let originals = originals(k, shard, shard);
                let refs: Vec<&[u8]> = originals.iter().map(Vec::as_slice).collect();
                let ours = encode(params, shard, &refs);
                let theirs = reed_solomon_simd::encode(k, r, &refs).unwrap();
                assert_eq!(ours, theirs, "k = {k}, shard = {shard}");
                // Decode from the last k chunks (recovery first).
                let all: Vec<&[u8]> = refs
                    .iter()
                    .copied()
                    .chain(ours.iter().map(Vec::as_slice))
                    .collect();
                let given: Vec<(usize, &[u8])> = (k + r - k..k + r).map(|i| (i, all[i])).collect();
                assert_eq!(decode(params, shard, &given), originals);
            }
        }
    }

    #[test]
    fn concatenated_aligned_shards_code_independently() {
        let params = Params { n: 10, k: 4 };
        let (a, b) = (originals(4, 128, 1), originals(4, 192, 2));
        let joined: Vec<Vec<u8>> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| [x.clone(), y.clone()].concat())
            .collect();
        fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
            v.iter().map(Vec::as_slice).collect()
        }
        let (ra, rb) = (
            encode(params, 128, &refs(&a)),
            encode(params, 192, &refs(&b)),
        );
        let rj = encode(params, 320, &refs(&joined));
        for j in 0..6 {
            assert_eq!(rj[j], [ra[j].as_slice(), rb[j].as_slice()].concat());
        }
    }
}
