//! Finality certificates produced by a running cluster verify against the group public key of
//! their chain, and only for the block, chain and purpose they were made for.

use commonware_runtime::{Runner, deterministic};
use cortado_chain::CertificateVerifier;
use cortado_sim::{CHAIN_ID, Cluster, link};
use cortado_types::ChainId;
use std::time::Duration;

#[test]
fn certificates_verify_only_for_their_chain_and_block() {
    let cfg = deterministic::Config::default()
        .with_seed(11)
        .with_timeout(Some(Duration::from_secs(300)));
    deterministic::Runner::new(cfg).start(|context| async move {
        let cluster = Cluster::start(context, 4, link(20)).await;
        cluster.spawn_load(100, 2, 2, Duration::from_millis(30));
        assert!(cluster.wait_for_height(10, Duration::from_secs(60)).await);
        let verifier = CertificateVerifier::new(CHAIN_ID, cluster.sharing());
        let other_chain = CertificateVerifier::new(ChainId(CHAIN_ID.0 + 1), cluster.sharing());
        let recorder = &cluster.validators[0].recorder;
        let mut own = 0;
        for height in 1..=10 {
            let block = recorder.block(height).unwrap();
            let cert = recorder.certificate(height).unwrap();
            assert!(
                verifier.verify(&cert),
                "height {height}: valid certificate rejected"
            );
            assert!(
                !other_chain.verify(&cert),
                "height {height}: certificate valid on another chain"
            );
            if cert.block == block.hash() {
                own += 1;
            }
            // The same signature over another block, view or parent is invalid.
            let mut moved = cert.clone();
            moved.block.0[0] ^= 1;
            assert!(!verifier.verify(&moved));
            let mut moved = cert.clone();
            moved.view += 1;
            assert!(!verifier.verify(&moved));
            let mut moved = cert.clone();
            moved.parent_view += 1;
            assert!(!verifier.verify(&moved));
            let mut forged = cert.clone();
            forged.signature[7] ^= 0x20;
            assert!(!verifier.verify(&forged), "tampered signature accepted");
        }
        assert!(own >= 9, "most blocks carry their own finalization");
    });
}
