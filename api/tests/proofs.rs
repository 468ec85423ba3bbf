//! Namespace reads verify offline, as a client checks them: the transactions of a valid
//! namespace against its inclusion proof (and nothing altered, dropped or reordered passes),
//! an absent namespace against its neighbours, and an invalid encoding by its evidence.

mod common;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use common::{
    Fixture, absence_of, evidence_of, header_of, inclusion_of, params, payloads_of, verify_answer,
};
use commonware_codec::{Decode, Encode};
use cortado_coding::{prove_namespace, verify_absence, verify_namespace};
use cortado_types::{Namespace, history};
use serde_json::{Value, json};

#[tokio::test]
async fn valid_namespace_verifies_and_tampering_does_not() {
    let mut fx = Fixture::new(64).await;
    let b = fx
        .finalize(&[
            (5, b"first"),
            (2, b"other"),
            (5, b"second, longer"),
            (5, b"third"),
            (9, b"last"),
        ])
        .await;
    let (status, _, json) = fx.get("/v1/namespaces/5/blocks/3").await;
    assert_eq!(status, 200);
    assert_eq!(json["status"], "valid");
    assert_eq!(json["evidence"], Value::Null);
    let header = verify_answer(&json);
    assert_eq!(&header, b.header());

    // The JSON fields of the proof are its decoded bytes.
    let proof = inclusion_of(&json);
    assert_eq!(Ok(proof.clone()), prove_namespace(b.header(), Namespace(5)));
    let entry = &b.header().table.entries()[1];
    assert_eq!(
        json["proof"],
        json!({
            "kind": "inclusion", "position": 1, "table_len": 3,
            "entry": {"namespace": 5, "tx_count": 3, "byte_len": entry.byte_len,
                      "commitment": entry.commitment.to_hex(), "tx_root": entry.tx_root.to_hex()},
            "path": proof.path.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
            "bytes": hex::encode(proof.encode()),
        })
    );

    // What a client must check: any change to the transactions fails verification.
    let payloads = payloads_of(&json);
    let check =
        |payloads: &[Bytes]| verify_namespace(params(), &header, Namespace(5), payloads, &proof);
    assert_eq!(check(&payloads), Ok(()));
    let mut tampered: Vec<Vec<u8>> = payloads.iter().map(|p| p.to_vec()).collect();
    tampered[1][3] ^= 0x01;
    let tampered: Vec<Bytes> = tampered.into_iter().map(Bytes::from).collect();
    assert!(check(&tampered).is_err(), "a tampered byte is rejected");
    let dropped = [payloads[0].clone(), payloads[2].clone()];
    assert!(
        check(&dropped).is_err(),
        "a dropped transaction is rejected"
    );
    // Equal lengths, so only the commitment tells the reordering apart.
    let reordered = [
        payloads[2].clone(),
        payloads[1].clone(),
        payloads[0].clone(),
    ];
    assert!(check(&reordered).is_err(), "a reordered pair is rejected");
    let extra = [&payloads[..], &[Bytes::from_static(b"x")]].concat();
    assert!(check(&extra).is_err(), "an extra transaction is rejected");
    // The proof is bound to its namespace and its header.
    assert!(verify_namespace(params(), &header, Namespace(2), &payloads, &proof).is_err());
    assert!(
        verify_namespace(
            params(),
            fx.blocks[0].header(),
            Namespace(5),
            &payloads,
            &proof
        )
        .is_err()
    );

    // Every namespace of every block verifies, by height and as `latest`.
    for (height, ns) in [(0, 1), (0, 5), (1, 2), (2, 5), (2, 9), (3, 2), (3, 9)] {
        let (_, _, json) = fx
            .get(&format!("/v1/namespaces/{ns}/blocks/{height}"))
            .await;
        assert_eq!(json["status"], "valid", "{json}");
        verify_answer(&json);
    }
    let (_, _, json) = fx.get("/v1/namespaces/9/blocks/latest").await;
    assert_eq!(verify_answer(&json).height, 3);
}

#[tokio::test]
async fn absent_namespace_is_proven_absent() {
    let mut fx = Fixture::new(64).await;
    // Block 0 holds namespaces 1 and 5.
    let (_, _, json) = fx.get("/v1/namespaces/3/blocks/0").await;
    assert_eq!(json["status"], "absent");
    assert_eq!(json["transactions"], json!([]));
    assert_eq!(json["evidence"], Value::Null);
    assert_eq!(json["proof"]["kind"], "absence");
    assert_eq!(json["proof"]["table_len"], 2);
    assert_eq!(json["proof"]["below"]["kind"], "inclusion");
    assert_eq!(json["proof"]["below"]["entry"]["namespace"], 1);
    assert_eq!(json["proof"]["above"]["entry"]["namespace"], 5);
    verify_answer(&json);
    let header = header_of(&json);
    let proof = absence_of(&json);
    assert_eq!(Err(proof.clone()), prove_namespace(&header, Namespace(3)));
    for ns in [2, 4] {
        assert_eq!(verify_absence(&header, Namespace(ns), &proof), Ok(()));
    }
    // It proves nothing about a namespace the block holds, nor outside its neighbours.
    for ns in [1, 5, 0, 6] {
        assert!(
            verify_absence(&header, Namespace(ns), &proof).is_err(),
            "ns {ns}"
        );
    }
    // Below the first entry, above the last, and in an empty block.
    let (_, _, json) = fx.get("/v1/namespaces/0/blocks/0").await;
    assert_eq!(json["proof"]["below"], Value::Null);
    assert_eq!(json["proof"]["above"]["entry"]["namespace"], 1);
    verify_answer(&json);
    let (_, _, json) = fx
        .get(&format!("/v1/namespaces/{}/blocks/0", u64::MAX))
        .await;
    assert_eq!(json["proof"]["above"], Value::Null);
    verify_answer(&json);
    fx.finalize(&[]).await;
    let (_, _, json) = fx.get("/v1/namespaces/5/blocks/3").await;
    assert_eq!(json["status"], "absent");
    assert_eq!(json["proof"]["table_len"], 0);
    verify_answer(&json);
    let empty = absence_of(&json);
    assert!(verify_absence(fx.blocks[0].header(), Namespace(5), &empty).is_err());
}

#[tokio::test]
async fn invalid_encoding_is_served_with_its_evidence() {
    let mut fx = Fixture::new(64).await;
    let (b, evidence) = fx
        .finalize_invalid(&[(7, b"good"), (5, b"never served"), (5, b"nor this")], 5)
        .await;
    let (status, _, json) = fx.get("/v1/namespaces/5/blocks/3").await;
    assert_eq!(status, 200);
    assert_eq!(json["status"], "invalid_encoding");
    assert_eq!(json["transactions"], json!([]));
    assert_eq!(
        json["evidence"],
        json!({"bytes": hex::encode(evidence.encode()), "chunks": params().k})
    );
    assert_eq!(evidence_of(&json), evidence);
    // The proof is the entry's inclusion: it claims two transactions the chain treats as none.
    let proof = inclusion_of(&json);
    assert_eq!(proof.entry.tx_count, 2);
    assert_eq!(json["proof"]["entry"]["tx_count"], 2);
    verify_answer(&json);
    // No payloads verify against an invalid commitment, not even the empty list.
    let header = header_of(&json);
    assert!(verify_namespace(params(), &header, Namespace(5), &[], &proof).is_err());

    // The valid namespace of the same block is served and verifies as usual.
    let (_, _, json) = fx.get("/v1/namespaces/7/blocks/3").await;
    assert_eq!(json["status"], "valid");
    assert_eq!(payloads_of(&json), [Bytes::from_static(b"good")]);
    verify_answer(&json);

    // The whole block lists the invalid namespace and serves none of its transactions.
    let (_, _, json) = fx.get("/v1/blocks/3").await;
    assert_eq!(json["hash"], b.hash().to_hex());
    assert_eq!(json["invalid_namespaces"], json!([5]));
    let namespaces: Vec<&Value> = json["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tx| &tx["namespace"])
        .collect();
    assert_eq!(namespaces, [&json!(7)]);
    let (_, _, json) = fx.get("/v1/blocks/2").await;
    assert_eq!(json["invalid_namespaces"], json!([]));
}

#[tokio::test]
async fn finalized_transaction_carries_a_verifying_proof() {
    let mut fx = Fixture::new(64).await;
    let b = fx
        .finalize(&[(5, b"one"), (2, b"x"), (5, b"two"), (5, b"three")])
        .await;
    for (position, payload) in [&b"one"[..], b"two", b"three"].into_iter().enumerate() {
        let tx = cortado_types::Transaction::new(5u64, payload);
        let (status, _, json) = fx.get(&format!("/v1/transactions/{}", tx.hash())).await;
        assert_eq!(status, 200, "{json}");
        assert_eq!(json["status"], "finalized");
        assert_eq!(json["position"], position);
        // Everything needed is in the one answer: header, certificate, payload, compact proof.
        let header = header_of(&json);
        assert_eq!(&header, b.header());
        assert_eq!(common::certificate_of(&json).block, header.hash());
        let given = STANDARD.decode(json["payload"].as_str().unwrap()).unwrap();
        assert_eq!(given, payload);

        let tx_proof = cortado_coding::TransactionProof::decode_cfg(
            common::hex_field(&json["transaction_proof"], "bytes"),
            &common::limits().txs_per_block_max,
        )
        .unwrap();
        assert_eq!(json["transaction_proof"]["count"], 3);
        // 3 leaves split 2 + 1: positions 0 and 1 have 2 siblings, position 2 one.
        assert_eq!(tx_proof.path.len(), if position < 2 { 2 } else { 1 });
        let entry =
            cortado_coding::verify_transaction(&header, Namespace(5), &tx.hash(), &tx_proof)
                .unwrap();
        assert_eq!(entry.tx_count, 3);
        assert!(json.get("namespace_transactions").is_none());
        let other = cortado_types::Transaction::new(5u64, &b"four"[..]).hash();
        assert!(
            cortado_coding::verify_transaction(&header, Namespace(5), &other, &tx_proof).is_err()
        );

        // With ?full=true, the namespace's transactions, proven by re-encoding.
        let (status, _, json) = fx
            .get(&format!("/v1/transactions/{}?full=true", tx.hash()))
            .await;
        assert_eq!(status, 200, "{json}");
        let proof = cortado_coding::NamespaceProof::decode_cfg(
            common::hex_field(&json["namespace_proof"], "bytes"),
            &common::limits().namespaces_per_block_max,
        )
        .unwrap();
        let payloads: Vec<Bytes> = json["namespace_transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| Bytes::from(STANDARD.decode(t["payload"].as_str().unwrap()).unwrap()))
            .collect();
        assert_eq!(payloads[position], payload);
        let check =
            |p: &[Bytes]| verify_namespace(params(), &header, Namespace(5), p, &proof).is_ok();
        assert!(check(&payloads));
        let mut swapped = payloads.clone();
        swapped.swap(0, 2);
        assert!(!check(&swapped), "reordered transactions are rejected");
        assert!(!check(&payloads[1..]), "a dropped transaction is rejected");
    }
}

#[tokio::test]
async fn history_proofs_verify_against_later_headers() {
    let mut fx = Fixture::new(64).await;
    for i in 0..7u8 {
        fx.finalize(&[(1, &[i])]).await;
    }
    let latest = fx.blocks.len() as u64 - 1;
    for against in 1..=latest {
        for height in 0..against {
            let (status, _, json) = fx
                .get(&format!("/v1/headers/{height}/proof?against={against}"))
                .await;
            assert_eq!(status, 200, "{json}");
            let header = header_of(&json);
            assert_eq!(&header, fx.blocks[height as usize].header());
            let later = cortado_types::Header::decode_cfg(
                common::hex_field(&json, "later_header_bytes"),
                &common::limits().namespaces_per_block_max,
            )
            .unwrap();
            assert_eq!(later.height, against);
            let certificate = cortado_types::FinalityCertificate::decode_cfg(
                common::hex_field(&json, "later_certificate_bytes"),
                &(),
            )
            .unwrap();
            assert_eq!(certificate.block, later.hash());
            let proof =
                history::HistoryProof::decode_cfg(common::hex_field(&json["proof"], "bytes"), &())
                    .unwrap();
            assert_eq!(
                json["proof"]["siblings"].as_array().unwrap().len(),
                proof.siblings.len()
            );
            assert_eq!(
                history::verify(&later.history, against, header.hash(), &proof),
                Ok(())
            );
            // The proof is for this header only.
            if against > 1 {
                let other = fx.blocks[((height + 1) % against) as usize].hash();
                assert!(history::verify(&later.history, against, other, &proof).is_err());
            }
        }
    }
    // `against` defaults to the latest header.
    let (_, _, json) = fx.get("/v1/headers/2/proof").await;
    assert_eq!(json["against"], latest);

    for (uri, status, code, needle) in [
        (
            "/v1/headers/3/proof?against=3",
            404,
            "not_found",
            "must be above height",
        ),
        (
            "/v1/headers/5/proof?against=2",
            404,
            "not_found",
            "must be above height",
        ),
        (
            "/v1/headers/1/proof?against=99",
            404,
            "not_found",
            "height 99 is not finalized",
        ),
        (
            "/v1/headers/1/proof?against=0000000000000000000000000000000000000000000000000000000000000000",
            404,
            "not_found",
            "no finalized block with hash",
        ),
        (
            "/v1/headers/1/proof?against=x",
            400,
            "invalid_height",
            "against must be",
        ),
        (
            "/v1/headers/99/proof?against=100",
            404,
            "not_found",
            "height 100 is not finalized",
        ),
    ] {
        fx.expect_error(
            axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap(),
            axum::http::StatusCode::from_u16(status).unwrap(),
            code,
            needle,
        )
        .await;
    }
}
