//! The SQLite schema of the index.

/// Version stored in `PRAGMA user_version`; bump it with any schema change.
///
/// - 1: blocks, transactions, namespaces per block.
/// - 2: invalidly encoded namespaces (`block_namespaces.invalid`) and their evidence
///   (`namespace_evidence`). A version-1 file is refused: the index is rebuilt from a fresh data
///   directory.
/// - 3: the header history accumulator's nodes (`history_nodes`), so that the index answers
///   history proofs. Headers of version-2 files predate the accumulator: refused.
/// - 4: cross-rollup messages by destination (`messages`). A version-3 file has finalized
///   blocks whose messages were never indexed: refused.
/// - 5: messages are indexed only when their sender's signature verifies (envelope version 2),
///   and `bundles` rows come from the bundle markers in finalized blocks, keyed by the marker's
///   hash (version 4 kept rows from this node's mempool, keyed by the carrier's): refused.
/// - 6: a transaction's `idx` is its slot in the header's table order (the `tx_count`s of the
///   entries before its namespace, plus its position), so an invalidly encoded namespace keeps
///   its slots; version 5 counted only the transactions held, which a verifier cannot derive
///   from the header: refused.
pub(crate) const VERSION: i64 = 6;

/// Statements creating the schema; each is idempotent.
///
/// - `blocks`: one row per finalized height, with the encoded header and certificate.
/// - `txs`: one row per transaction of each block, keyed by `(height, idx)`. The hash is not
///   unique here, because the same transaction may be finalized in two blocks; the location of a
///   hash is its first row by `(height, idx)`, found through `txs_hash`. An invalidly encoded
///   namespace has no rows: it counts as empty.
/// - `block_namespaces`: which namespaces each block holds (valid or not), so that walking a
///   namespace's blocks costs one row per block rather than one per transaction. `invalid` is 1
///   for a namespace whose committed encoding was invalid.
/// - `namespace_evidence`: for each invalid namespace, the encoded
///   `cortado_coding::InvalidEncodingEvidence`, keyed by
///   `(height, namespace)` so that rebuilding a block finds its invalid namespaces in one range.
/// - `history_nodes`: the nodes of the header history MMR (`cortado_types::history`) keyed by
///   `(level, idx)`: the node over leaves `[idx·2^level, (idx+1)·2^level)`. Indexing the header
///   at height `h` adds leaf `(0, h)` and the merges it causes, computed from that header's own
///   peaks, so the rows do not depend on the order blocks are indexed in.
/// - `messages`: every finalized cross-rollup message (`cortado_types::Envelope`, posted in its
///   own source namespace, validly encoded) by `(destination, source, sender, sequence)`,
///   pointing at its transaction `(height, idx)`. Sequence numbers count per sender, so that
///   nobody posting in the source namespace can take another sender's numbers. The first
///   finalized message of a `(destination, source, sender, sequence)` counts; a later one is a
///   duplicate and not indexed.
/// - `bundles`: bundles (`cortado_types::Bundle`) by bundle hash (their marker's transaction
///   hash): the members' hashes (concatenated, 32 bytes each) and the earliest height of a
///   block holding the marker and every member. Whether each member was first finalized there
///   is read from `txs`.
/// - `checkpoint`: at most one row, the height a node joined the chain from
///   ([`crate::Index::start_from_checkpoint`]); nothing below it is held. No row: the index
///   holds the chain from genesis (so version-4 files from before the table are read alike).
pub(crate) const CREATE: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS blocks (
        height INTEGER PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        header BLOB NOT NULL,
        certificate BLOB NOT NULL,
        tx_count INTEGER NOT NULL,
        payload_bytes INTEGER NOT NULL,
        timestamp_ms INTEGER NOT NULL,
        finalized_at_ms INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS txs (
        height INTEGER NOT NULL REFERENCES blocks(height),
        idx INTEGER NOT NULL,
        namespace INTEGER NOT NULL,
        hash BLOB NOT NULL,
        payload BLOB NOT NULL,
        PRIMARY KEY (height, idx)
    )",
    "CREATE INDEX IF NOT EXISTS txs_namespace ON txs (namespace, height, idx)",
    "CREATE INDEX IF NOT EXISTS txs_hash ON txs (hash, height, idx)",
    "CREATE TABLE IF NOT EXISTS block_namespaces (
        namespace INTEGER NOT NULL,
        height INTEGER NOT NULL REFERENCES blocks(height),
        tx_count INTEGER NOT NULL,
        invalid INTEGER NOT NULL CHECK (invalid IN (0, 1)),
        PRIMARY KEY (namespace, height)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS namespace_evidence (
        height INTEGER NOT NULL REFERENCES blocks(height),
        namespace INTEGER NOT NULL,
        evidence BLOB NOT NULL,
        PRIMARY KEY (height, namespace)
    )",
    "CREATE TABLE IF NOT EXISTS history_nodes (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS messages (
        destination INTEGER NOT NULL,
        source INTEGER NOT NULL,
        sender BLOB NOT NULL,
        sequence INTEGER NOT NULL,
        height INTEGER NOT NULL REFERENCES blocks(height),
        idx INTEGER NOT NULL,
        PRIMARY KEY (destination, source, sender, sequence)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS messages_by_height ON messages (destination, height, idx)",
    "CREATE TABLE IF NOT EXISTS bundles (
        hash BLOB PRIMARY KEY,
        members BLOB NOT NULL,
        height INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS checkpoint (
        height INTEGER PRIMARY KEY
    )",
];
