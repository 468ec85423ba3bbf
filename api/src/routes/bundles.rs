//! `POST /v1/bundles` and `GET /v1/bundles/{hash}`: atomic bundles and their status.

use super::*;

/// One member of a bundle submission.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundleTxBody {
    /// The member's namespace.
    namespace: u64,
    /// Its payload, standard base64.
    payload: String,
}

/// `POST /v1/bundles`: transactions for several namespaces, included in one block or not at
/// all.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundleBody {
    /// The members, in order (at most 256, no repeats).
    transactions: Vec<BundleTxBody>,
}

/// The answer to an accepted bundle.
#[derive(Serialize, ToSchema)]
pub(crate) struct BundleSubmitted {
    /// The bundle hash (its carrier transaction's hash): ask `/v1/bundles/{hash}`.
    hash: String,
    /// The members' transaction hashes, in order.
    transactions: Vec<String>,
    /// True when the mempool already held the bundle.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

/// `POST /v1/bundles`.
#[utoipa::path(
    post,
    path = "/v1/bundles",
    tag = "transactions",
    request_body = BundleBody,
    responses(
        (status = 202, description = "Accepted into the mempool (durably) as one unit", body = BundleSubmitted),
        (status = 400, description = "Malformed JSON or base64, an empty or repeating bundle, a reserved namespace, or members already pending elsewhere", body = ErrorBody),
        (status = 413, description = "A member, or the whole bundle, does not fit one block (the limit is named)", body = ErrorBody),
        (status = 503, description = "The mempool is full; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn submit_bundle<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<BundleSubmitted>)> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::too_large(format!(
                "request body exceeds {} bytes: a bundle travels as one unit of at most tx_bytes_max ({} bytes)",
                state.cfg.body_bytes_max(),
                state.cfg.limits.tx_bytes_max
            )));
        }
        Err(rejection) => return Err(rejection.into()),
    };
    let parsed: BundleBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            code::INVALID_JSON,
            format!("invalid JSON body (expected {{\"transactions\": [{{\"namespace\": <u64>, \"payload\": \"<base64>\"}}, …]}}): {e}"),
        )
    })?;
    let mut txs = Vec::with_capacity(parsed.transactions.len());
    for (i, member) in parsed.transactions.into_iter().enumerate() {
        let payload = STANDARD.decode(member.payload.as_bytes()).map_err(|e| {
            ApiError::bad_request(
                code::INVALID_BASE64,
                format!("transaction {i}: payload is not valid base64: {e}"),
            )
        })?;
        let tx = Transaction::new(member.namespace, payload);
        super::check_message(&state.cfg, &tx, &format!("transaction {i}: "))?;
        txs.push(tx);
    }
    let bundle = cortado_types::Bundle::new(txs)
        .map_err(|e| ApiError::bad_request(code::INVALID_BUNDLE, e.to_string()))?;
    bundle.check(&state.cfg.limits).map_err(|e| match e {
        cortado_types::BundleError::Limit(m) => ApiError::too_large(m),
        other => ApiError::bad_request(code::INVALID_BUNDLE, other.to_string()),
    })?;
    let submitted = state.node.submit(bundle.carrier()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(BundleSubmitted {
            hash: submitted.hash.to_hex(),
            transactions: bundle.member_hashes().iter().map(|h| h.to_hex()).collect(),
            duplicate: submitted.duplicate,
        }),
    ))
}

/// Where one member of a finalized bundle landed.
#[derive(Serialize, ToSchema)]
pub(crate) struct BundleMemberView {
    /// The member's hash.
    hash: String,
    /// The height of its block, or null if the index does not locate it.
    height: Option<u64>,
    /// Its index in that block.
    index: Option<u32>,
}

/// `/v1/bundles/{hash}`: `pending`, `finalized` (every member in one block, at `height`), or
/// `split` (members in different blocks: only a faulty leader does that).
#[derive(Serialize, ToSchema)]
pub(crate) struct BundleView {
    hash: String,
    /// `pending`, `finalized` or `split`.
    status: String,
    /// The block holding every member, when `finalized`.
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u64>,
    /// The members and where they landed (absent while pending).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    transactions: Vec<BundleMemberView>,
}

/// `GET /v1/bundles/{hash}`.
#[utoipa::path(
    get,
    path = "/v1/bundles/{hash}",
    tag = "transactions",
    params(("hash" = String, Path, description = "The bundle hash returned by POST /v1/bundles")),
    responses(
        (status = 200, description = "Pending, finalized in one block, or split", body = BundleView),
        (status = 400, description = "Not a hash", body = ErrorBody),
        (status = 404, description = "Unknown here", body = ErrorBody),
        (status = 500, description = "The index failed", body = ErrorBody),
    )
)]
pub(crate) async fn bundle<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<BundleView>> {
    let Path(value) = path?;
    let hash: Hash = value
        .parse()
        .map_err(|e: cortado_types::hash::ParseHashError| {
            ApiError::bad_request(code::INVALID_HASH, e.to_string())
        })?;
    if let Some(members) = state.reader.bundle(hash).await.map_err(ApiError::storage)? {
        let mut views = Vec::with_capacity(members.len());
        for member in members {
            let loc = state
                .reader
                .transaction(member)
                .await
                .map_err(ApiError::storage)?;
            views.push(BundleMemberView {
                hash: member.to_hex(),
                height: loc.as_ref().map(|l| l.height),
                index: loc.as_ref().map(|l| l.index),
            });
        }
        let first = views.first().and_then(|v| v.height);
        let together = first.is_some() && views.iter().all(|v| v.height == first);
        return Ok(Json(BundleView {
            hash: hash.to_hex(),
            status: if together { "finalized" } else { "split" }.to_string(),
            height: if together { first } else { None },
            transactions: views,
        }));
    }
    if state.node.is_pending(hash).await {
        return Ok(Json(BundleView {
            hash: hash.to_hex(),
            status: "pending".to_string(),
            height: None,
            transactions: Vec::new(),
        }));
    }
    Err(ApiError::not_found(format!(
        "unknown bundle {hash}: neither pending in this node's mempool nor recorded as finalized"
    )))
}
