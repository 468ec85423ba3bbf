//! The OpenAPI document of the API, generated from the handlers' annotations and the views'
//! types (utoipa), served at `/v1/openapi.json`.

use crate::{
    Node,
    config::base64_len,
    error::ErrorBody,
    metrics,
    routes::{self, ApiReader, AppState},
    stream,
};
use axum::{Json, extract::State};
use cortado_types::Limits;
use serde_json::{Value, json};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, Ref, RefOr,
        header::HeaderBuilder,
        path::Operation,
        response::{Response, ResponseBuilder},
    },
};

/// The API's OpenAPI 3.1 description: every route, its parameters, bodies and errors.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cortado node API",
        description = "Submit namespaced transactions and read finalized data with the proofs \
                       that let a client verify it against the genesis file alone \
                       (docs/LIGHT_CLIENT.md). Errors are JSON {\"error\", \"code\"}.",
    ),
    paths(
        routes::submit,
        routes::submit_raw,
        routes::transaction,
        routes::submit_bundle,
        routes::bundle,
        routes::status,
        routes::header,
        routes::history_proof,
        routes::block,
        routes::namespace_block,
        routes::inbox,
        routes::sender_inbox,
        stream::headers,
        stream::namespace,
        stream::inbox,
        openapi_json,
        metrics::metrics,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Refusals),
    tags(
        (name = "transactions", description = "Submit and follow transactions"),
        (name = "finalized", description = "Finalized headers, blocks and namespaces, with proofs"),
        (name = "messages", description = "Cross-rollup messages by destination, with proofs"),
        (name = "streams", description = "Server-sent events of finalized data, resumable"),
        (name = "node", description = "This node"),
    )
)]
pub struct ApiDoc;

/// Adds the refusals of the limits (`crate::limits`), which any route may answer, to every
/// operation: 429 (`rate_limited`, `too_many_connections`, `too_many_streams`) and 503
/// (`overloaded`, `timeout`), both with `Retry-After`.
struct Refusals;

impl Refusals {
    const TOO_MANY: &str = "Over a per-address limit (rate_limited, too_many_connections, \
                            too_many_streams); see Retry-After";
    const UNAVAILABLE: &str = "The node is at a node-wide limit (overloaded: connections, \
                               streams or requests in flight) or the answer took longer than \
                               its request timeout (timeout); see Retry-After";

    fn response(description: &str) -> Response {
        ResponseBuilder::new()
            .description(description)
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            )
            .content(
                "application/json",
                Content::new(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody")))),
            )
            .build()
    }

    fn add(operation: &mut Operation) {
        for (status, description) in [("429", Self::TOO_MANY), ("503", Self::UNAVAILABLE)] {
            match operation.responses.responses.get_mut(status) {
                Some(RefOr::T(existing)) => {
                    existing.description = format!("{}; or: {description}", existing.description);
                }
                Some(RefOr::Ref(_)) => {}
                None => {
                    operation
                        .responses
                        .responses
                        .insert(status.to_string(), RefOr::T(Self::response(description)));
                }
            }
        }
    }
}

impl Modify for Refusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                Self::add(operation);
            }
        }
    }
}

/// The document as served: [`ApiDoc`] made exact where the annotations cannot say it, so
/// that every request it allows is one the server takes and the reverse (schemathesis checks
/// both against a live node in CI):
///
/// - unsigned 64-bit integers are `minimum 0, maximum 2^64-1` (utoipa writes `format: int64`,
///   which stops at 2^63-1, while the server takes every u64);
/// - path and query values the handlers parse from text get their grammar: a height is a
///   number, `latest` or a block hash; a hash 64 hex digits; a sender 40; `limit` 1 to 1000;
///   `Last-Event-ID` a height;
/// - submission payloads are base64 of at most `tx_bytes_max` bytes, namespaces (in the body
///   or the path) below the one reserved for bundle carriers, a bundle 1 to 256 distinct members;
/// - the proof views name their `kind`, so that exactly one of `ProofView`'s forms matches;
/// - an SSE response is described event by event (`event`, `id`, and `data` holding the JSON
///   view), as OpenAPI 3.2's `itemSchema` does for `text/event-stream`.
pub fn document(limits: &Limits) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    unsigned(&mut doc);
    let u64_max = json!(u64::MAX);
    let height = json!({"anyOf": [
        {"type": "integer", "minimum": 0, "maximum": u64_max},
        {"type": "string", "enum": ["latest"]},
        {"type": "string", "pattern": HASH_PATTERN},
    ]});
    let grammar = |name: &str| -> Option<Value> {
        Some(match name {
            "height" | "against" => height.clone(),
            "hash" => json!({"type": "string", "pattern": HASH_PATTERN}),
            "sender" => json!({"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{40}$"}),
            "limit" => json!({"type": "integer", "minimum": 1, "maximum": routes::INBOX_LIMIT_MAX}),
            "Last-Event-ID" => json!({"type": "integer", "minimum": 0, "maximum": u64_max}),
            _ => return None,
        })
    };
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut().filter_map(Value::as_object_mut) {
                let params = op.get_mut("parameters").and_then(Value::as_array_mut);
                for param in params.into_iter().flatten() {
                    let name = param["name"].as_str().unwrap_or_default().to_string();
                    if let Some(schema) = grammar(&name) {
                        param["schema"] = schema;
                    } else if param["schema"]["type"] == json!(["integer", "null"]) {
                        // An optional value is left out, never sent as null.
                        param["schema"]["type"] = json!("integer");
                    }
                }
                for response in op
                    .get_mut("responses")
                    .and_then(Value::as_object_mut)
                    .into_iter()
                    .flat_map(|r| r.values_mut())
                {
                    if let Some(sse) = response.pointer_mut("/content/text~1event-stream") {
                        let data = sse["schema"].take();
                        sse["schema"] = json!({
                            "type": "object",
                            "required": ["data"],
                            "properties": {
                                "event": {"type": "string"},
                                "id": {"type": "string", "pattern": "^[0-9]+$"},
                                "data": {
                                    "type": "string",
                                    "contentMediaType": "application/json",
                                    "contentSchema": data,
                                },
                            },
                        });
                    }
                }
            }
        }
    }
    let payload = json!({
        "type": "string",
        "format": "byte",
        "contentEncoding": "base64",
        "maxLength": base64_len(limits.tx_bytes_max),
        "description": "Standard base64 of at most tx_bytes_max bytes",
    });
    let namespace = json!({
        "type": "integer",
        "minimum": 0,
        "maximum": cortado_types::BUNDLE_NAMESPACE.get() - 1,
        "description": "The namespace (the last one, 2^64-1, is reserved for bundle carriers)",
    });
    for body in ["SubmitBody", "BundleTxBody"] {
        if let Some(props) = doc.pointer_mut(&format!("/components/schemas/{body}/properties")) {
            props["payload"] = payload.clone();
            props["namespace"] = namespace.clone();
        }
    }
    if let Some(members) = doc.pointer_mut("/components/schemas/BundleBody/properties/transactions")
    {
        members["minItems"] = json!(1);
        members["maxItems"] = json!(cortado_types::BUNDLE_TXS_MAX);
        members["uniqueItems"] = json!(true);
    }
    let raw = "/paths/~1v1~1namespaces~1{ns}~1transactions/post";
    // The body is the payload, and an empty payload is a transaction too.
    if let Some(body) = doc.pointer_mut(&format!("{raw}/requestBody")) {
        body["required"] = json!(false);
    }
    if let Some(body) = doc.pointer_mut(&format!(
        "{raw}/requestBody/content/application~1octet-stream/schema"
    )) {
        *body = json!({"type": "string", "format": "binary", "maxLength": limits.tx_bytes_max});
    }
    if let Some(params) = doc
        .pointer_mut(&format!("{raw}/parameters"))
        .and_then(Value::as_array_mut)
    {
        for param in params.iter_mut().filter(|p| p["name"] == "ns") {
            param["schema"] = namespace.clone();
        }
    }
    // The two proof views share their other fields: `kind` alone tells them apart.
    for (view, kind) in [("InclusionView", "inclusion"), ("AbsenceView", "absence")] {
        if let Some(props) = doc.pointer_mut(&format!("/components/schemas/{view}/properties")) {
            props["kind"] = json!({"type": "string", "enum": [kind]});
        }
    }
    doc
}

/// 64 hex digits, with or without `0x`.
const HASH_PATTERN: &str = "^(0x)?[0-9a-fA-F]{64}$";

/// Rewrites every `format: int64, minimum: 0` (a Rust u64) as the whole u64 range.
fn unsigned(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str) == Some("int64")
                && map.get("minimum").and_then(Value::as_u64) == Some(0)
            {
                map.remove("format");
                map.insert("maximum".into(), json!(u64::MAX));
            }
            map.values_mut().for_each(unsigned);
        }
        Value::Array(items) => items.iter_mut().for_each(unsigned),
        _ => {}
    }
}

/// `GET /v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "node",
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
pub(crate) async fn openapi_json<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
) -> Json<Value> {
    Json(document(&state.cfg.limits))
}
