//! `POST /v1/bundles` and `GET /v1/bundles/{hash}`: atomic bundles and their status.

use super::*;

/// One member of a bundle submission.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundleTxBody {
    /// The member's namespace.
    #[serde(deserialize_with = "crate::number::u64_exact")]
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

impl BundleBody {
    /// The members' namespaces of `data` if it parses as this body (for the fuzz targets).
    pub(crate) fn namespaces_of(data: &[u8]) -> Option<Vec<u64>> {
        let body = serde_json::from_slice::<Self>(data).ok()?;
        Some(body.transactions.iter().map(|t| t.namespace).collect())
    }
}

/// The answer to an accepted bundle.
#[derive(Serialize, ToSchema)]
pub(crate) struct BundleSubmitted {
    /// The bundle hash (its marker transaction's hash): ask `/v1/bundles/{hash}`.
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
        (status = 400, description = "Malformed JSON or base64, an empty or repeating bundle, or a reserved namespace", body = ErrorBody),
        (status = 409, description = "A member is already pending (in another bundle or on its own) or finalized (bundle_conflict)", body = ErrorBody),
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
    let members = bundle.member_hashes();
    let hash = cortado_types::Marker::new(members.clone())
        .transaction()
        .hash();
    Ok((
        StatusCode::ACCEPTED,
        Json(BundleSubmitted {
            hash: hash.to_hex(),
            transactions: members.iter().map(|h| h.to_hex()).collect(),
            duplicate: submitted.duplicate,
        }),
    ))
}

/// Where one member of a bundle was first finalized.
#[derive(Serialize, ToSchema)]
pub(crate) struct BundleMemberView {
    /// The member's hash.
    hash: String,
    /// The height of the block it was first finalized in, or null if the index does not
    /// locate it.
    height: Option<u64>,
    /// Its index in that block.
    index: Option<u32>,
}

/// `/v1/bundles/{hash}`: `pending`, `finalized` (the bundle's marker and every member first
/// finalized in one block, at `height`), or `failed` (its marker was finalized with every
/// member, but a member or the marker had been finalized earlier without the rest: a member
/// also posted alone elsewhere, or a faulty leader).
#[derive(Serialize, ToSchema)]
pub(crate) struct BundleView {
    hash: String,
    /// `pending`, `finalized` or `failed`.
    status: String,
    /// The block holding the marker and every member, when `finalized`.
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u64>,
    /// Why the bundle failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The members and where each was first finalized (absent while pending).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    transactions: Vec<BundleMemberView>,
}

/// `GET /v1/bundles/{hash}`.
///
/// The status comes from the finalized chain (the bundle's marker transaction in a block), so
/// every API node with the same blocks answers alike; only `pending` is this node's own word.
#[utoipa::path(
    get,
    path = "/v1/bundles/{hash}",
    tag = "transactions",
    params(("hash" = String, Path, description = "The bundle hash returned by POST /v1/bundles (its marker transaction's hash)")),
    responses(
        (status = 200, description = "Pending here, finalized in one block, or failed", body = BundleView),
        (status = 400, description = "Not a hash", body = ErrorBody),
        (status = 404, description = "Not finalized and not pending here", body = ErrorBody),
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
    if let Some((height, members)) = state.reader.bundle(hash).await.map_err(ApiError::storage)? {
        let mut views = Vec::with_capacity(members.len());
        let mut reason = None;
        for member in members {
            let loc = state
                .reader
                .transaction(member)
                .await
                .map_err(ApiError::storage)?;
            if reason.is_none()
                && let Some(loc) = loc.as_ref().filter(|l| l.height != height)
            {
                reason = Some(format!(
                    "member {member} was first finalized at height {} without the bundle, which is in the block at height {height}",
                    loc.height
                ));
            }
            views.push(BundleMemberView {
                hash: member.to_hex(),
                height: loc.as_ref().map(|l| l.height),
                index: loc.as_ref().map(|l| l.index),
            });
        }
        if reason.is_none()
            && let Some(loc) = state
                .reader
                .transaction(hash)
                .await
                .map_err(ApiError::storage)?
                .filter(|l| l.height != height)
        {
            reason = Some(format!(
                "the bundle's marker was first finalized at height {} without all its members, which are in the block at height {height}",
                loc.height
            ));
        }
        let failed = reason.is_some();
        return Ok(Json(BundleView {
            hash: hash.to_hex(),
            status: if failed { "failed" } else { "finalized" }.to_string(),
            height: (!failed).then_some(height),
            reason,
            transactions: views,
        }));
    }
    if state.node.is_pending(hash).await {
        return Ok(Json(BundleView {
            hash: hash.to_hex(),
            status: "pending".to_string(),
            height: None,
            reason: None,
            transactions: Vec::new(),
        }));
    }
    Err(ApiError::not_found(format!(
        "unknown bundle {hash}: not finalized, and not pending in this node's mempool (a bundle \
         whose member was finalized alone is dropped: it can never be finalized whole; look its \
         members up at /v1/transactions/{{hash}})"
    )))
}
