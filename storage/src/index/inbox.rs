//! Reads of the cross-rollup inbox.

use super::{
    InboxQuery, Index, IndexedMessage, hash_from, height_from, height_param, index_from,
    limit_param, namespace_param,
};
use crate::Error;
use cortado_types::{Envelope, Height, Namespace};
use sqlx::Row;

impl Index {
    /// Up to `limit` heights ≥ `from_height` whose blocks hold messages to `destination`,
    /// ascending (no payload is read).
    pub async fn inbox_heights(
        &self,
        destination: Namespace,
        from_height: Height,
        limit: usize,
    ) -> Result<Vec<Height>, Error> {
        let Some(from) = height_param(from_height) else {
            return Ok(Vec::new());
        };
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT height FROM messages WHERE destination = ? AND height >= ? \
             ORDER BY height LIMIT ?",
        )
        .bind(namespace_param(destination))
        .bind(from)
        .bind(limit_param(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(height_from).collect()
    }

    /// Up to `limit` finalized messages to `destination` selected by `query`: one sender's by
    /// sequence, or every source's (or one's) in finalization order (height, then index).
    pub async fn inbox(
        &self,
        destination: Namespace,
        query: InboxQuery,
        limit: usize,
    ) -> Result<Vec<IndexedMessage>, Error> {
        let select = "SELECT messages.height, messages.idx, txs.namespace, txs.hash, txs.payload \
             FROM messages JOIN txs ON txs.height = messages.height AND txs.idx = messages.idx \
             WHERE messages.destination = ?";
        let rows = match query {
            InboxQuery::Sender {
                source,
                sender,
                from_sequence,
            } => {
                let Ok(from) = i64::try_from(from_sequence) else {
                    return Ok(Vec::new());
                };
                sqlx::query(&format!(
                    "{select} AND messages.source = ? AND messages.sender = ? \
                     AND messages.sequence >= ? ORDER BY messages.sequence LIMIT ?"
                ))
                .bind(namespace_param(destination))
                .bind(namespace_param(source))
                .bind(sender.as_bytes().as_slice())
                .bind(from)
                .bind(limit_param(limit))
                .fetch_all(&self.pool)
                .await?
            }
            InboxQuery::AtHeight { height } => {
                let Some(height) = height_param(height) else {
                    return Ok(Vec::new());
                };
                sqlx::query(&format!(
                    "{select} AND messages.height = ? ORDER BY messages.idx LIMIT ?"
                ))
                .bind(namespace_param(destination))
                .bind(height)
                .bind(limit_param(limit))
                .fetch_all(&self.pool)
                .await?
            }
            InboxQuery::All {
                from_height,
                source,
            } => {
                let Some(from) = height_param(from_height) else {
                    return Ok(Vec::new());
                };
                let by_source = if source.is_some() {
                    " AND messages.source = ?"
                } else {
                    ""
                };
                let sql = format!(
                    "{select}{by_source} AND messages.height >= ? \
                     ORDER BY messages.height, messages.idx LIMIT ?"
                );
                let mut query = sqlx::query(&sql).bind(namespace_param(destination));
                if let Some(source) = source {
                    query = query.bind(namespace_param(source));
                }
                query
                    .bind(from)
                    .bind(limit_param(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.into_iter()
            .map(|row| {
                let height = height_from(row.try_get("height")?)?;
                let namespace = Namespace(row.try_get::<i64, _>("namespace")? as u64);
                let payload: Vec<u8> = row.try_get("payload")?;
                // Source and signature were checked when the message was indexed.
                let envelope = match Envelope::decode_payload(&payload) {
                    Ok(e) if e.source == namespace => e,
                    Ok(e) => {
                        return Err(Error::Codec(format!(
                            "indexed message at height {height} names source {} but is in {namespace}",
                            e.source
                        )));
                    }
                    Err(e) => {
                        return Err(Error::Codec(format!(
                            "indexed message at height {height}: {e}"
                        )));
                    }
                };
                Ok(IndexedMessage {
                    envelope,
                    height,
                    index: index_from(row.try_get("idx")?)?,
                    hash: hash_from(&row.try_get::<Vec<u8>, _>("hash")?, "transaction hash")?,
                })
            })
            .collect()
    }
}
