//! Live consensus status, shared with the API: current view, finalized height, last finality
//! latency, nullifications, and catch-up progress.
//!
//! A node is *syncing* while the highest finalized height it knows of (the tip marshal reports)
//! is more than [`SYNCED_LAG_BLOCKS`] above the height it has processed (stored and indexed).
//! The finalizer samples both heights about once a second ([`Status::sample`]); the rates are
//! smoothed over the samples, and the estimated time to the tip is the distance divided by how
//! much faster than the chain this node advances.

use crate::{Digest, Scheme};
use commonware_actor::Feedback;
use commonware_consensus::{Viewable, simplex::types::Activity};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

#[derive(Default)]
struct Inner {
    view: AtomicU64,
    finalized_height: AtomicU64,
    last_latency_ms: AtomicU64,
    nullifications: AtomicU64,
    finalizations: AtomicU64,
    tip: AtomicU64,
    /// Blocks per second processed here, × 1000.
    rate_milli: AtomicU64,
    /// Blocks per second the chain grows (the tip), × 1000.
    chain_rate_milli: AtomicU64,
}

/// A node more than this many blocks below the known tip reports that it is syncing (a live
/// node is a few blocks behind at most: the ones being reconstructed).
pub const SYNCED_LAG_BLOCKS: u64 = 8;

/// Catch-up progress, as [`Status::sync`] reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyncProgress {
    /// Highest finalized height this node processed.
    pub height: u64,
    /// Highest finalized height this node knows of.
    pub tip: u64,
    /// Blocks per second this node processes (smoothed).
    pub rate: f64,
    /// Blocks per second the chain grows (smoothed).
    pub chain_rate: f64,
}

impl SyncProgress {
    /// Blocks between the processed height and the tip.
    pub fn behind(&self) -> u64 {
        self.tip.saturating_sub(self.height)
    }

    /// Whether this node is catching up.
    pub fn syncing(&self) -> bool {
        self.behind() > SYNCED_LAG_BLOCKS
    }

    /// Estimated seconds to the tip at the current rates (`None` while not gaining).
    pub fn eta_seconds(&self) -> Option<f64> {
        let gain = self.rate - self.chain_rate;
        (gain > 0.0).then(|| self.behind() as f64 / gain)
    }
}

/// Samples heights about once a second and smooths the rates into a [`Status`].
#[derive(Debug, Default)]
pub(crate) struct RateSampler {
    last: Option<(u64, u64, u64)>,
}

/// Shortest interval between two samples, in milliseconds.
const SAMPLE_MS: u64 = 1_000;

impl RateSampler {
    /// Whether no sample was taken yet.
    pub(crate) fn is_new(&self) -> bool {
        self.last.is_none()
    }

    /// Records (`now_ms`, heights) into `status` if a sample is due; returns whether it was.
    pub(crate) fn sample(&mut self, status: &Status, now_ms: u64) -> bool {
        let height = status.finalized_height();
        let tip = status.tip().max(height);
        let Some((at, h0, t0)) = self.last else {
            self.last = Some((now_ms, height, tip));
            return false;
        };
        let elapsed = now_ms.saturating_sub(at);
        if elapsed < SAMPLE_MS {
            return false;
        }
        let per_s = |d: u64| (d as f64) * 1000.0 / elapsed as f64;
        let smooth = |old: &AtomicU64, new: f64| {
            let old = old.load(Ordering::Relaxed) as f64 / 1000.0;
            let value = if old == 0.0 { new } else { (old + new) / 2.0 };
            (value * 1000.0) as u64
        };
        let rate = smooth(&status.0.rate_milli, per_s(height.saturating_sub(h0)));
        let chain = smooth(&status.0.chain_rate_milli, per_s(tip.saturating_sub(t0)));
        status.0.rate_milli.store(rate, Ordering::Relaxed);
        status.0.chain_rate_milli.store(chain, Ordering::Relaxed);
        self.last = Some((now_ms, height, tip));
        true
    }
}

/// A cheap, cloneable view of consensus progress. Also a simplex reporter that keeps it current.
#[derive(Clone, Default)]
pub struct Status(Arc<Inner>);

impl Status {
    /// Highest view in which this node saw a certificate.
    pub fn view(&self) -> u64 {
        self.0.view.load(Ordering::Relaxed)
    }

    /// Highest finalized height durably processed by this node.
    pub fn finalized_height(&self) -> u64 {
        self.0.finalized_height.load(Ordering::Relaxed)
    }

    /// Proposal timestamp → finalized-and-stored here, for the latest block, in ms.
    pub fn last_finality_latency_ms(&self) -> Option<u64> {
        match self.0.last_latency_ms.load(Ordering::Relaxed) {
            0 => None,
            v => Some(v - 1),
        }
    }

    /// Highest finalized height this node knows of (it may not have processed it yet).
    pub fn tip(&self) -> u64 {
        self.0.tip.load(Ordering::Relaxed)
    }

    /// Catch-up progress: processed height, tip and rates.
    pub fn sync(&self) -> SyncProgress {
        let height = self.finalized_height();
        SyncProgress {
            height,
            tip: self.tip().max(height),
            rate: self.0.rate_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            chain_rate: self.0.chain_rate_milli.load(Ordering::Relaxed) as f64 / 1000.0,
        }
    }

    pub(crate) fn saw_tip(&self, height: u64) {
        self.0.tip.fetch_max(height, Ordering::Relaxed);
    }

    /// Nullification certificates seen (views skipped).
    pub fn nullifications(&self) -> u64 {
        self.0.nullifications.load(Ordering::Relaxed)
    }

    /// Finalization certificates seen.
    pub fn finalizations(&self) -> u64 {
        self.0.finalizations.load(Ordering::Relaxed)
    }

    pub(crate) fn set_finalized(&self, height: u64, latency_ms: u64) {
        self.0.finalized_height.fetch_max(height, Ordering::Relaxed);
        self.0
            .last_latency_ms
            .store(latency_ms.saturating_add(1), Ordering::Relaxed);
    }

    fn saw_view(&self, view: u64) {
        self.0.view.fetch_max(view, Ordering::Relaxed);
    }
}

impl commonware_consensus::Reporter for Status {
    type Activity = Activity<Scheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match &activity {
            Activity::Notarization(n) => self.saw_view(n.view().get()),
            Activity::Finalization(f) => {
                self.0.finalizations.fetch_add(1, Ordering::Relaxed);
                self.saw_view(f.view().get());
            }
            Activity::Nullification(n) => {
                self.0.nullifications.fetch_add(1, Ordering::Relaxed);
                self.saw_view(n.view().get());
            }
            _ => {}
        }
        Feedback::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncing_rates_and_eta() {
        let status = Status::default();
        let mut sampler = RateSampler::default();
        status.set_finalized(100, 0);
        status.saw_tip(1_100);
        assert!(
            !sampler.sample(&status, 10_000),
            "the first call only starts"
        );
        assert!(status.sync().syncing());
        assert_eq!(status.sync().eta_seconds(), None, "no rate yet");
        // One second later: 200 blocks processed, the chain grew by 10.
        status.set_finalized(300, 0);
        status.saw_tip(1_110);
        assert!(!sampler.sample(&status, 10_500), "not due yet");
        assert!(sampler.sample(&status, 11_000));
        let s = status.sync();
        assert_eq!((s.height, s.tip, s.behind()), (300, 1_110, 810));
        assert_eq!((s.rate, s.chain_rate), (200.0, 10.0));
        assert_eq!(s.eta_seconds(), Some(810.0 / 190.0));
        // Smoothed: the next second at 100 blocks/s averages to 150.
        status.set_finalized(400, 0);
        assert!(sampler.sample(&status, 12_000));
        assert_eq!(status.sync().rate, 150.0);
        // At the tip.
        status.set_finalized(1_105, 0);
        assert!(!status.sync().syncing());
        status.set_finalized(1_110, 0);
        assert_eq!(status.sync().behind(), 0);
    }
}
