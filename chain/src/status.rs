//! Live consensus status, shared with the API: current view, finalized height, last finality
//! latency, nullifications.

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
