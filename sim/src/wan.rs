//! A simulated wide-area network: validators placed round-robin in 10 AWS regions, links with the
//! published inter-region latencies, and the simplex latency floor computed from the same matrix.
//!
//! Source of the matrix: the p50 round-trip times of cloudping.co between the regions below, as
//! embedded in `commonware-estimator` 2026.10.0 (`src/p50.json`); one-way latency is half the
//! round trip. Validators in the same region get 1 ms one way. The regions are those of
//! commonware's alto 50-validator deployment.

use commonware_p2p::simulated::Link;
use std::time::Duration;

/// The regions, in placement order (validator `i` is in `REGIONS[i % 10]`).
pub const REGIONS: [&str; 10] = [
    "us-west-1",
    "us-east-1",
    "eu-west-1",
    "ap-northeast-1",
    "eu-north-1",
    "ap-south-1",
    "sa-east-1",
    "eu-central-1",
    "ap-northeast-2",
    "ap-southeast-2",
];

/// p50 round-trip times in ms, `RTT[a][b]` from `REGIONS[a]` to `REGIONS[b]`.
#[rustfmt::skip]
pub const RTT_MS: [[f64; 10]; 10] = [
    [0.0, 63.9, 129.9, 108.3, 172.9, 232.0, 174.8, 153.3, 133.5, 139.1],
    [64.2, 0.0, 69.6, 149.7, 112.8, 192.5, 115.3, 93.2, 179.8, 199.8],
    [130.1, 69.7, 0.0, 202.3, 40.9, 125.9, 178.2, 27.5, 232.6, 255.7],
    [108.7, 149.5, 202.5, 0.0, 247.2, 134.3, 258.3, 227.6, 36.3, 106.9],
    [172.5, 112.2, 39.7, 246.7, 0.0, 148.9, 223.0, 23.0, 250.1, 271.2],
    [231.6, 189.7, 125.4, 133.3, 148.4, 0.0, 301.0, 129.0, 134.5, 154.7],
    [175.3, 115.4, 178.6, 258.9, 223.3, 301.8, 0.0, 205.0, 289.7, 312.4],
    [153.0, 92.7, 27.0, 227.0, 22.9, 129.3, 204.0, 0.0, 230.8, 251.3],
    [133.9, 179.5, 233.2, 36.4, 250.4, 135.2, 289.4, 231.6, 0.0, 145.2],
    [139.2, 199.7, 255.6, 105.8, 271.6, 154.9, 312.1, 251.6, 146.1, 0.0],
];

/// One-way latency between validators `i` and `j` in ms.
pub fn one_way_ms(i: usize, j: usize) -> f64 {
    if i == j {
        return 0.0;
    }
    let (a, b) = (i % REGIONS.len(), j % REGIONS.len());
    if a == b { 1.0 } else { RTT_MS[a][b] / 2.0 }
}

/// The simulated link from `i` to `j` (1 ms jitter, no loss).
pub fn link(i: usize, j: usize) -> Link {
    Link {
        latency: Duration::from_micros((one_way_ms(i, j) * 1000.0) as u64),
        jitter: Duration::from_millis(1),
        success_rate: commonware_utils::probability!(1.0),
    }
}

/// The `q`-th smallest value (1-based).
fn kth(mut v: Vec<f64>, q: usize) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[q - 1]
}

/// The simplex floor for a proposal by `leader` among `n` validators: for each validator, the
/// time from the proposal to its finalization when every message takes exactly the matrix
/// latency and nothing else takes time. A validator notarizes once 2f+1 notarize votes reached
/// it (each sent when its sender received the proposal); it finalizes once 2f+1 finalize votes
/// reached it (each sent when its sender notarized).
pub fn floor_ms(n: usize, leader: usize) -> Vec<f64> {
    let f = (n - 1) / 3;
    let quorum = n - f;
    let proposal: Vec<f64> = (0..n).map(|k| one_way_ms(leader, k)).collect();
    let notarized: Vec<f64> = (0..n)
        .map(|j| {
            kth(
                (0..n).map(|k| proposal[k] + one_way_ms(k, j)).collect(),
                quorum,
            )
        })
        .collect();
    (0..n)
        .map(|j| {
            kth(
                (0..n).map(|k| notarized[k] + one_way_ms(k, j)).collect(),
                quorum,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_is_between_three_shortest_and_three_longest_hops() {
        for n in [4, 10, 50] {
            let pairs = (0..n).flat_map(|i| (0..n).filter(move |j| *j != i).map(move |j| (i, j)));
            let (min, max) = pairs.fold((f64::MAX, 0.0f64), |(lo, hi), (i, j)| {
                let d = one_way_ms(i, j);
                (lo.min(d), hi.max(d))
            });
            for leader in 0..n {
                for (j, f) in floor_ms(n, leader).into_iter().enumerate() {
                    assert!(f <= 3.0 * max, "n={n} leader={leader} j={j}: {f} > 3*{max}");
                    // Every validator needs votes from a quorum, which includes others.
                    assert!(f >= 2.0 * min, "n={n} leader={leader} j={j}: {f} < 2*{min}");
                }
            }
        }
        // One validator: it proposes, votes and finalizes alone.
        assert_eq!(floor_ms(1, 0), vec![0.0]);
    }

    #[test]
    fn matrix_is_roughly_symmetric() {
        for (a, row) in RTT_MS.iter().enumerate() {
            for (b, rtt) in row.iter().enumerate() {
                assert!((rtt - RTT_MS[b][a]).abs() < 5.0, "{a} {b}");
            }
        }
    }
}
