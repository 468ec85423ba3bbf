//! `GET /v1/namespaces/{dst}/inbox`: cross-rollup messages to a namespace, with proofs.

use super::*;

/// The query of `GET /v1/namespaces/{dst}/inbox`.
#[derive(Deserialize)]
pub(crate) struct InboxQueryParams {
    source: Option<String>,
    sender: Option<String>,
    from_seq: Option<String>,
    from: Option<String>,
    limit: Option<String>,
}

/// Most messages one inbox answer holds.
pub(crate) const INBOX_LIMIT_MAX: usize = 1_000;

/// `GET /v1/namespaces/{dst}/inbox?source=S&from_seq=N` or `?from=H`.
#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/inbox",
    tag = "messages",
    params(
        ("ns" = u64, Path, description = "The destination namespace"),
        ("source" = Option<u64>, Query, description = "Only this source's messages, by sequence number"),
        ("sender" = Option<String>, Query, description = "With `source`: only this sender's messages: its 20-byte address, 40 hex digits with or without 0x; sequence numbers count per sender, and gaps are reported only with it"),
        ("from_seq" = Option<u64>, Query, description = "With `source`: the first sequence number (default 0)"),
        ("from" = Option<u64>, Query, description = "Without `source`: the first height (default 0); messages in finalization order"),
        ("limit" = Option<u64>, Query, description = "Most messages to return (default and maximum 1000)"),
    ),
    responses(
        (status = 200, description = "Messages in order, each proven by a block of its source namespace", body = InboxView),
        (status = 400, description = "A malformed namespace, sequence, height or limit, or from_seq without source", body = ErrorBody),
        (status = 500, description = "The index failed", body = ErrorBody),
    )
)]
pub(crate) async fn inbox<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<InboxQueryParams>, QueryRejection>,
) -> ApiResult<Json<InboxView>> {
    let Path(ns) = path?;
    let destination = parse_namespace(&ns)?;
    let Query(q) = query?;
    let limit = match q.limit.as_deref() {
        None => INBOX_LIMIT_MAX,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=INBOX_LIMIT_MAX).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    code::BAD_REQUEST,
                    format!("limit must be an integer from 1 to {INBOX_LIMIT_MAX}; got {v:?}"),
                ));
            }
        },
    };
    let seq = |v: &str| {
        v.parse::<u64>().map_err(|_| {
            ApiError::bad_request(
                code::BAD_REQUEST,
                format!(
                    "from_seq must be a sequence number (an unsigned 64-bit integer); got {v:?}"
                ),
            )
        })
    };
    let (query, from_seq) = match (&q.source, &q.from_seq, &q.from) {
        (Some(source), from_seq, None) => {
            let from_sequence = from_seq.as_deref().map(seq).transpose()?.unwrap_or(0);
            let sender = q
                .sender
                .as_deref()
                .map(|h| {
                    cortado_types::Address::from_hex(h).map_err(|e| {
                        ApiError::bad_request(
                            code::BAD_REQUEST,
                            format!("sender must be a 20-byte address in hex: {e}"),
                        )
                    })
                })
                .transpose()?;
            let gaps_from = sender.is_some().then_some(from_sequence);
            (
                cortado_storage::InboxQuery::Source {
                    source: parse_namespace(source)?,
                    sender,
                    from_sequence,
                },
                gaps_from,
            )
        }
        (None, _, _) if q.sender.is_some() => {
            return Err(ApiError::bad_request(
                code::BAD_REQUEST,
                "sender needs source: a sender is an address on the source rollup",
            ));
        }
        (None, None, from) => (
            cortado_storage::InboxQuery::All {
                from_height: from
                    .as_deref()
                    .map(|v| parse_height(v, "from"))
                    .transpose()?
                    .unwrap_or(0),
            },
            None,
        ),
        (Some(_), _, Some(_)) => {
            return Err(ApiError::bad_request(
                code::BAD_REQUEST,
                "give either source (with from_seq) or from, not both",
            ));
        }
        (None, Some(_), _) => {
            return Err(ApiError::bad_request(
                code::BAD_REQUEST,
                "from_seq needs source: sequence numbers count per (source, destination)",
            ));
        }
    };
    let messages = state
        .reader
        .inbox(destination, query, limit)
        .await
        .map_err(ApiError::storage)?;
    let full = messages.len() == limit;
    let by_source = q.source.is_some();
    let (gaps, next) = match from_seq {
        Some(mut expected) => {
            let mut gaps = Vec::new();
            for m in &messages {
                if m.envelope.sequence > expected {
                    gaps.push([expected, m.envelope.sequence - 1]);
                }
                expected = m.envelope.sequence.saturating_add(1);
            }
            (gaps, full.then_some(expected))
        }
        // By source without a sender: resume at the last sequence number (several senders may
        // share it; the reader skips what it has).
        None if by_source => (
            Vec::new(),
            full.then(|| messages.last().map_or(0, |m| m.envelope.sequence)),
        ),
        None => (
            Vec::new(),
            // Resume at the last height: a block's messages may have been cut by the limit;
            // the reader skips what it has (same height, index ≤ its last).
            full.then(|| messages.last().map_or(0, |m| m.height)),
        ),
    };
    inbox_view(&state.reader, destination, &messages, gaps, next)
        .await
        .map(Json)
}

/// The inbox view of `messages` (to `destination`), with one proof per (height, source).
pub(crate) async fn inbox_view(
    reader: &impl Reader,
    destination: cortado_types::Namespace,
    messages: &[cortado_storage::IndexedMessage],
    gaps: Vec<[u64; 2]>,
    next: Option<u64>,
) -> ApiResult<InboxView> {
    // One proof per (height, source), in the order first needed.
    let mut wanted: Vec<(u64, cortado_types::Namespace)> = Vec::new();
    for m in messages {
        let key = (m.height, m.envelope.source);
        if !wanted.contains(&key) {
            wanted.push(key);
        }
    }
    let mut proofs = Vec::with_capacity(wanted.len());
    for (height, source) in wanted {
        let nb = reader
            .namespace_block(source, height)
            .await
            .map_err(ApiError::storage)?
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "the index holds a message at height {height} but not that block"
                ))
            })?;
        proofs.push(nb);
    }
    InboxView::new(destination.get(), messages, &proofs, gaps, next).ok_or_else(|| {
        ApiError::internal(format!(
            "the inbox of namespace {destination} does not agree with the blocks that hold it"
        ))
    })
}
