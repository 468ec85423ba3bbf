//! The ceremony's rules with messages passed by hand: four participants agree on one key whose
//! secret no participant holds, a dealing that fails its check is named and never
//! acknowledged, a restored participant deals and ends the same, a confirmation of another
//! output stops the ceremony.

use super::{
    Plan, Transcript,
    state::{Ceremony, Completed, Persisted, To},
    wire::Wire,
};
use crate::{PrivateKey, PublicKey, Variant};
use commonware_codec::{Decode as _, Encode as _};
use commonware_cryptography::{
    Signer as _,
    bls12381::primitives::ops::{self, threshold},
};
use commonware_math::algebra::Random as _;
use commonware_parallel::Sequential;
use commonware_utils::{ordered::Set, test_rng};
use std::collections::VecDeque;

type Message = (PublicKey, PublicKey, Wire);

fn keys(n: u64) -> Vec<PrivateKey> {
    let mut keys: Vec<PrivateKey> = (0..n).map(PrivateKey::from_seed).collect();
    keys.sort_by_key(|k| k.public_key());
    keys
}

fn plan(keys: &[PrivateKey]) -> Plan {
    Plan {
        chain_id: 7,
        round: 0,
        participants: Set::try_from(keys.iter().map(|k| k.public_key()).collect::<Vec<_>>())
            .unwrap(),
    }
}

fn route(queue: &mut VecDeque<Message>, plan: &Plan, from: &PublicKey, out: Vec<(To, Wire)>) {
    for (to, wire) in out {
        match to {
            To::One(peer) => queue.push_back((from.clone(), peer, wire)),
            To::All => {
                for peer in plan.participants.iter().filter(|p| *p != from) {
                    queue.push_back((from.clone(), peer.clone(), wire.clone()));
                }
            }
        }
    }
}

/// Delivers messages (through their encoding) until none is left, passing each through
/// `tamper` first; repeats statuses and dealings a few rounds, as the timer would.
fn settle(
    ceremonies: &mut [Ceremony],
    keys: &[PrivateKey],
    queue: &mut VecDeque<Message>,
    mut tamper: impl FnMut(&PublicKey, &PublicKey, Wire) -> Option<Wire>,
) {
    let mut rng = test_rng();
    let plan = ceremonies[0].plan().clone();
    let n = plan.n();
    for _ in 0..4 {
        while let Some((from, to, wire)) = queue.pop_front() {
            let Some(wire) = tamper(&from, &to, wire) else {
                continue;
            };
            let wire = Wire::decode_cfg(wire.encode(), &n).expect("round trips");
            let i = keys.iter().position(|k| k.public_key() == to).unwrap();
            let out = ceremonies[i].on_message(from, wire, &mut rng);
            route(queue, &plan, &to, out);
        }
        for (c, k) in ceremonies.iter().zip(keys) {
            route(queue, &plan, &k.public_key(), c.resend());
        }
    }
}

fn start(keys: &[PrivateKey]) -> (Vec<Ceremony>, VecDeque<Message>) {
    let plan = plan(keys);
    let mut rng = test_rng();
    let mut queue = VecDeque::new();
    let mut ceremonies: Vec<Ceremony> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Ceremony::new(plan.clone(), k.clone(), [i as u8 + 1; 32]).unwrap())
        .collect();
    for (c, k) in ceremonies.iter_mut().zip(keys) {
        let out = c.start(&mut rng);
        route(&mut queue, &plan, &k.public_key(), out);
    }
    (ceremonies, queue)
}

fn completed(ceremonies: &[Ceremony]) -> Vec<Completed> {
    ceremonies
        .iter()
        .map(|c| {
            c.completed()
                .unwrap_or_else(|| panic!("not complete:\n{}", c.report()))
        })
        .collect()
}

#[test]
fn four_participants_agree_on_one_key_whose_secret_nobody_holds() {
    let keys = keys(4);
    let (mut ceremonies, mut queue) = start(&keys);
    settle(&mut ceremonies, &keys, &mut queue, |_, _, w| Some(w));
    let done = completed(&ceremonies);
    let output = &done[0].output;
    let sharing = output.public();
    for (i, d) in done.iter().enumerate() {
        assert_eq!(d.output, *output, "one output for everyone");
        assert_eq!(usize::from(d.share.index), i);
        assert_eq!(
            sharing.partial_public(d.share.index).unwrap(),
            d.share.public::<Variant>(),
            "each share matches the public polynomial"
        );
    }
    assert!(
        output.revealed().is_empty(),
        "every dealing acknowledged: nothing revealed"
    );
    // 2f + 1 = 3 shares sign for the group key; 2 recover nothing.
    let (ns, msg) = (b"_TEST", b"a block");
    let partials: Vec<_> = done
        .iter()
        .map(|d| threshold::sign_message::<Variant>(&d.share, ns, msg))
        .collect();
    let signature =
        threshold::recover::<Variant, _>(sharing, &partials[1..4], &Sequential).unwrap();
    ops::verify_message::<Variant>(sharing.public(), ns, msg, &signature).unwrap();
    assert!(threshold::recover::<Variant, _>(sharing, &partials[..2], &Sequential).is_err());
    // The transcript proves the output without any secret, through its encoding.
    let plan = ceremonies[0].plan().clone();
    let transcript = Transcript::decode_cfg(done[2].transcript.encode(), &plan.n()).unwrap();
    assert_eq!(transcript, done[2].transcript);
    assert_eq!(transcript.verify(&plan, &mut test_rng()).unwrap(), *output);
    // Tampered transcripts do not.
    let mut t = transcript.clone();
    t.confirmations.pop();
    assert!(
        t.verify(&plan, &mut test_rng())
            .unwrap_err()
            .to_string()
            .contains("[3] did not confirm")
    );
    let mut t = transcript.clone();
    t.confirmations[1].1 = t.confirmations[0].1.clone();
    assert!(t.verify(&plan, &mut test_rng()).is_err());
    let mut t = transcript.clone();
    t.logs.swap(0, 1);
    t.logs[0] = t.logs[1].clone();
    assert!(
        t.verify(&plan, &mut test_rng())
            .unwrap_err()
            .to_string()
            .contains("two logs")
    );
    let other = Plan {
        chain_id: 8,
        ..plan.clone()
    };
    assert!(
        transcript.verify(&other, &mut test_rng()).is_err(),
        "bound to the chain id"
    );
    let other = Plan { round: 1, ..plan };
    assert!(
        transcript.verify(&other, &mut test_rng()).is_err(),
        "bound to the round"
    );
}

#[test]
fn a_dealer_whose_own_log_completes_the_set_confirms() {
    // Participant 0 hears no acknowledgement until every other log reached it: its own log is
    // the last one it gets (found on real processes, where it then never confirmed).
    let keys = keys(4);
    let (mut ceremonies, mut queue) = start(&keys);
    let first = keys[0].public_key();
    settle(
        &mut ceremonies,
        &keys,
        &mut queue,
        |_, to, wire| match wire {
            Wire::Ack(_) if *to == first => None,
            other => Some(other),
        },
    );
    assert!(ceremonies[0].report().contains("has not acknowledged"));
    settle(&mut ceremonies, &keys, &mut queue, |_, _, w| Some(w));
    completed(&ceremonies);
}

#[test]
fn a_dealing_that_fails_its_check_is_named_and_never_acknowledged() {
    let keys = keys(4);
    let (mut ceremonies, mut queue) = start(&keys);
    let (liar, victim) = (keys[0].public_key(), keys[1].public_key());
    // The liar sends the victim another player's evaluation.
    let stolen = match queue.iter().find(|(f, t, w)| {
        *f == liar && *t == keys[2].public_key() && matches!(w, Wire::Dealing { .. })
    }) {
        Some((_, _, Wire::Dealing { evaluation, .. })) => evaluation.clone(),
        _ => panic!("a dealing to participant 2"),
    };
    settle(
        &mut ceremonies,
        &keys,
        &mut queue,
        |from, to, wire| match wire {
            Wire::Dealing { commitment, .. } if *from == liar && *to == victim => {
                Some(Wire::Dealing {
                    commitment,
                    evaluation: stolen.clone(),
                })
            }
            other => Some(other),
        },
    );
    assert!(
        ceremonies.iter().all(|c| c.completed().is_none()),
        "no log from the liar"
    );
    let report = ceremonies[1].report();
    assert!(
        report.contains(&format!(
            "participant 0 {liar}: its dealing to this participant failed its check"
        )),
        "{report}"
    );
    let report = ceremonies[0].report();
    assert!(
        report.contains("participant 1") && report.contains("has not acknowledged"),
        "{report}"
    );
}

#[test]
fn a_restored_participant_deals_the_same_and_ends_with_the_same_key() {
    let keys = keys(4);
    let (mut reference, mut queue) = start(&keys);
    settle(&mut reference, &keys, &mut queue, |_, _, w| Some(w));
    let expected = completed(&reference)[0].output.clone();

    // The same seeds; participant 2 crashes after the dealings and acknowledgements (before
    // any log), and resumes from what it stored.
    let (mut ceremonies, mut queue) = start(&keys);
    settle(&mut ceremonies, &keys, &mut queue, |_, _, w| match w {
        Wire::Log(_) | Wire::Status { .. } => None,
        w => Some(w),
    });
    assert!(ceremonies.iter().all(|c| c.completed().is_none()));
    let plan = ceremonies[2].plan().clone();
    let stored = Persisted::decode_cfg(ceremonies[2].persisted().encode(), &plan.n()).unwrap();
    ceremonies[2] =
        Ceremony::restore(plan.clone(), keys[2].clone(), stored, &mut test_rng()).unwrap();
    let out = ceremonies[2].start(&mut test_rng());
    route(&mut queue, &plan, &keys[2].public_key(), out);
    settle(&mut ceremonies, &keys, &mut queue, |_, _, w| Some(w));
    for d in completed(&ceremonies) {
        assert_eq!(d.output, expected);
    }
}

#[test]
fn a_confirmation_of_another_output_stops_the_ceremony_naming_its_signer() {
    let keys = keys(4);
    let (mut ceremonies, mut queue) = start(&keys);
    let forger = keys[3].clone();
    settle(
        &mut ceremonies,
        &keys,
        &mut queue,
        |from, _, wire| match wire {
            Wire::Confirm { signer, .. } if *from == forger.public_key() && signer == 3 => {
                let digest = commonware_cryptography::sha256::Digest::random(test_rng());
                Some(Wire::Confirm {
                    signer,
                    digest,
                    signature: super::sign_confirmation(&forger, &digest),
                })
            }
            other => Some(other),
        },
    );
    let failure = ceremonies[0].failure().expect("fails");
    assert!(
        failure.contains("participant 3") && failure.contains("different output"),
        "{failure}"
    );
}

#[test]
fn strangers_and_identities_outside_the_plan_are_ignored() {
    let keys = keys(4);
    let plan = plan(&keys);
    let stranger = PrivateKey::from_seed(99);
    assert!(Ceremony::new(plan.clone(), stranger.clone(), [0; 32]).is_err());
    let mut c = Ceremony::new(plan, keys[0].clone(), [1; 32]).unwrap();
    let status = Wire::Status {
        logs: vec![false; 4],
        confirmations: vec![false; 4],
    };
    assert!(
        c.on_message(stranger.public_key(), status, &mut test_rng())
            .is_empty()
    );
}
