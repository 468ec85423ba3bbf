//! `GET /v1/namespaces/{dst}/inbox`: cross-rollup messages to a namespace, with proofs.

use super::*;
use cortado_storage::InboxQuery;

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

/// `GET /v1/namespaces/{dst}/inbox?from=H` (optionally `&source=S`): messages in
/// finalization order, whole heights. The older spelling of the sender route,
/// `?source=S&sender=A&from_seq=N`, is accepted too.
///
/// Paging is exact: by sequence, `next` is the next number of the sender; in finalization
/// order, an answer never splits a height (so `next` is a height to read from whole), and
/// holds at least one height whatever `limit` or the response budget.
#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/inbox",
    tag = "messages",
    params(
        ("ns" = u64, Path, description = "The destination namespace"),
        ("source" = Option<u64>, Query, description = "Only this source's messages"),
        ("from" = Option<u64>, Query, description = "The first height (default 0); messages in finalization order, whole heights"),
        ("limit" = Option<u64>, Query, description = "Most messages to return (default and maximum 1000); an answer holds at least one whole height"),
    ),
    responses(
        (status = 200, description = "Messages in finalization order, each proven by a block of its source namespace", body = InboxView),
        (status = 400, description = "A malformed namespace, height or limit", body = ErrorBody),
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
    answer(&state, destination, &q).await.map(Json)
}

/// The query of `GET /v1/namespaces/{dst}/inbox/{source}/{sender}`.
#[derive(Deserialize)]
pub(crate) struct SenderQueryParams {
    from_seq: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/namespaces/{dst}/inbox/{source}/{sender}?from_seq=N`: one sender's messages by
/// sequence number.
#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/inbox/{source}/{sender}",
    tag = "messages",
    params(
        ("ns" = u64, Path, description = "The destination namespace"),
        ("source" = u64, Path, description = "The source namespace"),
        ("sender" = String, Path, description = "The sender: its 20-byte address, 40 hex digits with or without 0x; sequence numbers count per sender"),
        ("from_seq" = Option<u64>, Query, description = "The first sequence number (default 0)"),
        ("limit" = Option<u64>, Query, description = "Most messages to return (default and maximum 1000)"),
    ),
    responses(
        (status = 200, description = "The sender's messages by sequence, each proven by a block of the source namespace, with the numbers never finalized in `gaps` and the next number in `next`", body = InboxView),
        (status = 400, description = "A malformed namespace, sender, sequence or limit", body = ErrorBody),
        (status = 500, description = "The index failed", body = ErrorBody),
    )
)]
pub(crate) async fn sender_inbox<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Result<Query<SenderQueryParams>, QueryRejection>,
) -> ApiResult<Json<InboxView>> {
    let Path((ns, source, sender)) = path?;
    let destination = parse_namespace(&ns)?;
    let Query(q) = query?;
    let q = InboxQueryParams {
        source: Some(source),
        sender: Some(sender),
        from_seq: q.from_seq,
        from: None,
        limit: q.limit,
    };
    answer(&state, destination, &q).await.map(Json)
}

/// The inbox answer to `q`.
async fn answer<N: Node, R: ApiReader>(
    state: &AppState<N, R>,
    destination: cortado_types::Namespace,
    q: &InboxQueryParams,
) -> ApiResult<InboxView> {
    let limit = parse_limit(q.limit.as_deref())?;
    let budget = state.cfg.bounds.response_bytes_max;
    Ok(match parse_query(q)? {
        InboxQuery::Sender {
            source,
            sender,
            from_sequence,
        } => {
            let query = InboxQuery::Sender {
                source,
                sender,
                from_sequence,
            };
            let mut messages = state
                .reader
                .inbox(destination, query, limit)
                .await
                .map_err(ApiError::storage)?;
            let read = messages.len();
            let (proofs, _) = proofs_within(&state.reader, &mut messages, budget, false).await?;
            let mut expected = from_sequence;
            let mut gaps = Vec::new();
            for m in &messages {
                if m.envelope.sequence > expected {
                    gaps.push([expected, m.envelope.sequence - 1]);
                }
                expected = m.envelope.sequence.saturating_add(1);
            }
            let full = read == limit || messages.len() < read;
            view_of(
                destination,
                &messages,
                &proofs,
                gaps,
                full.then_some(expected),
            )?
        }
        query @ InboxQuery::All { source, .. } => {
            let mut messages = state
                .reader
                .inbox(destination, query, limit)
                .await
                .map_err(ApiError::storage)?;
            let mut next = None;
            if messages.len() == limit
                && let (Some(first), Some(last)) = (messages.first(), messages.last())
            {
                let (first, last) = (first.height, last.height);
                if first == last {
                    // One height, perhaps cut by the limit: read it whole.
                    messages = state
                        .reader
                        .inbox(
                            destination,
                            InboxQuery::AtHeight { height: last },
                            state.cfg.limits.txs_per_block_max,
                        )
                        .await
                        .map_err(ApiError::storage)?;
                    messages.retain(|m| source.is_none_or(|s| m.envelope.source == s));
                    next = last.checked_add(1);
                } else {
                    // The last height may be cut: leave it to the next answer.
                    messages.retain(|m| m.height < last);
                    next = Some(last);
                }
            }
            let (proofs, cut) = proofs_within(&state.reader, &mut messages, budget, true).await?;
            if let Some(height) = cut {
                next = Some(height);
            }
            view_of(destination, &messages, &proofs, Vec::new(), next)?
        }
        InboxQuery::AtHeight { .. } => unreachable!("parse_query reads no single height"),
    })
}

/// The `limit` parameter.
fn parse_limit(limit: Option<&str>) -> ApiResult<usize> {
    match limit {
        None => Ok(INBOX_LIMIT_MAX),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=INBOX_LIMIT_MAX).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(
                code::BAD_REQUEST,
                format!("limit must be an integer from 1 to {INBOX_LIMIT_MAX}; got {v:?}"),
            )),
        },
    }
}

/// What the query string asks: one sender's messages by sequence, or messages in
/// finalization order.
fn parse_query(q: &InboxQueryParams) -> ApiResult<InboxQuery> {
    let bad = |message: &str| Err(ApiError::bad_request(code::BAD_REQUEST, message));
    match (&q.source, &q.sender, &q.from_seq, &q.from) {
        (None, Some(_), _, _) => bad("sender needs source: a sender is an address on the source rollup"),
        (_, None, Some(_), _) => bad(
            "from_seq needs source and sender: sequence numbers count per sender \
             (without a sender, page by height with from)",
        ),
        (Some(_), Some(_), _, Some(_)) => bad(
            "give either from_seq (by sequence, with sender) or from (by height), not both",
        ),
        (Some(source), Some(sender), from_seq, None) => Ok(InboxQuery::Sender {
            source: parse_namespace(source)?,
            sender: cortado_types::Address::from_hex(sender).map_err(|e| {
                ApiError::bad_request(
                    code::BAD_REQUEST,
                    format!("sender must be a 20-byte address in hex: {e}"),
                )
            })?,
            from_sequence: from_seq
                .as_deref()
                .map(|v| {
                    v.parse::<u64>().map_err(|_| {
                        ApiError::bad_request(
                            code::BAD_REQUEST,
                            format!(
                                "from_seq must be a sequence number (an unsigned 64-bit integer); got {v:?}"
                            ),
                        )
                    })
                })
                .transpose()?
                .unwrap_or(0),
        }),
        (source, None, None, from) => Ok(InboxQuery::All {
            from_height: from
                .as_deref()
                .map(|v| parse_height(v, "from"))
                .transpose()?
                .unwrap_or(0),
            source: source.as_deref().map(parse_namespace).transpose()?,
        }),
    }
}

/// The inbox view of `messages` (to `destination`), with one proof per (height, source).
pub(crate) async fn inbox_view(
    reader: &impl Reader,
    destination: cortado_types::Namespace,
    mut messages: Vec<cortado_storage::IndexedMessage>,
    gaps: Vec<[u64; 2]>,
    next: Option<u64>,
) -> ApiResult<InboxView> {
    let (proofs, _) = proofs_within(reader, &mut messages, usize::MAX, true).await?;
    view_of(destination, &messages, &proofs, gaps, next)
}

/// Reads the proving block of each (height, source) of `messages`, in the order first needed,
/// until their payloads would pass `budget` bytes, and cuts `messages` before the first one
/// whose block was not read; returns the blocks and, if it cut, the height it cut at. With
/// `whole_heights` (messages in height order) it cuts only between heights and never within
/// the first height, so an answer holds at least one whole height (at most a block's worth);
/// otherwise it reads at least one block.
async fn proofs_within(
    reader: &impl Reader,
    messages: &mut Vec<cortado_storage::IndexedMessage>,
    budget: usize,
    whole_heights: bool,
) -> ApiResult<(Vec<cortado_storage::NamespaceBlock>, Option<u64>)> {
    let mut read = std::collections::HashSet::new();
    let mut proofs = Vec::new();
    let mut spent = 0usize;
    let first_height = messages.first().map(|m| m.height);
    for i in 0..messages.len() {
        let key = (messages[i].height, messages[i].envelope.source);
        if !read.insert(key) {
            continue;
        }
        let (height, source) = key;
        let nb = reader
            .namespace_block(source, height)
            .await
            .map_err(ApiError::storage)?
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "the index holds a message at height {height} but not that block"
                ))
            })?;
        let bytes: usize = nb.transactions.iter().map(|t| t.payload.len()).sum();
        let over = !proofs.is_empty() && spent.saturating_add(bytes) > budget;
        if over && !(whole_heights && Some(height) == first_height) {
            if whole_heights {
                // Cut before this height's first message, with the blocks read for it.
                let cut = messages.iter().position(|m| m.height == height);
                messages.truncate(cut.unwrap_or(i));
                proofs.retain(|p: &cortado_storage::NamespaceBlock| p.header.height < height);
            } else {
                // Every block read so far proves a message before this one.
                messages.truncate(i);
            }
            return Ok((proofs, Some(height)));
        }
        spent = spent.saturating_add(bytes);
        proofs.push(nb);
    }
    Ok((proofs, None))
}

fn view_of(
    destination: cortado_types::Namespace,
    messages: &[cortado_storage::IndexedMessage],
    proofs: &[cortado_storage::NamespaceBlock],
    gaps: Vec<[u64; 2]>,
    next: Option<u64>,
) -> ApiResult<InboxView> {
    InboxView::new(destination.get(), messages, proofs, gaps, next).ok_or_else(|| {
        ApiError::internal(format!(
            "the inbox of namespace {destination} does not agree with the blocks that hold it"
        ))
    })
}
