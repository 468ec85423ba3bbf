//! The OpenAPI document of the API, generated from the handlers' annotations and the views'
//! types (utoipa), served at `/v1/openapi.json`.

use crate::{error::ErrorBody, metrics, routes, stream};
use axum::Json;
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
        routes::transaction,
        routes::submit_bundle,
        routes::bundle,
        routes::status,
        routes::header,
        routes::history_proof,
        routes::block,
        routes::namespace_block,
        routes::inbox,
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

/// `GET /v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "node",
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
