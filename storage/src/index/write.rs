//! Writes: finalized blocks (one or a batch per SQL transaction, with their bundles), headers.

use super::{
    Index, evidence::evidence_rows, hash_from, height_param, limit_param, namespace_param,
};
use crate::Error;
use commonware_codec::Encode;
use cortado_coding::InvalidEncodingEvidence;
use cortado_types::{
    BUNDLE_NAMESPACE, Block, Envelope, FinalityCertificate, Hash, Header, Marker, Namespace,
    Transaction, history,
};
use std::collections::{HashMap, HashSet};

/// One finalized block to index, with its certificate and the evidence of each of its
/// invalidly encoded namespaces.
#[derive(Clone, Copy, Debug)]
pub struct FinalizedBlock<'a> {
    /// The block.
    pub block: &'a Block,
    /// Its finality certificate (or its nearest finalized descendant's).
    pub certificate: &'a FinalityCertificate,
    /// One item per invalidly encoded namespace.
    pub evidence: &'a [InvalidEncodingEvidence],
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

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
async fn insert_block_row(tx: &mut Tx, row: &BlockRow<'_>) -> Result<bool, Error> {
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
async fn insert_history(tx: &mut Tx, header: &Header, hash: Hash) -> Result<(), Error> {
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
    /// Prepares an empty index to start at the certified `header` instead of genesis: records
    /// its height as the lowest held, and stores the history accumulator peaks it carries at
    /// their positions, so that every later header's accumulator nodes, and with them the
    /// history proofs of every header from the checkpoint on, are complete. Idempotent.
    ///
    /// Refused ([`Error::Invalid`]) if the index already holds a block below `header`.
    pub async fn start_from_checkpoint(&self, header: &Header) -> Result<(), Error> {
        check_history(header)?;
        let height = height_param(header.height).ok_or_else(|| {
            Error::Invalid(format!("checkpoint height {} is too large", header.height))
        })?;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let below: Option<i64> =
            sqlx::query_scalar("SELECT MAX(height) FROM blocks WHERE height < ?")
                .bind(height)
                .fetch_one(&mut *tx)
                .await?;
        if let Some(below) = below {
            return Err(Error::Invalid(format!(
                "the index already holds height {below}, below the checkpoint at {}: start from a checkpoint only with a fresh data directory",
                header.height
            )));
        }
        let positions = history::peak_positions(header.height);
        for ((level, index), peak) in positions.into_iter().zip(&header.history) {
            sqlx::query("INSERT OR IGNORE INTO history_nodes (level, idx, hash) VALUES (?, ?, ?)")
                .bind(i64::from(level))
                .bind(i64::try_from(index).unwrap_or(i64::MAX))
                .bind(peak.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("INSERT OR IGNORE INTO checkpoint (height) VALUES (?)")
            .bind(height)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A header's `blocks` row, checked: its height fits the index and it carries its history.
fn block_row<'a>(
    header: &'a Header,
    hash: Hash,
    certificate: &'a FinalityCertificate,
    tx_count: usize,
    payload_bytes: u64,
    finalized_at_ms: u64,
) -> Result<BlockRow<'a>, Error> {
    let height = height_param(header.height)
        .ok_or_else(|| Error::Invalid(format!("height {} exceeds i64::MAX", header.height)))?;
    check_history(header)?;
    Ok(BlockRow {
        height,
        hash,
        header,
        certificate,
        tx_count,
        payload_bytes: i64::try_from(payload_bytes).unwrap_or(i64::MAX),
        finalized_at_ms,
    })
}

/// Writes one finalized block's rows inside `tx`. Returns its transaction hashes in block
/// order (also when the block was indexed already and nothing is written).
async fn write_block(
    tx: &mut Tx,
    item: &FinalizedBlock<'_>,
    finalized_at_ms: u64,
) -> Result<Vec<Hash>, Error> {
    let FinalizedBlock {
        block,
        certificate,
        evidence,
    } = *item;
    let evidence = evidence_rows(block, evidence)?;
    let header = block.header();
    let hash = block.hash();
    let row = block_row(
        header,
        hash,
        certificate,
        block.tx_count(),
        block.payload_bytes(),
        finalized_at_ms,
    )?;
    if !insert_block_row(tx, &row).await? {
        return Ok(block.transactions().map(|t| t.hash()).collect());
    }
    let height = row.height;
    let mut hashes = Vec::with_capacity(block.tx_count());
    // A transaction's index is its slot in the header's table order: the `tx_count`s of the
    // entries before its namespace plus its position, so that the header alone binds it (an
    // invalidly encoded namespace keeps its slots, empty).
    let slots: HashMap<Namespace, i64> = header
        .table
        .entries()
        .iter()
        .scan(0i64, |base, e| {
            let first = *base;
            *base += i64::from(e.tx_count);
            Some((e.namespace, first))
        })
        .collect();
    for data in block.namespaces() {
        let mut idx = *slots.get(&data.namespace).ok_or_else(|| {
            Error::Invalid(format!(
                "block {height} holds namespace {} that its header's table does not",
                data.namespace
            ))
        })?;
        sqlx::query(
            "INSERT INTO block_namespaces (namespace, height, tx_count, invalid) \
                 VALUES (?, ?, ?, ?)",
        )
        .bind(namespace_param(data.namespace))
        .bind(height)
        .bind(limit_param(data.payloads.len()))
        .bind(i64::from(data.invalid_encoding))
        .execute(&mut **tx)
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
            .execute(&mut **tx)
            .await?;
            hashes.push(tx_hash);
            // Only a message signed by its sender is indexed as one (an envelope naming a
            // sender whose key did not sign it stays an ordinary transaction).
            if let Ok(envelope) =
                Envelope::from_transaction(header.chain_id, data.namespace, payload)
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
                .execute(&mut **tx)
                .await?;
            }
            idx += 1;
        }
    }
    insert_markers(tx, block, height, &hashes).await?;
    insert_history(tx, header, hash).await?;
    for (namespace, bytes) in &evidence {
        sqlx::query(
            "INSERT INTO namespace_evidence (height, namespace, evidence) VALUES (?, ?, ?)",
        )
        .bind(height)
        .bind(namespace_param(*namespace))
        .bind(bytes.as_ref())
        .execute(&mut **tx)
        .await?;
    }
    Ok(hashes)
}

impl Index {
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
        let item = FinalizedBlock {
            block,
            certificate,
            evidence,
        };
        let mut hashes = self
            .insert_finalized_batch(&[item], finalized_at_ms)
            .await?;
        Ok(hashes.pop().expect("one block in, one list out"))
    }

    /// [`Self::insert_finalized`] for several blocks in one SQL transaction (one sync to disk):
    /// all are durable when it returns, or none is written. A node catching up indexes many
    /// blocks a second this way. Returns each block's transaction hashes.
    pub async fn insert_finalized_batch(
        &self,
        blocks: &[FinalizedBlock<'_>],
        finalized_at_ms: u64,
    ) -> Result<Vec<Vec<Hash>>, Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut out = Vec::with_capacity(blocks.len());
        for item in blocks {
            out.push(write_block(&mut tx, item, finalized_at_ms).await?);
        }
        tx.commit().await?;
        Ok(out)
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
        self.insert_headers(&[(header, certificate)], finalized_at_ms)
            .await
    }

    /// [`Self::insert_header`] for several headers in one SQL transaction.
    pub async fn insert_headers(
        &self,
        headers: &[(&Header, &FinalityCertificate)],
        finalized_at_ms: u64,
    ) -> Result<(), Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for (header, certificate) in headers {
            let entries = header.table.entries();
            let tx_count: u64 = entries.iter().map(|e| u64::from(e.tx_count)).sum();
            let payload_bytes: u64 = entries.iter().map(|e| e.byte_len).sum();
            let tx_count = usize::try_from(tx_count).unwrap_or(usize::MAX);
            let hash = header.hash();
            let row = block_row(
                header,
                hash,
                certificate,
                tx_count,
                payload_bytes,
                finalized_at_ms,
            )?;
            if insert_block_row(&mut tx, &row).await? {
                insert_history(&mut tx, header, hash).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Records the bundles whose markers are in `block` together with every member: a marker
/// naming a transaction that is not in its block (only a faulty leader writes one) records
/// nothing. A bundle is kept at the earliest height it was recorded at, whatever order blocks
/// are indexed in; whether each member was first finalized there is read from `txs`.
async fn insert_markers(
    tx: &mut Tx,
    block: &Block,
    height: i64,
    hashes: &[Hash],
) -> Result<(), Error> {
    let Some(data) = block
        .namespaces()
        .iter()
        .find(|data| data.namespace == BUNDLE_NAMESPACE)
    else {
        return Ok(());
    };
    let in_block: HashSet<&Hash> = hashes.iter().collect();
    // The bundle namespace sorts last, so its transactions' hashes end `hashes`.
    let marker_hashes = &hashes[hashes.len() - data.payloads.len()..];
    for (payload, hash) in data.payloads.iter().zip(marker_hashes) {
        let Ok(marker) = Marker::decode(payload) else {
            continue;
        };
        if !marker.members().iter().all(|m| in_block.contains(m)) {
            continue;
        }
        let members: Vec<u8> = marker.members().iter().flat_map(|m| m.0).collect();
        sqlx::query(
            "INSERT INTO bundles (hash, members, height) VALUES (?, ?, ?) \
                 ON CONFLICT (hash) DO UPDATE SET height = excluded.height \
                 WHERE excluded.height < bundles.height",
        )
        .bind(hash.as_bytes().as_slice())
        .bind(members)
        .bind(height)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
