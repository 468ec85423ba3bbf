//! Every field of an answer, bound: what the verified bytes render to, compared with what a
//! node sent.
//!
//! Once a header, its certificate and a namespace's payloads verify, every other field of an
//! answer follows from them: hashes, heights, the decoded header and certificate, the
//! namespace proof (a function of the header alone), each transaction's hash and index.
//! [`same`] accepts an answer only if it is exactly that rendering: a field that differs, one
//! that is missing, and one that is extra (the proofs do not bind it) are refused, by name.
//! This is the JSON shape of the node's answers (docs/LIGHT_CLIENT.md), written again here
//! from the types so that no field is taken on the node's word.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use commonware_codec::Encode;
use cortado_coding::{AbsenceProof, NamespaceProof, TransactionProof};
use cortado_types::{
    FinalityCertificate, Header, Namespace, NamespaceEntry, Transaction, history::HistoryProof,
};
use serde_json::{Map, Value, json};

/// The transaction index (position in the block's transaction order) of the transaction at
/// `position` in `namespace`: the `tx_count`s of the header's table entries before it, plus
/// `position`. Bound by the header alone, whatever earlier namespaces hold (an invalidly
/// encoded one keeps its slots, empty).
pub fn slot(header: &Header, namespace: Namespace, position: u32) -> Option<u32> {
    let entries = header.table.entries();
    let at = header.table.find(namespace).ok()?;
    if position >= entries[at].tx_count {
        return None;
    }
    let before: u64 = entries[..at].iter().map(|e| u64::from(e.tx_count)).sum();
    u32::try_from(before + u64::from(position)).ok()
}

fn entry(e: &NamespaceEntry) -> Value {
    json!({
        "namespace": e.namespace.get(),
        "tx_count": e.tx_count,
        "byte_len": e.byte_len,
        "commitment": e.commitment.to_hex(),
        "tx_root": e.tx_root.to_hex(),
    })
}

/// `{"height","hash","header","header_bytes","certificate","certificate_bytes"}`.
pub(crate) fn header_view(
    header: &Header,
    certificate: &FinalityCertificate,
) -> Map<String, Value> {
    let fields = json!({
        "chain_id": header.chain_id.0,
        "height": header.height,
        "epoch": header.epoch,
        "view": header.view,
        "parent_view": header.parent_view,
        "leader": hex::encode(header.leader),
        "timestamp_ms": header.timestamp_ms,
        "parent": header.parent.to_hex(),
        "payload_commitment": header.payload_commitment.to_hex(),
        "namespaces": header.table.entries().iter().map(entry).collect::<Vec<_>>(),
    });
    let cert = json!({
        "epoch": certificate.epoch,
        "view": certificate.view,
        "parent_view": certificate.parent_view,
        "block": certificate.block.to_hex(),
        "signature": hex::encode(certificate.signature),
    });
    object(json!({
        "height": header.height,
        "hash": header.hash().to_hex(),
        "header": fields,
        "header_bytes": hex::encode(header.encode()),
        "certificate": cert,
        "certificate_bytes": hex::encode(certificate.encode()),
    }))
}

/// `{"kind":"inclusion","position","table_len","entry","path","bytes"}`.
pub(crate) fn inclusion_view(p: &NamespaceProof) -> Value {
    json!({
        "kind": "inclusion",
        "position": p.position,
        "table_len": p.table_len,
        "entry": entry(&p.entry),
        "path": p.path.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
        "bytes": hex::encode(p.encode()),
    })
}

/// `{"position","count","path","bytes"}`.
pub(crate) fn transaction_proof_view(p: &TransactionProof) -> Value {
    json!({
        "position": p.position,
        "count": p.count,
        "path": p.path.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
        "bytes": hex::encode(p.encode()),
    })
}

/// `{"kind":"absence","below","above","table_len","bytes"}`.
pub(crate) fn absence_view(p: &AbsenceProof) -> Value {
    json!({
        "kind": "absence",
        "below": p.below.as_ref().map(inclusion_view),
        "above": p.above.as_ref().map(inclusion_view),
        "table_len": p.table_len,
        "bytes": hex::encode(p.encode()),
    })
}

/// The proof of `namespace` in `header`: inclusion if its table holds it, else absence.
pub(crate) fn proof_view(header: &Header, namespace: Namespace) -> Value {
    match cortado_coding::prove_namespace(header, namespace) {
        Ok(inclusion) => inclusion_view(&inclusion),
        Err(absence) => absence_view(&absence),
    }
}

/// `[{"index","hash","payload"}…]` of `namespace`'s `payloads` in `header`'s block.
pub(crate) fn transactions_view(
    header: &Header,
    namespace: Namespace,
    payloads: &[Bytes],
) -> Value {
    let views: Vec<Value> = (0u32..)
        .zip(payloads)
        .map(|(position, payload)| {
            json!({
                "index": slot(header, namespace, position),
                "hash": Transaction::hash_parts(namespace, payload).to_hex(),
                "payload": STANDARD.encode(payload),
            })
        })
        .collect();
    Value::Array(views)
}

/// `{"leaf","count","siblings","bytes"}`.
pub(crate) fn history_proof_view(p: &HistoryProof) -> Value {
    json!({
        "leaf": p.leaf,
        "count": p.count,
        "siblings": p.siblings.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
        "bytes": hex::encode(p.encode()),
    })
}

/// `value` as an object (it is one by construction).
pub(crate) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Checks that `given` is exactly `expected`; otherwise names the first field that differs,
/// is missing, or is not bound (extra), by its path (`namespace_transactions[2].hash`).
pub fn same(given: &Value, expected: &Value) -> Result<(), String> {
    compare(given, expected, "")
}

fn compare(given: &Value, expected: &Value, path: &str) -> Result<(), String> {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (given, expected) {
        (Value::Object(g), Value::Object(e)) => {
            if let Some(extra) = g.keys().find(|k| !e.contains_key(*k)) {
                return Err(format!(
                    "field `{}` is not bound by the proofs (an answer holds nothing else)",
                    at(extra)
                ));
            }
            for (key, value) in e {
                let Some(got) = g.get(key) else {
                    return Err(format!("field `{}` is missing", at(key)));
                };
                compare(got, value, &at(key))?;
            }
            Ok(())
        }
        (Value::Array(g), Value::Array(e)) if g.len() == e.len() => g
            .iter()
            .zip(e)
            .enumerate()
            .try_for_each(|(i, (g, e))| compare(g, e, &format!("{path}[{i}]"))),
        (Value::Array(g), Value::Array(e)) => Err(format!(
            "field `{path}` holds {} items; the proofs give {}",
            g.len(),
            e.len()
        )),
        (g, e) if g == e => Ok(()),
        (g, e) => Err(format!(
            "field `{path}` is {}; the proofs say {}",
            short(g),
            short(e)
        )),
    }
}

/// A value for an error message, cut to 80 characters.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 80 {
        text
    } else {
        format!("{}…", text.chars().take(80).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_named_by_path() {
        let expected = json!({"a": 1, "b": {"c": [1, 2]}, "d": null});
        assert!(same(&expected, &expected).is_ok());
        let err = same(&json!({"a": 1, "b": {"c": [1, 3]}, "d": null}), &expected).unwrap_err();
        assert!(err.contains("`b.c[1]` is 3"), "{err}");
        let err = same(&json!({"a": 1, "b": {"c": [1, 2]}}), &expected).unwrap_err();
        assert!(err.contains("`d` is missing"), "{err}");
        let err = same(
            &json!({"a": 1, "b": {"c": [1, 2]}, "d": null, "e": 0}),
            &expected,
        )
        .unwrap_err();
        assert!(err.contains("`e` is not bound"), "{err}");
        let err = same(&json!({"a": 1, "b": {"c": [1]}, "d": null}), &expected).unwrap_err();
        assert!(err.contains("`b.c` holds 1 items"), "{err}");
    }
}
