//! The SQLite index: opening, the types it answers with, and the helpers its parts share.
//! Writes are in `write.rs`, reads in `read.rs`, the cross-rollup inbox in `inbox.rs`, stored
//! invalid-encoding evidence in `evidence.rs`.

mod evidence;
mod inbox;
mod read;
mod write;

pub use evidence::EncodedEvidence;
pub use write::FinalizedBlock;

use crate::{Error, schema};
use bytes::Bytes;
use commonware_codec::Decode;
use cortado_types::{
    Address, Envelope, FinalityCertificate, Hash, Header, Height, Limits, Namespace,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::{path::Path, time::Duration};

/// Reader connections of an on-disk index (the writer has its own).
const FILE_CONNECTIONS_MAX: u32 = 4;
/// Name prefix of the threads of [`Index::with_own_readers`]' connections (the id follows).
pub const OWN_READER_THREAD: &str = "own-sqlite-";
/// How long a statement waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The query index of finalized blocks. Cheap to clone: clones share the connections.
///
/// On disk, readers and the writer have separate connections: however many reads (API
/// requests, SSE streams) are in flight, the finalizer's writes never wait for a connection,
/// and in WAL mode readers never block the writer.
#[derive(Clone, Debug)]
pub struct Index {
    /// Readers.
    pool: SqlitePool,
    /// The one writer (the same pool as `pool` in memory).
    writer: SqlitePool,
    limits: Limits,
    /// How to open more reader connections (`None` in memory: there is one connection).
    options: Option<SqliteConnectOptions>,
}

/// A finalized cross-rollup message, as the index locates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedMessage {
    /// The decoded envelope.
    pub envelope: Envelope,
    /// Height of the block holding it.
    pub height: Height,
    /// Its transaction's position in that block's transaction order.
    pub index: u32,
    /// Its transaction's hash.
    pub hash: Hash,
}

/// Which messages of a destination to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboxQuery {
    /// One sender's messages from one source to the destination, by sequence from
    /// `from_sequence` (a sender numbers its messages; the first finalized of each number
    /// counts, so numbers are unique).
    Sender {
        /// The source namespace.
        source: Namespace,
        /// The sender.
        sender: Address,
        /// The first sequence number.
        from_sequence: u64,
    },
    /// Every source's messages (or one source's), in finalization order (height, then index)
    /// from `from_height`.
    All {
        /// The first height.
        from_height: Height,
        /// Only this source's messages.
        source: Option<Namespace>,
    },
    /// Every source's messages in the block at `height`, in block order.
    AtHeight {
        /// The height.
        height: Height,
    },
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

/// What proves one finalized transaction without its namespace's other payloads: the header
/// and certificate, the hashes of the namespace's transactions in block order (the leaves of
/// its `tx_root`), the transaction's position among them and its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactTx {
    /// The block header.
    pub header: Header,
    /// Its finality certificate.
    pub certificate: FinalityCertificate,
    /// The namespace's transaction hashes, in block order.
    pub hashes: Vec<Hash>,
    /// The transaction's position among them.
    pub position: u32,
    /// Its payload.
    pub payload: Bytes,
}

/// One namespace's part of a finalized block, with what proves the block final.
///
/// Three cases, told apart by the header's table and `invalid_encoding`: the namespace is
/// absent (not in the table; no transactions), valid (in the table; its transactions), or
/// invalidly encoded (in the table; no transactions, `invalid_encoding` and the evidence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceBlock {
    /// The block header.
    pub header: Header,
    /// Its finality certificate.
    pub certificate: FinalityCertificate,
    /// The namespace read.
    pub namespace: Namespace,
    /// The namespace's transactions in block order; empty when the block does not hold it or
    /// its encoding is invalid.
    pub transactions: Vec<IndexedTx>,
    /// The namespace's committed encoding was invalid: it counts as empty.
    pub invalid_encoding: bool,
    /// The evidence of the invalid encoding; `Some` exactly when `invalid_encoding`.
    pub evidence: Option<EncodedEvidence>,
}

impl NamespaceBlock {
    /// The compact proof material of its transaction with block index `index` (what
    /// [`Index::compact_tx`] reads), derived from this read; `None` if it does not hold it.
    pub fn compact(&self, index: u32) -> Option<CompactTx> {
        let position = self.transactions.iter().position(|t| t.index == index)?;
        Some(CompactTx {
            header: self.header.clone(),
            certificate: self.certificate.clone(),
            hashes: self.transactions.iter().map(|t| t.hash).collect(),
            position: u32::try_from(position).ok()?,
            payload: self.transactions[position].payload.clone(),
        })
    }
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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let index = Self::init(writer.clone(), writer, limits).await?;
        let pool = Self::readers_pool().connect_with(options.clone()).await?;
        Ok(Index {
            pool,
            options: Some(options),
            ..index
        })
    }

    /// The same index with reader connections of its own, opened on first use by the thread
    /// that first reads (an SQLite connection runs on a thread of its own, started by the
    /// thread that opens it, which gives it its scheduling priority). The node hands such a
    /// clone to its API, whose threads run at a lower priority. In memory it is a plain clone.
    /// Writes through it go to the one writer; [`Self::close`] on it closes that writer too.
    pub fn with_own_readers(&self) -> Index {
        let Some(options) = &self.options else {
            return self.clone();
        };
        let options = options
            .clone()
            .thread_name(|id| format!("{OWN_READER_THREAD}{id}"));
        let pool = Self::readers_pool().connect_lazy_with(options);
        Index {
            pool,
            ..self.clone()
        }
    }

    /// How an on-disk index pools its reader connections.
    fn readers_pool() -> SqlitePoolOptions {
        SqlitePoolOptions::new().max_connections(FILE_CONNECTIONS_MAX)
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
        Self::init(pool.clone(), pool, limits).await
    }

    async fn init(pool: SqlitePool, writer: SqlitePool, limits: Limits) -> Result<Index, Error> {
        let mut tx = writer.begin().await?;
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
        Ok(Index {
            pool,
            writer,
            limits,
            options: None,
        })
    }

    /// The limits stored rows are decoded with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Closes every connection; later calls on any clone fail.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    fn decode_header(&self, bytes: Vec<u8>) -> Result<Header, Error> {
        Header::decode_cfg(bytes, &self.limits.namespaces_per_block_max)
            .map_err(|e| Error::Codec(format!("header: {e}")))
    }

    fn decode_certificate(bytes: Vec<u8>) -> Result<FinalityCertificate, Error> {
        FinalityCertificate::decode_cfg(bytes, &())
            .map_err(|e| Error::Codec(format!("certificate: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Encode;
    use cortado_coding::Params;
    use cortado_types::{FORMAT_VERSION, Transaction};

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

    /// A one-transaction block at height 0 and a certificate for it.
    fn sample_block() -> (cortado_types::Block, FinalityCertificate) {
        let ctx = cortado_types::BlockContext {
            chain_id: cortado_types::ChainId(1),
            height: 0,
            epoch: 0,
            view: 1,
            parent_view: 0,
            leader: [0; 32],
            timestamp_ms: 1,
            parent: Hash::ZERO,
            history: Vec::new(), // height 0: no peaks
        };
        let txs = vec![Transaction::new(4u64, &b"x"[..])];
        let (block, _) =
            cortado_coding::build_block(Params::for_validators(4), ctx, txs, &Limits::default())
                .unwrap();
        let certificate = FinalityCertificate {
            epoch: 0,
            view: 1,
            parent_view: 0,
            block: block.hash(),
            signature: [0; 48],
        };
        (block, certificate)
    }

    #[tokio::test]
    async fn own_readers_open_lazily_and_see_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("i.sqlite"), Limits::default())
            .await
            .unwrap();
        let readers = index.with_own_readers();
        assert_eq!(
            readers.pool.size(),
            0,
            "no connection before the first read"
        );
        assert_eq!(readers.latest_height().await.unwrap(), None);
        assert_eq!(readers.pool.size(), 1);
        let (block, certificate) = sample_block();
        index
            .insert_finalized(&block, &certificate, &[], 0)
            .await
            .unwrap();
        assert_eq!(readers.latest_height().await.unwrap(), Some(0));
        // Its own connections, apart from the original's readers.
        let mut held = Vec::new();
        for _ in 0..FILE_CONNECTIONS_MAX {
            held.push(readers.pool.acquire().await.unwrap());
        }
        assert_eq!(index.latest_height().await.unwrap(), Some(0));
        drop(held);
        // In memory there is one database, so it is the same connection.
        let memory = Index::open_in_memory(Limits::default()).await.unwrap();
        assert!(memory.with_own_readers().options.is_none());
    }

    #[tokio::test]
    async fn writes_never_wait_for_readers() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("i.sqlite"), Limits::default())
            .await
            .unwrap();
        // Every reader connection taken, one inside an open read transaction (a snapshot).
        let mut readers = Vec::new();
        for _ in 0..FILE_CONNECTIONS_MAX {
            readers.push(index.pool.acquire().await.unwrap());
        }
        sqlx::query("BEGIN")
            .execute(&mut *readers[0])
            .await
            .unwrap();
        let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blocks")
            .fetch_one(&mut *readers[0])
            .await
            .unwrap();
        // The write goes through its own connection (with one shared pool it waited for a
        // reader to finish, and failed after sqlx's 30 s acquire timeout).
        let (block, certificate) = sample_block();
        index
            .insert_finalized(&block, &certificate, &[], 0)
            .await
            .unwrap();
        let snapshot: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blocks")
            .fetch_one(&mut *readers[0])
            .await
            .unwrap();
        assert_eq!((before, snapshot), (0, 0), "the reader keeps its snapshot");
        sqlx::query("ROLLBACK")
            .execute(&mut *readers[0])
            .await
            .unwrap();
        drop(readers);
        assert_eq!(index.latest_height().await.unwrap(), Some(0));
    }

    #[tokio::test]
    async fn rows_disagreeing_with_the_header_are_errors() {
        let index = Index::open_in_memory(Limits::default()).await.unwrap();
        let (block, certificate) = sample_block();
        index
            .insert_finalized(&block, &certificate, &[], 0)
            .await
            .unwrap();
        let exec = |sql: &'static str| sqlx::query(sql).execute(&index.pool);
        // Marked invalid without evidence.
        exec("UPDATE block_namespaces SET invalid = 1")
            .await
            .unwrap();
        assert!(matches!(
            index.namespace_block(Namespace(4), 0).await,
            Err(Error::Codec(m)) if m.contains("no evidence")
        ));
        // Evidence that does not parse, or is about another entry.
        exec("INSERT INTO namespace_evidence VALUES (0, 4, x'0102')")
            .await
            .unwrap();
        assert!(matches!(
            index.namespace_block(Namespace(4), 0).await,
            Err(Error::Codec(_))
        ));
        let mut other = vec![FORMAT_VERSION];
        other.extend_from_slice(&block.header().table.entries()[0].encode());
        other[1] ^= 1;
        other.push(0);
        sqlx::query("UPDATE namespace_evidence SET evidence = ?")
            .bind(other)
            .execute(&index.pool)
            .await
            .unwrap();
        assert!(matches!(
            index.namespace_block(Namespace(4), 0).await,
            Err(Error::Codec(m)) if m.contains("another table entry")
        ));
        // A namespace the header holds must have its row; one it does not hold, none.
        exec("DELETE FROM block_namespaces").await.unwrap();
        assert!(matches!(
            index.namespace_block(Namespace(4), 0).await,
            Err(Error::Codec(m)) if m.contains("the header holds it, the index has no row")
        ));
        exec("INSERT INTO block_namespaces VALUES (6, 0, 0, 0)")
            .await
            .unwrap();
        assert!(matches!(
            index.namespace_block(Namespace(6), 0).await,
            Err(Error::Codec(_))
        ));
        // Evidence rows next to the namespace's transactions do not make a block.
        assert!(matches!(index.block(0).await, Err(Error::Codec(_))));
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
