//! The SQLite index: opening, inserting finalized blocks, and reads.

use crate::{Error, schema};
use bytes::Bytes;
use commonware_codec::{Decode, Encode};
use cortado_types::{
    Block, FinalityCertificate, Hash, Header, Height, Limits, Namespace, NamespaceData, Transaction,
};
use sqlx::{
    Row,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};
use std::{path::Path, time::Duration};

/// Connections in the pool of an on-disk index (one writer at a time, the rest readers).
const FILE_CONNECTIONS_MAX: u32 = 4;
/// How long a statement waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The query index of finalized blocks. Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct Index {
    pool: SqlitePool,
    limits: Limits,
}

/// Where a transaction was finalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// The transaction hash.
    pub hash: Hash,
    /// Height of the first block that holds it.
    pub height: Height,
    /// Its position in that block's transaction order.
    pub index: u32,
    /// Its namespace.
    pub namespace: Namespace,
    /// Hash of that block.
    pub block_hash: Hash,
}

/// A transaction as indexed in one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedTx {
    /// Its position in the block's transaction order.
    pub index: u32,
    /// The transaction hash.
    pub hash: Hash,
    /// The payload.
    pub payload: Bytes,
}

/// One namespace's part of a finalized block, with what proves the block final.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceBlock {
    /// The block header.
    pub header: Header,
    /// Its finality certificate.
    pub certificate: FinalityCertificate,
    /// The namespace read.
    pub namespace: Namespace,
    /// The namespace's transactions in block order; empty when the block has none.
    pub transactions: Vec<IndexedTx>,
}

/// A height as an SQLite integer, or `None` when it is beyond what the index holds.
fn height_param(height: Height) -> Option<i64> {
    i64::try_from(height).ok()
}

/// A namespace as the SQLite integer with the same bits.
fn namespace_param(namespace: Namespace) -> i64 {
    namespace.get() as i64
}

/// A row limit as an SQLite integer.
fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn height_from(value: i64) -> Result<Height, Error> {
    u64::try_from(value).map_err(|_| Error::Codec(format!("negative height {value}")))
}

fn hash_from(bytes: &[u8], what: &str) -> Result<Hash, Error> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| Error::Codec(format!("{what} is {} bytes, not 32", bytes.len())))
}

fn index_from(value: i64) -> Result<u32, Error> {
    u32::try_from(value)
        .map_err(|_| Error::Codec(format!("transaction index {value} out of range")))
}

impl Index {
    /// Opens (creating if missing) the index at `path`, in WAL mode with `synchronous=FULL`.
    pub async fn open(path: &Path, limits: Limits) -> Result<Index, Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(FILE_CONNECTIONS_MAX)
            .connect_with(options)
            .await?;
        Self::init(pool, limits).await
    }

    /// Opens a fresh index in memory (for tests); it lives as long as a clone of it does.
    pub async fn open_in_memory(limits: Limits) -> Result<Index, Error> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        // Every connection to ":memory:" is a separate database: keep exactly one, forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::init(pool, limits).await
    }

    async fn init(pool: SqlitePool, limits: Limits) -> Result<Index, Error> {
        let mut tx = pool.begin().await?;
        let found: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut *tx)
            .await?;
        if found != 0 && found != schema::VERSION {
            return Err(Error::Schema {
                found,
                expected: schema::VERSION,
            });
        }
        for statement in schema::CREATE {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query(&format!("PRAGMA user_version = {}", schema::VERSION))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Index { pool, limits })
    }

    /// The limits stored rows are decoded with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Closes every connection; later calls on any clone fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Indexes a finalized block and its certificate, durably, in one SQL transaction.
    ///
    /// Inserting the same block at the same height again is a no-op; a different block at an
    /// indexed height is [`Error::Conflict`].
    ///
    /// The certificate is normally the block's own finalization. A block finalized only through
    /// a descendant (its own finalize votes never formed a quorum), and the genesis block, carry
    /// the certificate of the nearest finalized descendant instead: its `block` field names that
    /// descendant, and the parent links of the headers in between complete the proof.
    pub async fn insert_finalized(
        &self,
        block: &Block,
        certificate: &FinalityCertificate,
        finalized_at_ms: u64,
    ) -> Result<(), Error> {
        let hash = block.hash();
        let height = height_param(block.height())
            .ok_or_else(|| Error::Invalid(format!("height {} exceeds i64::MAX", block.height())))?;
        // IMMEDIATE takes the write lock up front, so the conflict check and the insert see
        // the same state even with another writer on the file.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT hash FROM blocks WHERE height = ?")
                .bind(height)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(stored) = stored {
            let stored = hash_from(&stored, "stored block hash")?;
            tx.rollback().await?;
            if stored == hash {
                return Ok(());
            }
            return Err(Error::Conflict {
                height: block.height(),
                stored,
                new: hash,
            });
        }
        let header = block.header();
        sqlx::query(
            "INSERT INTO blocks (height, hash, header, certificate, tx_count, payload_bytes, \
             timestamp_ms, finalized_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(height)
        .bind(hash.as_bytes().as_slice())
        .bind(header.encode().as_ref())
        .bind(certificate.encode().as_ref())
        .bind(limit_param(block.tx_count()))
        .bind(block.payload_bytes() as i64)
        // Timestamps keep their bits; they are informational.
        .bind(header.timestamp_ms as i64)
        .bind(finalized_at_ms as i64)
        .execute(&mut *tx)
        .await?;
        let mut idx: i64 = 0;
        for data in block.namespaces() {
            sqlx::query(
                "INSERT INTO block_namespaces (namespace, height, tx_count) VALUES (?, ?, ?)",
            )
            .bind(namespace_param(data.namespace))
            .bind(height)
            .bind(limit_param(data.payloads.len()))
            .execute(&mut *tx)
            .await?;
            for payload in &data.payloads {
                let tx_hash = Transaction::hash_parts(data.namespace, payload);
                sqlx::query(
                    "INSERT INTO txs (height, idx, namespace, hash, payload) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(height)
                .bind(idx)
                .bind(namespace_param(data.namespace))
                .bind(tx_hash.as_bytes().as_slice())
                .bind(payload.as_ref())
                .execute(&mut *tx)
                .await?;
                idx += 1;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    fn decode_header(&self, bytes: Vec<u8>) -> Result<Header, Error> {
        Header::decode_cfg(bytes, &self.limits.namespaces_per_block_max)
            .map_err(|e| Error::Codec(format!("header: {e}")))
    }

    fn decode_certificate(bytes: Vec<u8>) -> Result<FinalityCertificate, Error> {
        FinalityCertificate::decode_cfg(bytes, &())
            .map_err(|e| Error::Codec(format!("certificate: {e}")))
    }

    /// The highest indexed height, or `None` when the index is empty.
    pub async fn latest_height(&self) -> Result<Option<Height>, Error> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(height) FROM blocks")
            .fetch_one(&self.pool)
            .await?;
        max.map(height_from).transpose()
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
                _ => namespaces.push(NamespaceData {
                    namespace,
                    payloads: vec![payload],
                }),
            }
        }
        let block = Block::from_parts(header, namespaces, &self.limits)
            .map_err(|e| Error::Codec(format!("block {height}: {e}")))?;
        Ok(Some((block, certificate)))
    }

    /// Namespace `namespace`'s transactions in the block at `height`, with the header and
    /// certificate; `None` when the height is not finalized.
    pub async fn namespace_block(
        &self,
        namespace: Namespace,
        height: Height,
    ) -> Result<Option<NamespaceBlock>, Error> {
        let Some((header, certificate)) = self.header(height).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT idx, hash, payload FROM txs WHERE namespace = ? AND height = ? ORDER BY idx",
        )
        .bind(namespace_param(namespace))
        .bind(height as i64)
        .fetch_all(&self.pool)
        .await?;
        let transactions = rows
            .into_iter()
            .map(|row| {
                Ok(IndexedTx {
                    index: index_from(row.try_get("idx")?)?,
                    hash: hash_from(&row.try_get::<Vec<u8>, _>("hash")?, "transaction hash")?,
                    payload: Bytes::from(row.try_get::<Vec<u8>, _>("payload")?),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Some(NamespaceBlock {
            header,
            certificate,
            namespace,
            transactions,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_is_wal_with_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("i.sqlite"), Limits::default())
            .await
            .unwrap();
        // Every pooled connection carries the pragmas; check a few at once.
        let mut conns = Vec::new();
        for _ in 0..FILE_CONNECTIONS_MAX {
            conns.push(index.pool.acquire().await.unwrap());
        }
        for conn in &mut conns {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(sync, 2, "synchronous=FULL");
        }
    }

    #[tokio::test]
    async fn unknown_schema_version_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sqlite");
        let index = Index::open(&path, Limits::default()).await.unwrap();
        sqlx::query("PRAGMA user_version = 99")
            .execute(&index.pool)
            .await
            .unwrap();
        index.close().await;
        match Index::open(&path, Limits::default()).await {
            Err(Error::Schema {
                found: 99,
                expected,
            }) => assert_eq!(expected, schema::VERSION),
            other => panic!("expected a schema error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn corrupt_row_is_an_error() {
        let index = Index::open_in_memory(Limits::default()).await.unwrap();
        sqlx::query("INSERT INTO blocks VALUES (0, x'00', x'01020304', x'05', 0, 0, 0, 0)")
            .execute(&index.pool)
            .await
            .unwrap();
        assert!(matches!(index.header(0).await, Err(Error::Codec(_))));
        assert!(matches!(index.block(0).await, Err(Error::Codec(_))));
        assert!(matches!(
            index.headers_range(0, 5).await,
            Err(Error::Codec(_))
        ));
    }
}
