//! The OpenAPI document of the API, generated from the handlers' annotations and the views'
//! types (utoipa), served at `/v1/openapi.json`.

use crate::{error::ErrorBody, metrics, routes, stream};
use axum::Json;
use utoipa::OpenApi;

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
    tags(
        (name = "transactions", description = "Submit and follow transactions"),
        (name = "finalized", description = "Finalized headers, blocks and namespaces, with proofs"),
        (name = "messages", description = "Cross-rollup messages by destination, with proofs"),
        (name = "streams", description = "Server-sent events of finalized data, resumable"),
        (name = "node", description = "This node"),
    )
)]
pub struct ApiDoc;

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
