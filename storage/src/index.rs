//! The SQLite index: opening, inserting finalized blocks, and reads.

use crate::{Error, schema};
use bytes::Bytes;
use commonware_codec::{Decode, Encode, RangeCfg, Read, ReadExt};
use cortado_coding::{InvalidEncodingEvidence, Params};
use cortado_types::{
    Block, Envelope, FORMAT_VERSION, FinalityCertificate, Hash, Header, Height, Limits, Namespace,
    NamespaceData, NamespaceEntry, Transaction,
    history::{self, HistoryProof},
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
    /// One source's messages to the destination, by sequence from `from_sequence` (then by
    /// finalization order: different senders number their messages independently).
    Source {
        /// The source namespace.
        source: Namespace,
        /// Only this sender's messages.
        sender: Option<Bytes>,
        /// The first sequence number.
        from_sequence: u64,
    },
    /// Every source's messages, in finalization order from `from_height`.
    All {
        /// The first height.
        from_height: Height,
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

/// An [`InvalidEncodingEvidence`] as the index stores it: its canonical encoding.
///
/// Decoding the whole evidence takes the chain's coding [`Params`] (they bound the chunk count
/// and sizes), which the index does not need otherwise; [`Self::decode`] takes them. The index
/// reads the fixed prefix itself (`version || entry || chunk count`) to check, on every read,
/// that the stored evidence is about the table entry it is served with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedEvidence {
    /// The canonical encoding of the evidence.
    pub bytes: Bytes,
    /// How many chunks the evidence holds.
    pub chunks: usize,
}

impl EncodedEvidence {
    /// Decodes the evidence with the chain's coding parameters and limits.
    pub fn decode(
        &self,
        params: Params,
        limits: &Limits,
    ) -> Result<InvalidEncodingEvidence, Error> {
        InvalidEncodingEvidence::decode_cfg(self.bytes.clone(), &(params, *limits))
            .map_err(|e| Error::Codec(format!("invalid-encoding evidence: {e}")))
    }

    /// Reads the prefix of stored evidence bytes and checks it is about `entry`.
    fn parse(bytes: Vec<u8>, entry: &NamespaceEntry, height: Height) -> Result<Self, Error> {
        let bytes = Bytes::from(bytes);
        let mut buf = bytes.clone();
        let prefix = (|| {
            if u8::read(&mut buf)? != FORMAT_VERSION {
                return Err(commonware_codec::Error::Invalid(
                    "InvalidEncodingEvidence",
                    "unsupported format version",
                ));
            }
            let stored = NamespaceEntry::read(&mut buf)?;
            let chunks = usize::read_cfg(&mut buf, &RangeCfg::new(..))?;
            Ok((stored, chunks))
        })();
        let (stored, chunks) = prefix.map_err(|e| {
            Error::Codec(format!(
                "evidence of namespace {} at height {height}: {e}",
                entry.namespace
            ))
        })?;
        if stored != *entry {
            return Err(Error::Codec(format!(
                "evidence of namespace {} at height {height} is about another table entry",
                entry.namespace
            )));
        }
        Ok(Self { bytes, chunks })
    }
}

/// Checks that `evidence` is exactly one item per invalidly encoded namespace of `block`, each
/// about that namespace's table entry; returns each namespace with the encoded evidence.
fn evidence_rows(
    block: &Block,
    evidence: &[InvalidEncodingEvidence],
) -> Result<Vec<(Namespace, Bytes)>, Error> {
    let height = block.height();
    let table = &block.header().table;
    let mut rows: Vec<(Namespace, Bytes)> = Vec::with_capacity(evidence.len());
    for item in evidence {
        let namespace = item.entry.namespace;
        let Ok(position) = table.find(namespace) else {
            return Err(Error::Invalid(format!(
                "evidence of an invalid encoding of namespace {namespace}, which block {height} does not hold"
            )));
        };
        if !block.namespaces()[position].invalid_encoding {
            return Err(Error::Invalid(format!(
                "evidence of an invalid encoding of namespace {namespace} at height {height}, which the block holds as validly encoded"
            )));
        }
        if table.entries()[position] != item.entry {
            return Err(Error::Invalid(format!(
                "evidence of an invalid encoding of namespace {namespace} at height {height} is about another table entry than the block's"
            )));
        }
        if rows.iter().any(|(ns, _)| *ns == namespace) {
            return Err(Error::Invalid(format!(
                "two items of evidence for namespace {namespace} at height {height}"
            )));
        }
        rows.push((namespace, item.encode()));
    }
    if let Some(missing) = block
        .invalid_namespaces()
        .find(|ns| rows.iter().all(|(have, _)| have != ns))
    {
        return Err(Error::Invalid(format!(
            "namespace {missing} of block {height} is marked invalidly encoded without evidence; \
             the index serves that verdict only with the chunks that prove it"
        )));
    }
    Ok(rows)
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

/// The `blocks` row of a finalized height.
struct BlockRow<'a> {
    height: i64,
    hash: Hash,
    header: &'a Header,
    certificate: &'a FinalityCertificate,
    tx_count: usize,
    payload_bytes: i64,
    finalized_at_ms: u64,
}

/// A header must carry the history peaks its height needs.
fn check_history(header: &Header) -> Result<(), Error> {
    if header.history.len() != history::peak_count(header.height) {
        return Err(Error::Invalid(format!(
            "header {} carries {} history peaks; its height needs {}",
            header.height,
            header.history.len(),
            history::peak_count(header.height)
        )));
    }
    Ok(())
}

/// Inserts the `blocks` row. Returns false if the same block is stored already (nothing to
/// do); a different block at that height is [`Error::Conflict`]. Run inside an IMMEDIATE
/// transaction, which takes the write lock up front, so the conflict check and the insert see
/// the same state even with another writer on the file.
async fn insert_block_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    row: &BlockRow<'_>,
) -> Result<bool, Error> {
    let stored: Option<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM blocks WHERE height = ?")
        .bind(row.height)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(stored) = stored {
        let stored = hash_from(&stored, "stored block hash")?;
        if stored == row.hash {
            return Ok(false);
        }
        return Err(Error::Conflict {
            height: row.header.height,
            stored,
            new: row.hash,
        });
    }
    sqlx::query(
        "INSERT INTO blocks (height, hash, header, certificate, tx_count, payload_bytes, \
         timestamp_ms, finalized_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(row.height)
    .bind(row.hash.as_bytes().as_slice())
    .bind(row.header.encode().as_ref())
    .bind(row.certificate.encode().as_ref())
    .bind(limit_param(row.tx_count))
    .bind(row.payload_bytes)
    // Timestamps keep their bits; they are informational.
    .bind(row.header.timestamp_ms as i64)
    .bind(row.finalized_at_ms as i64)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Adds the history accumulator nodes `header` creates. Idempotent: a node created by this
/// header is the same whichever header creates it.
async fn insert_history(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    header: &Header,
    hash: Hash,
) -> Result<(), Error> {
    let (_, created) = history::append(&header.history, header.height, hash);
    for (level, index, node) in created {
        sqlx::query("INSERT OR IGNORE INTO history_nodes (level, idx, hash) VALUES (?, ?, ?)")
            .bind(i64::from(level))
            .bind(i64::try_from(index).unwrap_or(i64::MAX))
            .bind(node.as_bytes().as_slice())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
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
    /// `evidence` holds one [`InvalidEncodingEvidence`] per invalidly encoded namespace of the
    /// block (see [`Block::invalid_namespaces`]), about that namespace's table entry; anything
    /// else is [`Error::Invalid`]. Whether the evidence really proves the invalid encoding is
    /// the caller's check (`cortado_coding::verify_invalid_encoding`), done when it reached the
    /// verdict.
    ///
    /// Inserting the same block at the same height again is a no-op; a different block at an
    /// indexed height is [`Error::Conflict`].
    ///
    /// The certificate is normally the block's own finalization. A block finalized only through
    /// a descendant (its own finalize votes never formed a quorum), and the genesis block, carry
    /// the certificate of the nearest finalized descendant instead: its `block` field names that
    /// descendant, and the parent links of the headers in between complete the proof.
    ///
    /// Returns the hashes of the block's transactions in block order (computed for the index
    /// anyway, so the caller need not hash every payload again).
    pub async fn insert_finalized(
        &self,
        block: &Block,
        certificate: &FinalityCertificate,
        evidence: &[InvalidEncodingEvidence],
        finalized_at_ms: u64,
    ) -> Result<Vec<Hash>, Error> {
        let evidence = evidence_rows(block, evidence)?;
        let header = block.header();
        let (height, hash) = (block.height() as i64, block.hash());
        let Some(mut tx) = self
            .begin_block(
                header,
                hash,
                certificate,
                block.tx_count(),
                block.payload_bytes(),
                finalized_at_ms,
            )
            .await?
        else {
            return Ok(block.transactions().map(|t| t.hash()).collect());
        };
        let mut hashes = Vec::with_capacity(block.tx_count());
        let mut idx: i64 = 0;
        for data in block.namespaces() {
            sqlx::query(
                "INSERT INTO block_namespaces (namespace, height, tx_count, invalid) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(namespace_param(data.namespace))
            .bind(height)
            .bind(limit_param(data.payloads.len()))
            .bind(i64::from(data.invalid_encoding))
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
                hashes.push(tx_hash);
                if let Ok(envelope) = Envelope::from_transaction(data.namespace, payload)
                    && let Ok(sequence) = i64::try_from(envelope.sequence)
                {
                    // The earliest (height, idx) of a (destination, source, sequence) wins,
                    // whatever order blocks are indexed in.
                    sqlx::query(
                        "INSERT INTO messages (destination, source, sender, sequence, height, idx) \
                         VALUES (?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (destination, source, sender, sequence) DO UPDATE \
                         SET height = excluded.height, idx = excluded.idx \
                         WHERE (excluded.height, excluded.idx) < (messages.height, messages.idx)",
                    )
                    .bind(namespace_param(envelope.destination))
                    .bind(namespace_param(envelope.source))
                    .bind(envelope.sender.as_ref())
                    .bind(sequence)
                    .bind(height)
                    .bind(idx)
                    .execute(&mut *tx)
                    .await?;
                }
                idx += 1;
            }
        }
        insert_history(&mut tx, header, hash).await?;
        for (namespace, bytes) in &evidence {
            sqlx::query(
                "INSERT INTO namespace_evidence (height, namespace, evidence) VALUES (?, ?, ?)",
            )
            .bind(height)
            .bind(namespace_param(*namespace))
            .bind(bytes.as_ref())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(hashes)
    }

    /// Stores a finalized header and its certificate without the block's data: what a validator
    /// that does not reconstruct blocks indexes (it serves headers, header proofs and status,
    /// not namespace data). The block's transaction count and byte length are the header
    /// table's. Idempotent; a different header at a stored height is [`Error::Conflict`].
    pub async fn insert_header(
        &self,
        header: &Header,
        certificate: &FinalityCertificate,
        finalized_at_ms: u64,
    ) -> Result<(), Error> {
        let entries = header.table.entries();
        let tx_count: u64 = entries.iter().map(|e| u64::from(e.tx_count)).sum();
        let payload_bytes: u64 = entries.iter().map(|e| e.byte_len).sum();
        let tx_count = usize::try_from(tx_count).unwrap_or(usize::MAX);
        let hash = header.hash();
        let Some(mut tx) = self
            .begin_block(
                header,
                hash,
                certificate,
                tx_count,
                payload_bytes,
                finalized_at_ms,
            )
            .await?
        else {
            return Ok(());
        };
        insert_history(&mut tx, header, hash).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks `header` (whose hash is `hash`), opens an IMMEDIATE transaction and inserts its
    /// `blocks` row. `None` if the same block is indexed already (nothing to do);
    /// [`Error::Conflict`] if another is.
    async fn begin_block(
        &self,
        header: &Header,
        hash: Hash,
        certificate: &FinalityCertificate,
        tx_count: usize,
        payload_bytes: u64,
        finalized_at_ms: u64,
    ) -> Result<Option<sqlx::Transaction<'static, sqlx::Sqlite>>, Error> {
        let height = height_param(header.height)
            .ok_or_else(|| Error::Invalid(format!("height {} exceeds i64::MAX", header.height)))?;
        check_history(header)?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = BlockRow {
            height,
            hash,
            header,
            certificate,
            tx_count,
            payload_bytes: i64::try_from(payload_bytes).unwrap_or(i64::MAX),
            finalized_at_ms,
        };
        if !insert_block_row(&mut tx, &row).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        Ok(Some(tx))
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

    /// Up to `limit` finalized messages to `destination` selected by `query`: one source's by
    /// sequence, or every source's in finalization order (height, then index).
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
            InboxQuery::Source {
                source,
                sender,
                from_sequence,
            } => {
                let Ok(from) = i64::try_from(from_sequence) else {
                    return Ok(Vec::new());
                };
                let by_sender = if sender.is_some() {
                    " AND messages.sender = ?"
                } else {
                    ""
                };
                let sql = format!(
                    "{select} AND messages.source = ?{by_sender} AND messages.sequence >= ? \
                     ORDER BY messages.sequence, messages.height, messages.idx LIMIT ?"
                );
                let mut query = sqlx::query(&sql)
                    .bind(namespace_param(destination))
                    .bind(namespace_param(source));
                if let Some(sender) = &sender {
                    query = query.bind(sender.as_ref());
                }
                query
                    .bind(from)
                    .bind(limit_param(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
            InboxQuery::All { from_height } => {
                let Some(from) = height_param(from_height) else {
                    return Ok(Vec::new());
                };
                sqlx::query(&format!(
                    "{select} AND messages.height >= ? ORDER BY messages.height, messages.idx LIMIT ?"
                ))
                .bind(namespace_param(destination))
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
                let envelope = Envelope::from_transaction(namespace, &payload).map_err(|e| {
                    Error::Codec(format!("indexed message at height {height}: {e}"))
                })?;
                Ok(IndexedMessage {
                    envelope,
                    height,
                    index: index_from(row.try_get("idx")?)?,
                    hash: hash_from(&row.try_get::<Vec<u8>, _>("hash")?, "transaction hash")?,
                })
            })
            .collect()
    }

    /// Records bundles whose members were finalized in the block at `height` (idempotent).
    pub async fn insert_bundles(
        &self,
        height: Height,
        bundles: &[(Hash, Vec<Hash>)],
    ) -> Result<(), Error> {
        let height = height_param(height)
            .ok_or_else(|| Error::Invalid(format!("height {height} exceeds i64::MAX")))?;
        let mut tx = self.pool.begin().await?;
        for (hash, members) in bundles {
            let members: Vec<u8> = members.iter().flat_map(|m| m.0).collect();
            sqlx::query("INSERT OR IGNORE INTO bundles (hash, members, height) VALUES (?, ?, ?)")
                .bind(hash.as_bytes().as_slice())
                .bind(members)
                .bind(height)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A finalized bundle's members, if the index recorded it.
    pub async fn bundle(&self, hash: Hash) -> Result<Option<Vec<Hash>>, Error> {
        let members: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT members FROM bundles WHERE hash = ?")
                .bind(hash.as_bytes().as_slice())
                .fetch_optional(&self.pool)
                .await?;
        members
            .map(|bytes| {
                if bytes.len() % 32 != 0 {
                    return Err(Error::Codec(format!(
                        "bundle {hash}: members are {} bytes, not a multiple of 32",
                        bytes.len()
                    )));
                }
                bytes
                    .chunks(32)
                    .map(|c| hash_from(c, "bundle member"))
                    .collect()
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
    async fn rows_disagreeing_with_the_header_are_errors() {
        let index = Index::open_in_memory(Limits::default()).await.unwrap();
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
