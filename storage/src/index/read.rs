//! Reads: headers, blocks, namespaces, transactions, history proofs, bundles.

use super::{
    CompactTx, EncodedEvidence, Index, IndexedTx, NamespaceBlock, TxLocation, hash_from,
    height_from, height_param, index_from, limit_param, namespace_param,
};
use crate::Error;
use bytes::Bytes;
use cortado_types::{
    Block, FinalityCertificate, Hash, Header, Height, Namespace, NamespaceData,
    history::{self, HistoryProof},
};
use sqlx::Row;

impl Index {
    /// The highest indexed height, or `None` when the index is empty.
    pub async fn latest_height(&self) -> Result<Option<Height>, Error> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(height) FROM blocks")
            .fetch_one(&self.pool)
            .await?;
        max.map(height_from).transpose()
    }

    /// The lowest height this index can hold: the checkpoint it started from, or `None` when it
    /// holds the chain from genesis.
    pub async fn held_from(&self) -> Result<Option<Height>, Error> {
        let min: Option<i64> = sqlx::query_scalar("SELECT MIN(height) FROM checkpoint")
            .fetch_one(&self.pool)
            .await?;
        min.map(height_from).transpose()
    }

    /// The height of the finalized block `hash`, if indexed.
    pub async fn height_of(&self, hash: Hash) -> Result<Option<Height>, Error> {
        let height: Option<i64> = sqlx::query_scalar("SELECT height FROM blocks WHERE hash = ?")
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await?;
        height.map(height_from).transpose()
    }

    /// The header and certificate at `height`, if finalized.
    pub async fn header(
        &self,
        height: Height,
    ) -> Result<Option<(Header, FinalityCertificate)>, Error> {
        let Some(height) = height_param(height) else {
            return Ok(None);
        };
        let row: Option<(Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT header, certificate FROM blocks WHERE height = ?")
                .bind(height)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(h, c)| Ok((self.decode_header(h)?, Self::decode_certificate(c)?)))
            .transpose()
    }

    /// The header and certificate at the highest indexed height.
    pub async fn header_latest(&self) -> Result<Option<(Header, FinalityCertificate)>, Error> {
        let row: Option<(Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT header, certificate FROM blocks ORDER BY height DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(h, c)| Ok((self.decode_header(h)?, Self::decode_certificate(c)?)))
            .transpose()
    }

    /// Up to `limit` headers with certificates at heights ≥ `from`, ascending.
    pub async fn headers_range(
        &self,
        from: Height,
        limit: usize,
    ) -> Result<Vec<(Header, FinalityCertificate)>, Error> {
        let Some(from) = height_param(from) else {
            return Ok(Vec::new());
        };
        let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT header, certificate FROM blocks WHERE height >= ? ORDER BY height LIMIT ?",
        )
        .bind(from)
        .bind(limit_param(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(h, c)| Ok((self.decode_header(h)?, Self::decode_certificate(c)?)))
            .collect()
    }

    /// The whole block at `height` with its certificate, rebuilt from the index.
    pub async fn block(
        &self,
        height: Height,
    ) -> Result<Option<(Block, FinalityCertificate)>, Error> {
        let Some((header, certificate)) = self.header(height).await? else {
            return Ok(None);
        };
        // `header` found the height, so it fits in an i64.
        let rows = sqlx::query("SELECT namespace, payload FROM txs WHERE height = ? ORDER BY idx")
            .bind(height as i64)
            .fetch_all(&self.pool)
            .await?;
        let mut namespaces: Vec<NamespaceData> = Vec::with_capacity(header.table.len());
        for row in rows {
            let namespace = Namespace(row.try_get::<i64, _>("namespace")? as u64);
            let payload = Bytes::from(row.try_get::<Vec<u8>, _>("payload")?);
            match namespaces.last_mut() {
                Some(last) if last.namespace == namespace => last.payloads.push(payload),
                _ => namespaces.push(NamespaceData::new(namespace, vec![payload])),
            }
        }
        let invalid: Vec<i64> =
            sqlx::query_scalar("SELECT namespace FROM namespace_evidence WHERE height = ?")
                .bind(height as i64)
                .fetch_all(&self.pool)
                .await?;
        if !invalid.is_empty() {
            namespaces.extend(
                invalid
                    .into_iter()
                    .map(|ns| NamespaceData::invalid(Namespace(ns as u64))),
            );
            // Namespaces are u64 stored with i64 bits: order them here, not in SQL.
            namespaces.sort_by_key(|data| data.namespace);
        }
        let block = Block::from_parts(header, namespaces, &self.limits)
            .map_err(|e| Error::Codec(format!("block {height}: {e}")))?;
        Ok(Some((block, certificate)))
    }

    /// Namespace `namespace`'s part of the block at `height`, with the header and certificate;
    /// `None` when the height is not finalized. A namespace the block does not hold is `Some`
    /// with no transactions; an invalidly encoded one comes with its evidence.
    ///
    /// The rows are checked against the header's table: a namespace the table holds must have
    /// its row, and stored evidence must be about its table entry (else [`Error::Codec`]).
    pub async fn namespace_block(
        &self,
        namespace: Namespace,
        height: Height,
    ) -> Result<Option<NamespaceBlock>, Error> {
        let Some((header, certificate)) = self.header(height).await? else {
            return Ok(None);
        };
        // `header` found the height, so it fits in an i64.
        let height_i64 = height as i64;
        let invalid: Option<i64> = sqlx::query_scalar(
            "SELECT invalid FROM block_namespaces WHERE namespace = ? AND height = ?",
        )
        .bind(namespace_param(namespace))
        .bind(height_i64)
        .fetch_optional(&self.pool)
        .await?;
        let entry = header
            .table
            .find(namespace)
            .ok()
            .map(|i| header.table.entries()[i]);
        let mut nb = NamespaceBlock {
            header,
            certificate,
            namespace,
            transactions: Vec::new(),
            invalid_encoding: false,
            evidence: None,
        };
        match (entry, invalid) {
            (None, None) => {}
            (Some(entry), Some(1)) => {
                let bytes: Option<Vec<u8>> = sqlx::query_scalar(
                    "SELECT evidence FROM namespace_evidence WHERE height = ? AND namespace = ?",
                )
                .bind(height_i64)
                .bind(namespace_param(namespace))
                .fetch_optional(&self.pool)
                .await?;
                let bytes = bytes.ok_or_else(|| {
                    Error::Codec(format!(
                        "namespace {namespace} at height {height} is invalid but has no evidence"
                    ))
                })?;
                nb.invalid_encoding = true;
                nb.evidence = Some(EncodedEvidence::parse(bytes, &entry, height)?);
            }
            (Some(_), Some(0)) => nb.transactions = self.namespace_txs(namespace, height).await?,
            (entry, invalid) => {
                return Err(Error::Codec(format!(
                    "namespace {namespace} at height {height}: the header {} it, the index has {}",
                    if entry.is_some() {
                        "holds"
                    } else {
                        "does not hold"
                    },
                    match invalid {
                        None => "no row".to_string(),
                        Some(v) => format!("a row with invalid = {v}"),
                    }
                )));
            }
        }
        Ok(Some(nb))
    }

    /// The transactions of a validly encoded namespace in the (finalized) block at `height`.
    async fn namespace_txs(
        &self,
        namespace: Namespace,
        height: Height,
    ) -> Result<Vec<IndexedTx>, Error> {
        let rows = sqlx::query(
            "SELECT idx, hash, payload FROM txs WHERE namespace = ? AND height = ? ORDER BY idx",
        )
        .bind(namespace_param(namespace))
        .bind(height as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(IndexedTx {
                    index: index_from(row.try_get("idx")?)?,
                    hash: hash_from(&row.try_get::<Vec<u8>, _>("hash")?, "transaction hash")?,
                    payload: Bytes::from(row.try_get::<Vec<u8>, _>("payload")?),
                })
            })
            .collect()
    }

    /// The compact proof material of the transaction at `loc`: header, certificate, the
    /// namespace's transaction hashes (no payloads) and this transaction's payload. `None` if
    /// the index does not hold it there.
    pub async fn compact_tx(&self, loc: &TxLocation) -> Result<Option<CompactTx>, Error> {
        let Some((header, certificate)) = self.header(loc.height).await? else {
            return Ok(None);
        };
        let height = height_param(loc.height)
            .ok_or_else(|| Error::Codec(format!("height {} beyond the index", loc.height)))?;
        let rows = sqlx::query(
            "SELECT idx, hash FROM txs WHERE namespace = ? AND height = ? ORDER BY idx",
        )
        .bind(namespace_param(loc.namespace))
        .bind(height)
        .fetch_all(&self.pool)
        .await?;
        let mut hashes = Vec::with_capacity(rows.len());
        let mut position = None;
        for row in rows {
            if index_from(row.try_get("idx")?)? == loc.index {
                position = Some(hashes.len());
            }
            hashes.push(hash_from(
                &row.try_get::<Vec<u8>, _>("hash")?,
                "transaction hash",
            )?);
        }
        let Some(position) = position.and_then(|p| u32::try_from(p).ok()) else {
            return Ok(None);
        };
        let payload: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT payload FROM txs WHERE height = ? AND idx = ?")
                .bind(height)
                .bind(i64::from(loc.index))
                .fetch_optional(&self.pool)
                .await?;
        Ok(payload.map(|payload| CompactTx {
            header,
            certificate,
            hashes,
            position,
            payload: Bytes::from(payload),
        }))
    }

    /// Where transaction `hash` was first finalized, if it was.
    pub async fn transaction(&self, hash: Hash) -> Result<Option<TxLocation>, Error> {
        let row = sqlx::query(
            "SELECT txs.height, txs.idx, txs.namespace, blocks.hash AS block_hash \
             FROM txs JOIN blocks ON blocks.height = txs.height \
             WHERE txs.hash = ? ORDER BY txs.height, txs.idx LIMIT 1",
        )
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(TxLocation {
            hash,
            height: height_from(row.try_get("height")?)?,
            index: index_from(row.try_get("idx")?)?,
            namespace: Namespace(row.try_get::<i64, _>("namespace")? as u64),
            block_hash: hash_from(&row.try_get::<Vec<u8>, _>("block_hash")?, "block hash")?,
        }))
    }

    /// The proof that the header at `leaf` is in the history of the header at `against`
    /// (`cortado_types::history`), or `None` when `leaf ≥ against` or a node it needs is not
    /// indexed yet (a height below `against` is missing).
    pub async fn history_proof(
        &self,
        leaf: Height,
        against: Height,
    ) -> Result<Option<HistoryProof>, Error> {
        let Some(positions) = history::proof_positions(leaf, against) else {
            return Ok(None);
        };
        let mut siblings = Vec::with_capacity(positions.len());
        for (level, index) in positions {
            let Some(index) = height_param(index) else {
                return Ok(None);
            };
            let node: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT hash FROM history_nodes WHERE level = ? AND idx = ?")
                    .bind(i64::from(level))
                    .bind(index)
                    .fetch_optional(&self.pool)
                    .await?;
            let Some(node) = node else {
                return Ok(None);
            };
            siblings.push(hash_from(&node, "history node")?);
        }
        Ok(Some(HistoryProof {
            leaf,
            count: against,
            siblings,
        }))
    }

    /// A bundle whose marker the index found in a block with all its members: the earliest
    /// such height and the member hashes, in order. Whether each member was first finalized
    /// at that height is [`Self::transaction`]'s to say.
    pub async fn bundle(&self, hash: Hash) -> Result<Option<(Height, Vec<Hash>)>, Error> {
        let row: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT height, members FROM bundles WHERE hash = ?")
                .bind(hash.as_bytes().as_slice())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(height, bytes)| {
            if bytes.len() % 32 != 0 {
                return Err(Error::Codec(format!(
                    "bundle {hash}: members are {} bytes, not a multiple of 32",
                    bytes.len()
                )));
            }
            let members = bytes
                .chunks(32)
                .map(|c| hash_from(c, "bundle member"))
                .collect::<Result<_, _>>()?;
            Ok((height_from(height)?, members))
        })
        .transpose()
    }

    /// Up to `limit` heights ≥ `from` whose blocks hold namespace `namespace`, ascending.
    pub async fn namespace_heights(
        &self,
        namespace: Namespace,
        from: Height,
        limit: usize,
    ) -> Result<Vec<Height>, Error> {
        let Some(from) = height_param(from) else {
            return Ok(Vec::new());
        };
        let heights: Vec<i64> = sqlx::query_scalar(
            "SELECT height FROM block_namespaces WHERE namespace = ? AND height >= ? \
             ORDER BY height LIMIT ?",
        )
        .bind(namespace_param(namespace))
        .bind(from)
        .bind(limit_param(limit))
        .fetch_all(&self.pool)
        .await?;
        heights.into_iter().map(height_from).collect()
    }
}
