//! JSON errors: every failure the API returns is `{"error": "...", "code": "..."}`.

use crate::node::{SubmitError, retry_after_secs};
use axum::{
    Json,
    extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection},
    http::{HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use std::time::Duration;

/// Machine-readable error codes (the `code` field).
pub mod code {
    /// 400: the request is malformed in a way no more specific code names.
    pub const BAD_REQUEST: &str = "bad_request";
    /// 400: the JSON body does not parse or lacks a field.
    pub const INVALID_JSON: &str = "invalid_json";
    /// 400: a payload is not valid base64.
    pub const INVALID_BASE64: &str = "invalid_base64";
    /// 400: a hash is not 64 hex characters.
    pub const INVALID_HASH: &str = "invalid_hash";
    /// 400: a height (path, `from`, `Last-Event-ID`) is not an unsigned integer.
    pub const INVALID_HEIGHT: &str = "invalid_height";
    /// 400: a bundle is empty, malformed, too large for a block, or conflicts with pending
    /// transactions.
    pub const INVALID_BUNDLE: &str = "invalid_bundle";
    /// 400: a payload starts with the message magic `CXM1` but is not a valid message of its
    /// namespace: malformed, naming another source, or not signed by its sender on this chain.
    pub const INVALID_MESSAGE: &str = "invalid_message";
    /// 400: a namespace is missing or not an unsigned 64-bit integer.
    pub const INVALID_NAMESPACE: &str = "invalid_namespace";
    /// 409: a bundle's member is pending or finalized already, or a transaction submitted
    /// alone is a member of a pending bundle.
    pub const BUNDLE_CONFLICT: &str = "bundle_conflict";
    /// 404: no such transaction, height or route.
    pub const NOT_FOUND: &str = "not_found";
    /// 404: the height is below the checkpoint this node joined the chain from: it does not
    /// hold it (another API node or an archive does).
    pub const NOT_HELD: &str = "not_held";
    /// 405: the route exists but not for this method.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// 421: this node is a validator that is not an API node: it serves headers, status and
    /// metrics, not namespace data, and takes no submissions.
    pub const NOT_SERVED: &str = "not_served";
    /// 413: the body or payload exceeds the limit.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// 429: the namespace's share of the mempool is full (see `Retry-After`).
    pub const NAMESPACE_FULL: &str = "namespace_full";
    /// 503: the mempool is full (see `Retry-After`).
    pub const MEMPOOL_FULL: &str = "mempool_full";
    /// 429: this address sent more requests than its rate (see `Retry-After`).
    pub const RATE_LIMITED: &str = "rate_limited";
    /// 429: this address has the most connections open that one address may.
    pub const TOO_MANY_CONNECTIONS: &str = "too_many_connections";
    /// 429: this address has the most SSE streams open that one address may.
    pub const TOO_MANY_STREAMS: &str = "too_many_streams";
    /// 503: the node has its most connections, streams or requests in flight (see
    /// `Retry-After`); another API node may answer.
    pub const OVERLOADED: &str = "overloaded";
    /// 503: the answer took longer than the node's request timeout.
    pub const TIMEOUT: &str = "timeout";
    /// 503: the node cannot serve this now.
    pub const UNAVAILABLE: &str = "unavailable";
    /// 500: the node failed (the index could not be read).
    pub const INTERNAL: &str = "internal";
}

/// An error response: a status, a code from [`code`], a message for people, and for
/// back-pressure a `Retry-After`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code.
    pub code: &'static str,
    /// What is wrong and, where possible, what to do.
    pub message: String,
    /// Sent as `Retry-After` (whole seconds, rounded up).
    pub retry_after: Option<Duration>,
}

/// The JSON body of every error.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// What is wrong and, where possible, what to do.
    error: String,
    /// Machine-readable: bad_request, invalid_json, invalid_base64, invalid_hash,
    /// invalid_height, invalid_namespace, not_found, not_held, method_not_allowed, not_served,
    /// bundle_conflict, payload_too_large, namespace_full, rate_limited, too_many_connections, too_many_streams,
    /// mempool_full, overloaded, timeout, unavailable, internal.
    code: String,
}

impl ApiError {
    /// An error without `Retry-After`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 400 with the given code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_FOUND, message)
    }

    /// 404 `not_held`: below the checkpoint this node started from.
    pub fn not_held(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_HELD, message)
    }

    /// A 413.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::PAYLOAD_TOO_LARGE,
            message,
        )
    }

    /// A 500 for an inconsistency the node found in its own data; the details go to the log too.
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!(%message, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, message)
    }

    /// A 500 for a failed index read; the details go to the log too.
    pub fn storage(err: cortado_storage::Error) -> Self {
        tracing::error!(%err, "index read failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            format!("the node's index failed: {err}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after;
        let body = Json(ErrorBody {
            error: self.message,
            code: self.code.to_string(),
        });
        let mut response = (self.status, body).into_response();
        if let Some(delay) = retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(delay)),
            );
        }
        response
    }
}

impl From<SubmitError> for ApiError {
    fn from(err: SubmitError) -> Self {
        let message = err.to_string();
        match err {
            SubmitError::TooLarge { .. } => Self::too_large(message),
            SubmitError::MempoolFull { retry_after } => Self {
                retry_after: Some(retry_after),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code::MEMPOOL_FULL, message)
            },
            SubmitError::NamespaceFull { retry_after, .. } => Self {
                retry_after: Some(retry_after),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, code::NAMESPACE_FULL, message)
            },
            SubmitError::Unavailable(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, code::UNAVAILABLE, message)
            }
            SubmitError::InvalidBundle(_) => {
                Self::new(StatusCode::BAD_REQUEST, code::INVALID_BUNDLE, message)
            }
            SubmitError::BundleConflict(_) => {
                Self::new(StatusCode::CONFLICT, code::BUNDLE_CONFLICT, message)
            }
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            rejection.status(),
            code::BAD_REQUEST,
            format!("invalid path: {}", rejection.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            rejection.status(),
            code::BAD_REQUEST,
            format!("invalid query string: {}", rejection.body_text()),
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => return Self::too_large(rejection.body_text()),
            // A body that parses but has the wrong shape is still a bad request here.
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        Self::new(status, code::INVALID_JSON, rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::too_large(rejection.body_text());
        }
        Self::new(
            rejection.status(),
            code::BAD_REQUEST,
            format!("could not read the request body: {}", rejection.body_text()),
        )
    }
}

/// Fallback for paths no route matches.
pub(crate) async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route for {method} {}; the API lives under /v1 (every route is in /v1/openapi.json)",
        uri.path()
    ))
}

/// Whether `path` reads namespace data or takes a submission: what only an API node serves.
/// Headers, their proofs and stream, status, metrics and the OpenAPI document are served by
/// every node.
pub(crate) fn is_data_route(path: &str) -> bool {
    const DATA: [&str; 5] = [
        "/v1/transactions",
        "/v1/bundles",
        "/v1/blocks",
        "/v1/namespaces",
        "/v1/stream/namespaces",
    ];
    DATA.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The answer of a validator that is not an API node to a data route.
pub(crate) fn not_served(path: &str, data_nodes: &[String]) -> ApiError {
    let hint = if data_nodes.is_empty() {
        "an API node of this chain".to_string()
    } else {
        format!("an API node ({})", data_nodes.join(", "))
    };
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        code::NOT_SERVED,
        format!(
            "{path} is not served here: this node is a validator that keeps only its own shares \
             (role = \"validator\" in genesis) and serves headers, status and metrics; submit to \
             and read namespace data from {hint}"
        ),
    )
}

/// Fallback for a known path with a method it does not take (axum adds the `Allow` header).
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        code::METHOD_NOT_ALLOWED,
        format!(
            "{method} is not allowed on {}; see the Allow header",
            uri.path()
        ),
    )
}
