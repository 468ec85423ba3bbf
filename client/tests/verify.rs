//! Every check accepts what an honest node serves and rejects each tampering with a precise
//! error. Certificates are real threshold signatures, cross-checked against the consensus
//! crate's own verifier.

mod common;

use bytes::Bytes;
use common::{CHAIN, Chain, committee, limits, sign, trust};
use commonware_codec::Encode;
use cortado_chain::CertificateVerifier;
use cortado_client::{
    Finality, LightClient, Trust, TrustError, VerifyError, verify_absence, verify_certificate,
    verify_header, verify_history, verify_invalid_encoding, verify_namespace,
};
use cortado_coding::prove_namespace;
use cortado_types::{ChainId, Namespace, history::HistoryError};

fn contents() -> Vec<Vec<(u64, Vec<u8>)>> {
    (0..12u64)
        .map(|h| {
            vec![
                (5, format!("five-a-{h}").into_bytes()),
                (2, b"two".to_vec()),
                (5, format!("five-b-{h}").into_bytes()),
                (9, vec![h as u8; 100]),
                (5, b"five-c".to_vec()),
            ]
        })
        .collect()
}

#[test]
fn certificates_agree_with_the_consensus_verifier() {
    let committee = committee();
    let trust = trust(&committee);
    let chain = Chain::build(&contents());
    let consensus = CertificateVerifier::new(CHAIN, &committee.sharing);
    for block in &chain.blocks {
        let header = block.header();
        let cert = sign(&committee, CHAIN, header);
        assert_eq!(verify_certificate(&trust, header, &cert), Ok(()));
        assert!(consensus.verify(&cert), "simplex accepts what we accept");
        let v = verify_header(&trust, &header.encode(), &cert.encode()).unwrap();
        assert_eq!(v.header(), header);
        assert!(matches!(v.finality(), Finality::Certificate(c) if *c == cert));

        // A flipped signature bit.
        let mut forged = cert.clone();
        forged.signature[10] ^= 0x04;
        assert_eq!(
            verify_certificate(&trust, header, &forged),
            Err(VerifyError::BadSignature)
        );
        assert!(!consensus.verify(&forged));
    }
    let header = chain.header(3);
    // Signed for another chain's domain: same header fields, wrong namespace.
    let other_domain = sign(&committee, ChainId(CHAIN.0 + 1), header);
    assert_eq!(
        verify_certificate(&trust, header, &other_domain),
        Err(VerifyError::BadSignature)
    );
    assert!(!consensus.verify(&other_domain));
    // Too few signers: one validator's partial signature is not the group's signature.
    {
        use commonware_cryptography::bls12381::primitives::{ops::threshold, variant::MinSig};
        let mut lone = sign(&committee, CHAIN, header);
        let partial = threshold::sign_message::<MinSig>(
            &committee.validators[0].share,
            &cortado_client::finalize_namespace(CHAIN),
            &cortado_client::finalize_message(&lone),
        );
        lone.signature.copy_from_slice(&partial.value.encode());
        assert_eq!(
            verify_certificate(&trust, header, &lone),
            Err(VerifyError::BadSignature)
        );
        assert!(!consensus.verify(&lone));
    }
    // Signed by another committee.
    let strangers = cortado_chain::keys::deal(&mut commonware_utils::TestRng::new(99), 4);
    assert_eq!(
        verify_certificate(&trust, header, &sign(&strangers, CHAIN, header)),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn headers_of_another_chain_or_certificate_are_refused() {
    let committee = committee();
    let trust = trust(&committee);
    let chain = Chain::build(&contents());
    let (a, b) = (chain.header(4), chain.header(5));
    let cert_b = sign(&committee, CHAIN, b);
    assert_eq!(
        verify_header(&trust, &a.encode(), &cert_b.encode()),
        Err(VerifyError::CertificateForAnotherHeader {
            certified: b.hash(),
            header: a.hash(),
            height: 4
        })
    );
    // A header of another chain id, even with a certificate that names it.
    let mut foreign = a.clone();
    foreign.chain_id = ChainId(99);
    let cert = sign(&committee, ChainId(99), &foreign);
    assert_eq!(
        verify_header(&trust, &foreign.encode(), &cert.encode()),
        Err(VerifyError::WrongChain {
            got: 99,
            expected: CHAIN.0
        })
    );
    // A certificate whose view does not match the header's.
    let mut moved = sign(&committee, CHAIN, a);
    moved.view += 1;
    assert!(matches!(
        verify_certificate(&trust, a, &moved),
        Err(VerifyError::CertificateViewMismatch { .. })
    ));
    // Garbage.
    assert!(matches!(
        verify_header(&trust, b"\x01\x02", &cert_b.encode()),
        Err(VerifyError::HeaderDecode(_))
    ));
    assert!(matches!(
        verify_header(&trust, &b.encode(), &cert_b.encode()[..50]),
        Err(VerifyError::CertificateDecode(_))
    ));
}

#[test]
fn namespace_tampering_is_rejected() {
    let committee = committee();
    let trust = trust(&committee);
    let chain = Chain::build(&contents());
    let block = &chain.blocks[6];
    let header = block.header();
    let verified = verify_header(
        &trust,
        &header.encode(),
        &sign(&committee, CHAIN, header).encode(),
    )
    .unwrap();
    let ns = Namespace(5);
    let proof = prove_namespace(header, ns).unwrap().encode();
    let payloads: Vec<Bytes> = block
        .namespaces()
        .iter()
        .find(|d| d.namespace == ns)
        .unwrap()
        .payloads
        .clone();
    assert_eq!(payloads.len(), 3);
    let check = |p: &[Bytes]| verify_namespace(&trust, &verified, ns, &proof, p);
    assert_eq!(check(&payloads), Ok(()));

    let namespace_error = |r: Result<(), VerifyError>| {
        assert!(
            matches!(r, Err(VerifyError::Namespace { namespace, .. }) if namespace == ns),
            "{r:?}"
        );
    };
    let mut changed: Vec<Vec<u8>> = payloads.iter().map(|p| p.to_vec()).collect();
    changed[1][0] ^= 1;
    namespace_error(check(
        &changed.into_iter().map(Bytes::from).collect::<Vec<_>>(),
    ));
    namespace_error(check(&[payloads[0].clone(), payloads[2].clone()]));
    namespace_error(check(&[
        payloads[1].clone(),
        payloads[0].clone(),
        payloads[2].clone(),
    ]));
    let mut extra = payloads.clone();
    extra.push(Bytes::from_static(b"extra"));
    namespace_error(check(&extra));
    // The proof of another namespace.
    let other = prove_namespace(header, Namespace(9)).unwrap().encode();
    assert_eq!(
        verify_namespace(&trust, &verified, ns, &other, &payloads),
        Err(VerifyError::WrongNamespace {
            got: Namespace(9),
            expected: ns
        })
    );
    // A proof from another block's header.
    let elsewhere = prove_namespace(chain.header(7), ns).unwrap().encode();
    namespace_error(verify_namespace(
        &trust, &verified, ns, &elsewhere, &payloads,
    ));
}

#[test]
fn absence_is_proven_and_forgeries_rejected() {
    let committee = committee();
    let trust = trust(&committee);
    let chain = Chain::build(&contents());
    let header = chain.header(2);
    let verified = verify_header(
        &trust,
        &header.encode(),
        &sign(&committee, CHAIN, header).encode(),
    )
    .unwrap();
    let absence = prove_namespace(header, Namespace(3)).unwrap_err().encode();
    assert_eq!(
        verify_absence(&trust, &verified, Namespace(3), &absence),
        Ok(())
    );
    // The absence of 3 does not prove the absence of 5 (which is there), nor of 100.
    assert!(matches!(
        verify_absence(&trust, &verified, Namespace(5), &absence),
        Err(VerifyError::Namespace { .. })
    ));
    assert!(matches!(
        verify_absence(&trust, &verified, Namespace(100), &absence),
        Err(VerifyError::Namespace { .. })
    ));
    // An inclusion proof is not an absence proof.
    let inclusion = prove_namespace(header, Namespace(5)).unwrap().encode();
    assert!(verify_absence(&trust, &verified, Namespace(5), &inclusion).is_err());
}

#[test]
fn invalid_encoding_evidence_must_be_about_the_entry() {
    use cortado_coding::{Chunk, Params, encode_namespace_invalid, invalid_encoding_evidence};
    let committee = committee();
    let trust = trust(&committee);
    let params = Params::for_validators(4);
    let chain = Chain::build(&contents());
    let header = chain.header(1);
    let verified = verify_header(
        &trust,
        &header.encode(),
        &sign(&committee, CHAIN, header).encode(),
    )
    .unwrap();
    // Evidence of an invalid encoding of some other data: not this header's entry.
    let data = cortado_types::NamespaceData::new(Namespace(5), vec![Bytes::from_static(b"x")]);
    let (entry, chunks) = encode_namespace_invalid(params, &data, 0);
    let chunks: Vec<(u16, Chunk)> = (0..).zip(chunks).collect();
    let evidence = invalid_encoding_evidence(params, &entry, &chunks, &limits())
        .unwrap()
        .unwrap();
    let proof = prove_namespace(header, Namespace(5)).unwrap().encode();
    assert!(matches!(
        verify_invalid_encoding(&trust, &verified, Namespace(5), &proof, &evidence.encode()),
        Err(VerifyError::Evidence { .. })
    ));
    assert!(matches!(
        verify_invalid_encoding(&trust, &verified, Namespace(5), &proof, b"junk"),
        Err(VerifyError::ProofDecode { .. })
    ));

    // A block whose leader committed namespace 5 invalidly: the evidence proves it.
    let mut found = None;
    let txs = vec![
        cortado_types::Transaction::new(5u64, Bytes::from_static(b"bad")),
        cortado_types::Transaction::new(6u64, Bytes::from_static(b"good")),
    ];
    let ctx = cortado_types::BlockContext {
        chain_id: CHAIN,
        height: 0,
        epoch: 0,
        view: 1,
        parent_view: 0,
        leader: [0; 32],
        timestamp_ms: 1,
        parent: cortado_types::Hash::ZERO,
        history: Vec::new(),
    };
    let block = cortado_types::Block::build(ctx, txs, &limits(), |data| {
        if data.namespace != Namespace(5) {
            return cortado_coding::namespace_entry(params, data).commitment;
        }
        let (entry, chunks) = encode_namespace_invalid(params, data, 0);
        let chunks: Vec<(u16, Chunk)> = (0..).zip(chunks).collect();
        found = invalid_encoding_evidence(params, &entry, &chunks, &limits()).unwrap();
        entry.commitment
    })
    .unwrap();
    let evidence = found.unwrap().encode();
    let header = block.header();
    let verified = verify_header(
        &trust,
        &header.encode(),
        &sign(&committee, CHAIN, header).encode(),
    )
    .unwrap();
    let proof = prove_namespace(header, Namespace(5)).unwrap().encode();
    assert_eq!(
        verify_invalid_encoding(&trust, &verified, Namespace(5), &proof, &evidence),
        Ok(())
    );
    // The same evidence does not make the valid namespace 6 invalid.
    let proof6 = prove_namespace(header, Namespace(6)).unwrap().encode();
    assert!(matches!(
        verify_invalid_encoding(&trust, &verified, Namespace(6), &proof6, &evidence),
        Err(VerifyError::Evidence { .. })
    ));
}

#[test]
fn history_proves_old_headers_and_refuses_stale_proofs() {
    let committee = committee();
    let trust = trust(&committee);
    let chain = Chain::build(&contents());
    let latest = 11;
    let later_header = chain.header(latest);
    let later = verify_header(
        &trust,
        &later_header.encode(),
        &sign(&committee, CHAIN, later_header).encode(),
    )
    .unwrap();
    for old in 0..latest {
        let proof = chain.history_proof(old, latest).encode();
        let proven = verify_history(&trust, &later, &chain.header(old).encode(), &proof).unwrap();
        assert_eq!(proven.header(), chain.header(old));
        assert_eq!(proven.finality(), &Finality::History { against: latest });
        assert!(proven.certificate().is_none());
    }
    // A stale proof: made against the previous header, presented against the latest.
    let stale = chain.history_proof(3, latest - 1).encode();
    assert!(matches!(
        verify_history(&trust, &later, &chain.header(3).encode(), &stale),
        Err(VerifyError::History(HistoryError::WrongHeights { .. }))
    ));
    // A proof of another height for this header.
    let other = chain.history_proof(4, latest).encode();
    assert!(matches!(
        verify_history(&trust, &later, &chain.header(3).encode(), &other),
        Err(VerifyError::History(HistoryError::WrongHeights { .. }))
    ));
    // A header that is not in the history, with the proof of the one at its height.
    let mut forged = chain.header(3).clone();
    forged.timestamp_ms += 1;
    assert_eq!(
        verify_history(
            &trust,
            &later,
            &forged.encode(),
            &chain.history_proof(3, latest).encode()
        ),
        Err(VerifyError::History(HistoryError::Mismatch))
    );
}

#[test]
fn light_client_moves_forward_only() {
    let committee = committee();
    let chain = Chain::build(&contents());
    let mut light = LightClient::new(trust(&committee));
    let signed = |h: u64| {
        let header = chain.header(h);
        (header.encode(), sign(&committee, CHAIN, header).encode())
    };
    assert_eq!(
        light.prove_old(&chain.header(0).encode(), &[]),
        Err(VerifyError::NoLatest)
    );
    let (h, c) = signed(5);
    assert_eq!(light.accept(&h, &c).unwrap().height(), 5);
    let (h, c) = signed(4);
    assert_eq!(
        light.accept(&h, &c).map(|v| v.height()),
        Err(VerifyError::NotNewer { got: 4, latest: 5 })
    );
    let (h, c) = signed(9);
    light.accept(&h, &c).unwrap();
    let old = light
        .prove_old(
            &chain.header(2).encode(),
            &chain.history_proof(2, 9).encode(),
        )
        .unwrap();
    assert_eq!(old.height(), 2);
}

#[test]
fn trust_from_a_genesis_file() {
    let committee = committee();
    let key = cortado_chain::keys::identity_hex(&committee.sharing);
    let genesis = format!(
        r#"
chain_id = 7
timestamp_ms = 1
dealer = "trusted"
group_public_key = "{key}"
polynomial = "ignored by the light client"
[limits]
tx_bytes_max = 1048576
block_bytes_max = 8388608
namespaces_per_block_max = 1024
txs_per_block_max = 65536
[[validators]]
public_key = "aa"
p2p = "127.0.0.1:1"
[[validators]]
public_key = "bb"
p2p = "127.0.0.1:2"
[[validators]]
public_key = "cc"
p2p = "127.0.0.1:3"
[[validators]]
public_key = "dd"
p2p = "127.0.0.1:4"
"#
    );
    let parsed = Trust::from_genesis_toml(&genesis).unwrap();
    assert_eq!(parsed, trust(&committee));
    assert!(matches!(
        Trust::from_genesis_toml(&genesis.replace(&key, "abcd")),
        Err(TrustError::GroupKey(_))
    ));
    assert!(matches!(
        Trust::from_genesis_toml("chain_id = 1"),
        Err(TrustError::Parse(_))
    ));
}
