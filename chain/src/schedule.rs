//! Who leads the next views: simplex's round-robin elector, consulted ahead of time so that the
//! mempool can send local transactions to the validators about to propose.
//!
//! The schedule is the consensus elector itself (`RoundRobin::<Sha256>::default()` built over the
//! genesis set), not a copy of its rule, so the two cannot drift apart. The current view is the
//! one after the highest view this node saw a certificate for ([`Status::view`]); a lagging node
//! forwards to leaders slightly in the past, which only costs an extra view of latency.

use crate::{PublicKey, Scheme, Status};
use commonware_consensus::{
    simplex::elector::{Config as _, Elector as _, RoundRobin, RoundRobinElector},
    types::{Epoch, Round, View},
};
use commonware_cryptography::sha256::Sha256;
use commonware_utils::ordered::Set;

/// The leader schedule of the chain's single epoch.
#[derive(Clone)]
pub struct Schedule {
    elector: RoundRobinElector<Scheme>,
    participants: Vec<PublicKey>,
    status: Status,
}

impl Schedule {
    /// The schedule of `participants` (the genesis set), following `status` for the current
    /// view.
    pub fn new(participants: &Set<PublicKey>, status: Status) -> Self {
        Self {
            elector: RoundRobin::<Sha256>::default().build(participants),
            participants: participants.iter().cloned().collect(),
            status,
        }
    }

    /// The leader of `view`.
    pub fn leader(&self, view: u64) -> &PublicKey {
        let round = Round::new(Epoch::zero(), View::new(view));
        let index = self.elector.elect(round, ()).get() as usize;
        &self.participants[index]
    }

    /// The distinct leaders of the next views after the current one, `me` excluded, at most
    /// `count` of them, nearest first. Looks at most `count + 1` views ahead (one of them may be
    /// `me`'s), so with `count ≥ n - 1` it names every other validator.
    pub fn upcoming(&self, me: &PublicKey, count: usize) -> Vec<PublicKey> {
        let current = self.status.view().saturating_add(1);
        let mut leaders: Vec<PublicKey> = Vec::with_capacity(count);
        for view in current..current.saturating_add(count as u64 + 1) {
            let leader = self.leader(view);
            if leader != me && !leaders.contains(leader) {
                leaders.push(leader.clone());
            }
            if leaders.len() == count {
                break;
            }
        }
        leaders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};

    #[test]
    fn upcoming_leaders_rotate_and_skip_me() {
        let keys: Vec<PublicKey> = (0..4u64)
            .map(|i| PrivateKey::from_seed(i).public_key())
            .collect();
        let set = Set::try_from(keys).unwrap();
        let status = Status::default();
        let schedule = Schedule::new(&set, status);
        let order: Vec<PublicKey> = (1..=4).map(|v| schedule.leader(v).clone()).collect();
        // Round-robin: four consecutive views have four different leaders, then it repeats.
        for (i, a) in order.iter().enumerate() {
            assert!(!order[i + 1..].contains(a));
        }
        assert_eq!(schedule.leader(5), &order[0]);
        // From view 1 (nothing certified yet), the next two leaders other than `me`.
        let me = order[1].clone();
        assert_eq!(
            schedule.upcoming(&me, 2),
            vec![order[0].clone(), order[2].clone()]
        );
        assert_eq!(schedule.upcoming(&me, 3).len(), 3);
        assert_eq!(schedule.upcoming(&me, 10).len(), 3, "every other validator");
        assert!(!schedule.upcoming(&me, 10).contains(&me));
    }
}
