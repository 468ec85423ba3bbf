//! Cross-rollup messages on the simulated network: several sources send numbered messages to
//! one destination while a validator crashes (so leaders change and views time out). Read from
//! the finalized chain as a destination rollup would, every message is proven (certificate,
//! source namespace proof) and taken exactly once, in sequence order per source.

use bytes::Bytes;
use commonware_codec::Encode;
use commonware_runtime::{Clock, Runner, deterministic};
use cortado_client::{Admission, Receiver, Trust, verify_header, verify_namespace};
use cortado_coding::prove_namespace;
use cortado_sim::{CHAIN_ID, Cluster, link};
use cortado_types::{Envelope, Limits, Namespace};
use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

const SOURCES: [u64; 3] = [10, 11, 12];
const DESTINATION: Namespace = Namespace(20);
const PER_SOURCE: u64 = 12;

fn envelope(source: u64, sequence: u64) -> Envelope {
    Envelope::sign(
        cortado_sim::CHAIN_ID,
        &cortado_types::SenderKey::from_bytes(&[0xa1; 32]).unwrap(),
        Namespace(source),
        DESTINATION,
        sequence,
        Bytes::from_static(b"app"),
        Bytes::from(format!("{source}:{sequence}")),
    )
}

#[test]
fn messages_arrive_proven_once_and_in_order_across_a_crash() {
    let cfg = deterministic::Config::default()
        .with_seed(23)
        .with_timeout(Some(Duration::from_secs(900)));
    deterministic::Runner::new(cfg).start(|context| async move {
        let mut cluster = Cluster::start(context, 4, link(30)).await;
        cluster.spawn_load(400, 2, 3, Duration::from_millis(40));
        assert!(cluster.wait_for_height(3, Duration::from_secs(60)).await);

        // Each source posts its messages in order, through rotating validators, some twice
        // (a sender retrying after a timeout).
        for sequence in 0..PER_SOURCE {
            if sequence == PER_SOURCE / 2 {
                cluster.crash_validator(3);
            }
            for (s, source) in SOURCES.iter().enumerate() {
                let tx = envelope(*source, sequence).to_transaction();
                let via = (sequence as usize + s) % 3;
                assert!(
                    cluster.submit(via, tx.clone()).await,
                    "submit {source}:{sequence}"
                );
                if sequence % 5 == 0 {
                    cluster.submit((via + 1) % 3, tx).await;
                }
            }
            cluster.context().sleep(Duration::from_millis(120)).await;
        }
        let target = cluster.validators[0].recorder.height() + 10;
        assert!(
            cluster
                .wait_for_height(target, Duration::from_secs(120))
                .await
        );
        cluster.assert_consistent();

        // The destination rollup reads the chain of validator 0, block by block.
        let trust = Trust {
            chain_id: CHAIN_ID,
            group_public_key: *cluster.sharing().public(),
            validators: 4,
            limits: Limits::default(),
        };
        let recorder = &cluster.validators[0].recorder;
        let height = recorder.height();
        let headers: HashMap<_, _> = (1..=height)
            .filter_map(|h| recorder.block(h))
            .map(|b| (b.hash(), b.header().clone()))
            .collect();
        let mut receiver = Receiver::new(DESTINATION);
        let mut waiting: BTreeMap<(Namespace, u64), Envelope> = BTreeMap::new();
        let mut taken: Vec<(u64, u64)> = Vec::new();
        let mut duplicates = 0;
        for h in 1..=height {
            let block = recorder.block(h).expect("finalized block recorded");
            let header = block.header();
            // The block is final: its own certificate, or a descendant's whose parent links
            // lead back to it.
            let cert = recorder.certificate(h).expect("certificate");
            let certified = headers
                .get(&cert.block)
                .expect("certified block is recorded");
            let verified = verify_header(&trust, &certified.encode(), &cert.encode())
                .unwrap_or_else(|e| panic!("height {h}: {e}"));
            let mut link = verified.header().clone();
            while link.height > h {
                link = headers[&link.parent].clone();
            }
            assert_eq!(
                &link, header,
                "height {h} is an ancestor of its certified block"
            );

            for data in block.namespaces() {
                if !SOURCES.contains(&data.namespace.get()) {
                    continue;
                }
                // Only what the source namespace's proof covers is read.
                let proof = prove_namespace(header, data.namespace).unwrap();
                if verified.header() == header {
                    verify_namespace(
                        &trust,
                        &verified,
                        data.namespace,
                        &proof.encode(),
                        &data.payloads,
                    )
                    .unwrap_or_else(|e| panic!("height {h}: {e}"));
                } else {
                    // Proven through its certified descendant (checked above): the same check
                    // against the ancestor header.
                    cortado_coding::verify_namespace(
                        trust.params(),
                        header,
                        data.namespace,
                        &data.payloads,
                        &proof,
                    )
                    .unwrap_or_else(|e| panic!("height {h}: {e}"));
                }
                for payload in &data.payloads {
                    let Ok(message) =
                        Envelope::from_transaction(cortado_sim::CHAIN_ID, data.namespace, payload)
                    else {
                        continue;
                    };
                    waiting.insert((message.source, message.sequence), message);
                }
            }
            // Take whatever is next for each source, as far as it goes.
            loop {
                let mut progressed = false;
                let keys: Vec<_> = waiting.keys().copied().collect();
                for key in keys {
                    let message = waiting[&key].clone();
                    match receiver.admit(&message) {
                        Admission::Take => {
                            taken.push((key.0.get(), key.1));
                            waiting.remove(&key);
                            progressed = true;
                        }
                        Admission::Duplicate => {
                            duplicates += 1;
                            waiting.remove(&key);
                        }
                        Admission::Gap { .. } | Admission::NotForUs => {}
                    }
                }
                if !progressed {
                    break;
                }
            }
        }
        // Exactly once, in order, per source; nothing left waiting.
        assert!(
            waiting.is_empty(),
            "messages stuck behind a gap: {waiting:?}"
        );
        for source in SOURCES {
            let sequences: Vec<u64> = taken
                .iter()
                .filter(|(s, _)| *s == source)
                .map(|(_, q)| *q)
                .collect();
            assert_eq!(
                sequences,
                (0..PER_SOURCE).collect::<Vec<_>>(),
                "source {source}"
            );
            assert_eq!(receiver.expected(Namespace(source)), PER_SOURCE);
        }
        // The retried submissions were either deduplicated by the mempools or finalized
        // twice and skipped here.
        let _ = duplicates;
    });
}
