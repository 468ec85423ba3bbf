//! The pool's rules.

use super::*;

fn bounds() -> Bounds {
    Bounds {
        bytes_max: 100,
        txs_max: 10,
        tx_bytes_max: 40,
        namespace_bytes_max: 60,
        recent_finalized_max: 3,
        full_retry_after: Duration::from_secs(1),
    }
}

fn tx(namespace: u64, size: usize, tag: u8) -> (Hash, Transaction) {
    let tx = Transaction::new(namespace, vec![tag; size]);
    (tx.hash(), tx)
}

fn admit(pool: &mut Pool, namespace: u64, size: usize, tag: u8) -> Result<Admitted, Error> {
    let (hash, tx) = tx(namespace, size, tag);
    let result = pool.admit(hash, tx, true);
    pool.check_invariants();
    result
}

fn limits(block_bytes_max: usize, namespaces: usize, txs: usize) -> Limits {
    Limits {
        tx_bytes_max: 40,
        block_bytes_max,
        namespaces_per_block_max: namespaces,
        txs_per_block_max: txs,
    }
}

#[test]
fn too_large_is_refused() {
    let mut pool = Pool::new(bounds());
    assert_eq!(
        admit(&mut pool, 1, 41, 0),
        Err(Error::TooLarge {
            size: 41,
            limit: 40
        })
    );
    assert_eq!(admit(&mut pool, 1, 40, 0), Ok(Admitted::New { seq: 0 }));
    assert_eq!(pool.stats(), Stats { txs: 1, bytes: 40 });
}

#[test]
fn bytes_bound() {
    let mut pool = Pool::new(bounds());
    // Three namespaces so the per-namespace bound is not the one hit.
    assert!(admit(&mut pool, 1, 40, 0).is_ok());
    assert!(admit(&mut pool, 2, 40, 0).is_ok());
    let err = admit(&mut pool, 3, 21, 0).unwrap_err();
    assert_eq!(
        err,
        Error::Full {
            limit: Limit::Bytes(100),
            retry_after: Duration::from_secs(1)
        }
    );
    // Exactly at the bound is fine.
    assert!(admit(&mut pool, 3, 20, 0).is_ok());
    assert_eq!(pool.stats().bytes, 100);
    // An empty payload still fits the byte bound.
    assert!(admit(&mut pool, 4, 0, 0).is_ok());
}

#[test]
fn count_bound() {
    let mut pool = Pool::new(bounds());
    for tag in 0..10 {
        assert!(admit(&mut pool, tag as u64, 1, tag).is_ok());
    }
    assert!(matches!(
        admit(&mut pool, 99, 1, 99),
        Err(Error::Full {
            limit: Limit::Txs(10),
            ..
        })
    ));
}

#[test]
fn namespace_bound() {
    let mut pool = Pool::new(bounds());
    assert!(admit(&mut pool, 1, 40, 0).is_ok());
    assert!(admit(&mut pool, 1, 20, 1).is_ok());
    assert_eq!(
        admit(&mut pool, 1, 1, 2),
        Err(Error::NamespaceFull {
            namespace: Namespace(1),
            limit: 60,
            retry_after: Duration::from_secs(1)
        })
    );
    // Another namespace still gets in.
    assert!(admit(&mut pool, 2, 30, 0).is_ok());
    // Finalizing frees the namespace's share.
    let (hash, _) = tx(1, 40, 0);
    assert_eq!(pool.finalize(&[hash]), vec![hash]);
    pool.check_invariants();
    assert!(admit(&mut pool, 1, 1, 2).is_ok());
}

#[test]
fn duplicates_are_idempotent_even_when_full() {
    let mut pool = Pool::new(bounds());
    assert_eq!(admit(&mut pool, 1, 40, 0), Ok(Admitted::New { seq: 0 }));
    assert_eq!(admit(&mut pool, 1, 40, 0), Ok(Admitted::Duplicate));
    assert_eq!(pool.stats(), Stats { txs: 1, bytes: 40 });
    assert!(admit(&mut pool, 2, 40, 0).is_ok());
    assert!(admit(&mut pool, 3, 20, 0).is_ok());
    // Full, but a duplicate is still answered as such.
    assert!(admit(&mut pool, 3, 1, 1).is_err());
    assert_eq!(admit(&mut pool, 2, 40, 0), Ok(Admitted::Duplicate));
}

#[test]
fn select_is_fifo_and_skips_what_does_not_fit() {
    let mut pool = Pool::new(Bounds {
        bytes_max: 1000,
        txs_max: 100,
        namespace_bytes_max: 1000,
        ..bounds()
    });
    let txs: Vec<_> = [(5, 30, 0), (1, 30, 1), (5, 30, 2), (2, 5, 3), (3, 5, 4)]
        .into_iter()
        .map(|(ns, size, tag)| tx(ns, size, tag))
        .collect();
    for (hash, tx) in &txs {
        pool.admit(*hash, tx.clone(), true).unwrap();
    }
    let all: Vec<Transaction> = txs.iter().map(|(_, tx)| tx.clone()).collect();
    let none = HashSet::new();

    // Everything fits: arrival order, not namespace order.
    assert_eq!(pool.select(&limits(1000, 10, 10), &none), all);

    // 70 bytes: the first two (60), skip the third (would be 90), take the two small ones.
    let selected = pool.select(&limits(70, 10, 10), &none);
    assert_eq!(
        selected,
        vec![
            all[0].clone(),
            all[1].clone(),
            all[3].clone(),
            all[4].clone()
        ]
    );
    // 69 bytes: the last small one no longer fits.
    let selected = pool.select(&limits(69, 10, 10), &none);
    assert_eq!(
        selected,
        vec![all[0].clone(), all[1].clone(), all[3].clone()]
    );

    // Two namespaces: 5 and 1, then only txs of those namespaces.
    let selected = pool.select(&limits(1000, 2, 10), &none);
    assert_eq!(
        selected,
        vec![all[0].clone(), all[1].clone(), all[2].clone()]
    );

    // Three transactions at most.
    let selected = pool.select(&limits(1000, 10, 3), &none);
    assert_eq!(selected, all[..3].to_vec());

    // Exclusion skips without consuming any limit.
    let exclude: HashSet<Hash> = [txs[0].0, txs[2].0].into_iter().collect();
    let selected = pool.select(&limits(1000, 10, 2), &exclude);
    assert_eq!(selected, vec![all[1].clone(), all[3].clone()]);

    // A transaction larger than the block's tx limit is never selected.
    let small = Limits {
        tx_bytes_max: 10,
        ..limits(1000, 10, 10)
    };
    assert_eq!(
        pool.select(&small, &none),
        vec![all[3].clone(), all[4].clone()]
    );

    // Selection removes nothing.
    assert_eq!(pool.stats().txs, 5);
}

#[test]
fn finalized_removal_and_recent_suppression() {
    let mut pool = Pool::new(bounds());
    let (a, tx_a) = tx(1, 10, 0);
    let (b, tx_b) = tx(1, 10, 1);
    pool.admit(a, tx_a.clone(), true).unwrap();
    pool.admit(b, tx_b.clone(), true).unwrap();
    // Removing an unknown hash is harmless; only pooled ones are returned.
    let unknown = tx(9, 1, 9).0;
    assert_eq!(pool.finalize(&[a, unknown]), vec![a]);
    pool.check_invariants();
    assert!(!pool.contains(&a));
    assert!(pool.contains(&b));
    assert_eq!(pool.stats(), Stats { txs: 1, bytes: 10 });
    // A late copy of a finalized transaction is a duplicate, and is not re-added.
    assert_eq!(pool.admit(a, tx_a.clone(), true), Ok(Admitted::Duplicate));
    assert!(!pool.contains(&a));
    // So is a transaction finalized without ever being in this pool.
    let (c, tx_c) = tx(1, 10, 2);
    pool.finalize(&[c]);
    assert_eq!(pool.admit(c, tx_c, true), Ok(Admitted::Duplicate));
    // Finalizing twice is idempotent.
    assert!(pool.finalize(&[a]).is_empty());
    // The recent set is bounded (3): after three more, `a` is forgotten.
    let others: Vec<Hash> = (10..13).map(|tag| tx(2, 1, tag).0).collect();
    pool.finalize(&others);
    assert!(matches!(
        pool.admit(a, tx_a, true),
        Ok(Admitted::New { .. })
    ));
    pool.check_invariants();
}

#[test]
fn restore_keeps_sequence_order_and_ignores_bounds() {
    let mut pool = Pool::new(bounds());
    let (a, tx_a) = tx(1, 40, 0);
    let (b, tx_b) = tx(1, 40, 1);
    let (c, tx_c) = tx(2, 41, 2);
    // Restored out of order (as after a compaction) and over the namespace bound.
    assert_eq!(pool.restore(7, b, tx_b.clone()), Restored::Added);
    assert_eq!(pool.restore(3, a, tx_a.clone()), Restored::Added);
    assert_eq!(pool.restore(9, b, tx_b.clone()), Restored::Present);
    assert_eq!(pool.restore(8, c, tx_c), Restored::Dropped);
    pool.check_invariants();
    let selected = pool.select(&limits(1000, 10, 10), &HashSet::new());
    assert_eq!(selected, vec![tx_a, tx_b]);
    // New admissions continue after the largest sequence number.
    let (d, tx_d) = tx(3, 1, 3);
    assert_eq!(pool.admit(d, tx_d, true), Ok(Admitted::New { seq: 8 }));
}

/// A bundle of `members`: its carrier's hash (the pool's key), the carrier, the members'
/// hashes and the bundle's hash (its marker's); `members` ends with the marker's hash.
fn bundle(members: &[(u64, usize, u8)]) -> (Hash, Transaction, Vec<Hash>, Hash) {
    let txs: Vec<Transaction> = members
        .iter()
        .map(|(ns, size, tag)| tx(*ns, *size, *tag).1)
        .collect();
    let b = Bundle::new(txs).unwrap();
    let carrier = b.carrier();
    (carrier.hash(), carrier, b.member_hashes(), b.hash())
}

fn bundle_bounds() -> Bounds {
    Bounds {
        bytes_max: 1000,
        txs_max: 100,
        tx_bytes_max: 200,
        namespace_bytes_max: 1000,
        ..bounds()
    }
}

#[test]
fn bundles_are_selected_whole_or_not_at_all() {
    // Markers list 32-byte hashes: transactions up to 200 bytes here.
    let limits = |b, n, t| Limits {
        tx_bytes_max: 200,
        ..limits(b, n, t)
    };
    let mut pool = Pool::new(bundle_bounds());
    let (a, _) = tx(1, 30, 1);
    pool.admit(a, tx(1, 30, 1).1, true).unwrap();
    let (b_hash, carrier, members, bundle_hash) = bundle(&[(2, 20, 2), (3, 20, 3), (4, 20, 4)]);
    assert!(matches!(
        pool.admit(b_hash, carrier.clone(), true),
        Ok(Admitted::New { .. })
    ));
    assert_eq!(pool.admit(b_hash, carrier, true), Ok(Admitted::Duplicate));
    assert!(
        pool.contains(&bundle_hash),
        "pending under the bundle's hash"
    );
    let (c, _) = tx(5, 10, 5);
    pool.admit(c, tx(5, 10, 5).1, true).unwrap();
    pool.check_invariants();
    let none = HashSet::new();
    let hashes = |txs: Vec<Transaction>| txs.iter().map(Transaction::hash).collect::<Vec<_>>();

    // Everything fits: the bundle expands in place into its members and its marker (98 bytes:
    // version, count, three hashes), never the carrier itself.
    let all = pool.select(&limits(1000, 10, 10), &none);
    assert_eq!(all[4].namespace, BUNDLE_NAMESPACE);
    assert_eq!(all[4].payload.len(), 98);
    let mut expected = vec![a];
    expected.extend(&members);
    expected.push(bundle_hash);
    expected.push(c);
    assert_eq!(hashes(all), expected);
    // 180 bytes: the bundle (60 + 98) does not fit after `a` (30): skipped whole; `c` fits.
    assert_eq!(hashes(pool.select(&limits(180, 10, 10), &none)), vec![a, c]);
    // Four namespaces: `a` and the bundle's three and its marker's do not fit together.
    assert_eq!(hashes(pool.select(&limits(1000, 4, 10), &none)), vec![a, c]);
    // Four transactions: likewise (three members and the marker after `a`).
    assert_eq!(hashes(pool.select(&limits(1000, 10, 4), &none)), vec![a, c]);
    // Room for exactly the members and the marker after `a`.
    assert_eq!(pool.select(&limits(188, 5, 5), &none).len(), 5);
    // One member excluded (in an ancestor, or in flight), or the marker: the whole bundle
    // waits.
    for excluded in [members[1], bundle_hash] {
        let excluded: HashSet<Hash> = [excluded].into_iter().collect();
        assert_eq!(
            hashes(pool.select(&limits(1000, 10, 10), &excluded)),
            vec![a, c]
        );
    }

    // A member is pending through its bundle; another bundle cannot claim it.
    assert!(
        matches!(pool.admit(members[0], tx(2, 20, 2).1, true), Err(Error::BundleConflict(m)) if m.contains(&bundle_hash.to_string())),
        "a member submitted alone is refused, naming its bundle"
    );
    assert_eq!(
        pool.admit(members[0], tx(2, 20, 2).1, false),
        Ok(Admitted::Duplicate),
        "a copy of it is a duplicate"
    );
    let (other, other_carrier, _, _) = bundle(&[(2, 20, 2), (9, 5, 9)]);
    assert!(
        matches!(pool.admit(other, other_carrier, true), Err(Error::BundleConflict(m)) if m.contains("another bundle"))
    );
    // Nor a member pending on its own.
    let (own, own_carrier, _, _) = bundle(&[(1, 30, 1), (9, 5, 9)]);
    assert!(
        matches!(pool.admit(own, own_carrier, true), Err(Error::BundleConflict(m)) if m.contains("on its own"))
    );
    // A carrier that does not decode.
    let junk = Transaction::new(BUNDLE_NAMESPACE, vec![9u8; 5]);
    assert!(matches!(
        pool.admit(junk.hash(), junk, true),
        Err(Error::Bundle(_))
    ));

    // One finalized member removes the carrier (with its marker, the bundle was finalized;
    // without, it never can be) and remembers the bundle as finalized.
    let removed = pool.finalize(&members[..1]);
    assert!(removed.contains(&b_hash));
    assert!(!pool.contains(&b_hash) && !pool.contains(&bundle_hash));
    pool.check_invariants();
    assert_eq!(
        hashes(pool.select(&limits(1000, 10, 10), &none)),
        vec![a, c]
    );
    let (_, carrier, _, _) = bundle(&[(2, 20, 2), (3, 20, 3), (4, 20, 4)]);
    assert_eq!(pool.admit(b_hash, carrier, true), Ok(Admitted::Duplicate));
}

#[test]
fn journaled_bundles_are_restored() {
    // Markers list 32-byte hashes: transactions up to 200 bytes here.
    let limits = |b, n, t| Limits {
        tx_bytes_max: 200,
        ..limits(b, n, t)
    };
    let mut pool = Pool::new(bundle_bounds());
    let (b_hash, carrier, mut members, bundle_hash) = bundle(&[(2, 20, 2), (3, 20, 3)]);
    assert_eq!(pool.restore(7, b_hash, carrier), Restored::Added);
    members.push(bundle_hash);
    let selected: Vec<Hash> = pool
        .select(&limits(1000, 10, 10), &HashSet::new())
        .iter()
        .map(Transaction::hash)
        .collect();
    assert_eq!(selected, members);
    let junk = Transaction::new(BUNDLE_NAMESPACE, vec![1u8; 3]);
    assert_eq!(pool.restore(8, junk.hash(), junk), Restored::Dropped);
}

#[test]
fn copies_are_adopted_dropped_by_hint_and_expired_but_owned_stay() {
    let mut pool = Pool::new(bounds());
    let (a, tx_a) = tx(1, 10, 1);
    let (b, tx_b) = tx(1, 10, 2);
    let (c, tx_c) = tx(1, 10, 3);
    assert_eq!(
        pool.admit(a, tx_a.clone(), false),
        Ok(Admitted::New { seq: 0 })
    );
    assert_eq!(
        pool.admit(b, tx_b.clone(), true),
        Ok(Admitted::New { seq: 1 })
    );
    assert_eq!(pool.admit(c, tx_c, false), Ok(Admitted::New { seq: 2 }));
    // A gossiped copy of an owned transaction changes nothing; a local submission of a
    // copy adopts it in place.
    assert_eq!(pool.admit(b, tx_b, false), Ok(Admitted::Duplicate));
    assert_eq!(
        pool.admit(a, tx_a.clone(), true),
        Ok(Admitted::Adopted { seq: 0 })
    );
    assert_eq!(pool.admit(a, tx_a, true), Ok(Admitted::Duplicate));
    assert!(pool.owns(&a) && pool.owns(&b) && !pool.owns(&c));
    // A finalized block's manifest drops copies only, and remembers the claim: a late copy is
    // refused, and so is the owner's re-offer while the claim is fresh; an older claim the
    // owner still contradicts is taken for a lie.
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(100);
    let hold = Duration::from_secs(2);
    assert_eq!(pool.drop_copies(&[a, b, c], t0), vec![c]);
    assert!(pool.contains(&a) && pool.contains(&b) && !pool.contains(&c));
    assert_eq!(
        pool.admit(c, tx(1, 10, 3).1, false),
        Ok(Admitted::Duplicate)
    );
    assert_eq!(
        pool.admit_reoffered(c, tx(1, 10, 3).1, 0, t0 + hold / 2, hold),
        Ok(Admitted::Duplicate)
    );
    pool.drop_copies(&[c], t0 + hold);
    assert_eq!(
        pool.admit_reoffered(c, tx(1, 10, 3).1, 0, t0 + hold, hold),
        Ok(Admitted::New { seq: 3 }),
        "a repeated claim does not extend the first"
    );
    assert_eq!(pool.drop_all_copies(t0 + hold), vec![c]);
    // Expiry drops copies only.
    let (d, tx_d) = tx(2, 10, 4);
    pool.admit(d, tx_d, false).unwrap();
    assert!(!pool.expire_copy(&a));
    assert!(pool.expire_copy(&d));
    assert!(!pool.expire_copy(&d));
    pool.check_invariants();
    assert_eq!(pool.stats(), Stats { txs: 2, bytes: 20 });
}

#[test]
fn copies_never_displace_acknowledged_submissions() {
    // 100 bytes, 10 transactions, 60 per namespace; a peer's copies hold half of it.
    let mut pool = Pool::new(bounds());
    for tag in 0..5u8 {
        let (h, t) = tx(u64::from(tag % 3), 10, tag);
        assert_eq!(
            pool.admit(h, t, false),
            Ok(Admitted::New {
                seq: u64::from(tag)
            })
        );
    }
    // Ten acknowledged submissions fit: the last five evict the copies, oldest first.
    for tag in 0..10u8 {
        let (h, t) = tx(u64::from(tag % 3), 10, 100 + tag);
        assert!(
            matches!(pool.admit(h, t, true), Ok(Admitted::New { .. })),
            "{tag}"
        );
        pool.check_invariants();
    }
    assert_eq!(pool.take_evicted(), 5);
    assert_eq!(
        pool.stats(),
        Stats {
            txs: 10,
            bytes: 100
        }
    );
    // Full of acknowledged transactions: the next one is refused, nothing is evicted.
    let (h, t) = tx(2, 10, 200);
    assert!(matches!(pool.admit(h, t, true), Err(Error::Full { .. })));
    assert_eq!(pool.take_evicted(), 0);
    // The namespace bound evicts a copy of that namespace, not another's.
    let mut pool = Pool::new(bounds());
    let (a, ta) = tx(7, 30, 1);
    let (b, tb) = tx(8, 10, 2);
    pool.admit(a, ta, false).unwrap();
    pool.admit(b, tb, false).unwrap();
    let (c, tc) = tx(7, 40, 3);
    assert!(matches!(pool.admit(c, tc, true), Ok(Admitted::New { .. })));
    assert!(!pool.contains(&a) && pool.contains(&b));
    pool.check_invariants();
}

#[test]
fn a_peer_flooding_copies_displaces_only_itself() {
    // 100 bytes, 10 transactions, 60 per namespace. Peer 1 floods junk copies: it fills the
    // pool, then displaces only its own share.
    let mut pool = Pool::new(bounds());
    let copy = |pool: &mut Pool, peer: Peer, ns: u64, tag: u8| {
        let (h, t) = tx(ns, 10, tag);
        let result = pool.admit_from(h, t, Some(peer));
        pool.check_invariants();
        (h, result)
    };
    let mut junk = Vec::new();
    for tag in 0..100u8 {
        let (h, result) = copy(&mut pool, 1, u64::from(tag % 3), tag);
        if result.is_ok() {
            junk.push(h);
        }
    }
    assert_eq!(
        junk.len(),
        10,
        "the pool holds ten copies; the flood beyond is refused"
    );
    assert_eq!(
        pool.take_displaced(),
        0,
        "a peer never displaces its own copies"
    );
    // An honest peer's copies take the pool back, up to an equal share: each displaces the
    // flooder's oldest, until both hold 50 bytes; then the honest peer is refused too.
    let mut honest = Vec::new();
    for tag in 0..8u8 {
        let (h, result) = copy(&mut pool, 2, u64::from(tag % 3), 150 + tag);
        if result.is_ok() {
            honest.push(h);
        }
    }
    assert_eq!(honest.len(), 5);
    assert_eq!(pool.take_displaced(), 5);
    assert!(honest.iter().all(|h| pool.contains(h)));
    assert!(junk[..5].iter().all(|h| !pool.contains(h)), "oldest first");
    assert!(junk[5..].iter().all(|h| pool.contains(h)));
    // The flooder cannot win any of it back, however often it sends.
    for tag in 100..200u8 {
        assert!(copy(&mut pool, 1, 5, tag).1.is_err());
    }
    assert!(honest.iter().all(|h| pool.contains(h)));
    // A namespace bound is shared the same way: peer 3's copy of a namespace the flooder
    // filled (60 bytes) displaces the flooder's copy of that namespace.
    let mut pool = Pool::new(bounds());
    let filled: Vec<Hash> = (0..6u8).map(|tag| copy(&mut pool, 1, 7, tag).0).collect();
    assert!(copy(&mut pool, 1, 7, 6).1.is_err());
    let (h, result) = copy(&mut pool, 3, 7, 50);
    assert!(matches!(result, Ok(Admitted::New { .. })), "{result:?}");
    assert!(pool.contains(&h) && !pool.contains(&filled[0]));
    assert_eq!(pool.take_displaced(), 1);
}

#[test]
fn tiny_copies_keep_no_more_than_their_share_of_the_count_bound() {
    // 10 transactions, 100 bytes. Peer 1 floods 1-byte copies: ten of them fill the count bound
    // while holding 10 bytes. By bytes alone an honest peer's 10-byte copy was refused (the
    // flooder held no more bytes than the honest peer would); by count it displaces the
    // flooder's oldest, until each holds five.
    let mut pool = Pool::new(bounds());
    let copy = |pool: &mut Pool, peer: Peer, size: usize, tag: u8| {
        let (h, t) = tx(u64::from(tag % 3), size, tag);
        let result = pool.admit_from(h, t, Some(peer));
        pool.check_invariants();
        (h, result)
    };
    let junk: Vec<Hash> = (0..50u8)
        .filter_map(|tag| {
            let (h, result) = copy(&mut pool, 1, 1, tag);
            result.ok().map(|_| h)
        })
        .collect();
    assert_eq!(junk.len(), 10, "the count bound holds ten copies");
    let honest: Vec<Hash> = (0..8u8)
        .filter_map(|tag| {
            let (h, result) = copy(&mut pool, 2, 10, 100 + tag);
            result.ok().map(|_| h)
        })
        .collect();
    assert_eq!(honest.len(), 5, "an equal share of the count");
    assert_eq!(pool.take_displaced(), 5);
    assert!(junk[..5].iter().all(|h| !pool.contains(h)), "oldest first");
    assert!(junk[5..].iter().chain(&honest).all(|h| pool.contains(h)));
    // The flooder wins none of it back.
    for tag in 50..100u8 {
        assert!(copy(&mut pool, 1, 1, tag).1.is_err());
    }
    assert!(honest.iter().all(|h| pool.contains(h)));
}

#[test]
fn claims_are_bounded_oldest_forgotten_first() {
    // recent_finalized_max is 3: a fourth claim forgets the first, whose late copy is then
    // admitted again; the three newest still refuse theirs.
    let mut pool = Pool::new(bounds());
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(100);
    let txs: Vec<(Hash, Transaction)> = (0..4u8).map(|i| tx(1, 5, i)).collect();
    let hashes: Vec<Hash> = txs.iter().map(|(h, _)| *h).collect();
    pool.drop_copies(&hashes, t0);
    assert!(matches!(
        pool.admit(txs[0].0, txs[0].1.clone(), false),
        Ok(Admitted::New { .. })
    ));
    for (h, t) in &txs[1..] {
        assert_eq!(pool.admit(*h, t.clone(), false), Ok(Admitted::Duplicate));
    }
}
