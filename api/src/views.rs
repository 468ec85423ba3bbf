//! JSON views of finalized data. Hashes and keys are lowercase hex; payloads are standard
//! base64; encoded headers and certificates are hex of their canonical codec bytes, so a client
//! can verify exactly what the node verified.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use commonware_codec::Encode;
use cortado_storage::{IndexedTx, NamespaceBlock};
use cortado_types::{Block, FinalityCertificate, Header, NamespaceEntry};
use serde::Serialize;

/// One namespace table entry.
#[derive(Serialize, Debug)]
pub(crate) struct EntryView {
    namespace: u64,
    tx_count: u32,
    byte_len: u64,
    commitment: String,
}

impl From<&NamespaceEntry> for EntryView {
    fn from(e: &NamespaceEntry) -> Self {
        Self {
            namespace: e.namespace.get(),
            tx_count: e.tx_count,
            byte_len: e.byte_len,
            commitment: e.commitment.to_hex(),
        }
    }
}

/// The decoded fields of a header.
#[derive(Serialize, Debug)]
pub(crate) struct HeaderFields {
    chain_id: u64,
    height: u64,
    epoch: u64,
    view: u64,
    parent_view: u64,
    leader: String,
    timestamp_ms: u64,
    parent: String,
    payload_commitment: String,
    namespaces: Vec<EntryView>,
}

/// The decoded fields of a certificate.
#[derive(Serialize, Debug)]
pub(crate) struct CertificateFields {
    epoch: u64,
    view: u64,
    parent_view: u64,
    block: String,
    signature: String,
}

/// A finalized header: what `/v1/headers/{height}` returns and the `header` SSE event carries.
#[derive(Serialize, Debug)]
pub(crate) struct HeaderView {
    height: u64,
    hash: String,
    header: HeaderFields,
    header_bytes: String,
    certificate: CertificateFields,
    certificate_bytes: String,
}

impl HeaderView {
    /// The view of a header and its certificate.
    pub(crate) fn new(header: &Header, certificate: &FinalityCertificate) -> Self {
        let fields = HeaderFields {
            chain_id: header.chain_id.0,
            height: header.height,
            epoch: header.epoch,
            view: header.view,
            parent_view: header.parent_view,
            leader: hex::encode(header.leader),
            timestamp_ms: header.timestamp_ms,
            parent: header.parent.to_hex(),
            payload_commitment: header.payload_commitment.to_hex(),
            namespaces: header.table.entries().iter().map(EntryView::from).collect(),
        };
        let cert = CertificateFields {
            epoch: certificate.epoch,
            view: certificate.view,
            parent_view: certificate.parent_view,
            block: certificate.block.to_hex(),
            signature: hex::encode(certificate.signature),
        };
        Self {
            height: header.height,
            hash: header.hash().to_hex(),
            header: fields,
            header_bytes: hex::encode(header.encode()),
            certificate: cert,
            certificate_bytes: hex::encode(certificate.encode()),
        }
    }
}

/// A transaction of a whole block.
#[derive(Serialize, Debug)]
pub(crate) struct BlockTxView {
    index: u32,
    namespace: u64,
    hash: String,
    payload: String,
}

/// `/v1/blocks/{height}`: the header view plus every transaction.
#[derive(Serialize, Debug)]
pub(crate) struct BlockView {
    #[serde(flatten)]
    header: HeaderView,
    transactions: Vec<BlockTxView>,
}

impl BlockView {
    /// The view of a block and its certificate.
    pub(crate) fn new(block: &Block, certificate: &FinalityCertificate) -> Self {
        let transactions = block
            .transactions()
            .enumerate()
            .map(|(i, tx)| BlockTxView {
                // Bounded by txs_per_block_max, which a decoded block respects.
                index: u32::try_from(i).unwrap_or(u32::MAX),
                namespace: tx.namespace.get(),
                hash: tx.hash().to_hex(),
                payload: STANDARD.encode(&tx.payload),
            })
            .collect();
        Self {
            header: HeaderView::new(block.header(), certificate),
            transactions,
        }
    }
}

/// A transaction of one namespace in a block.
#[derive(Serialize, Debug)]
pub(crate) struct NamespaceTxView {
    index: u32,
    hash: String,
    payload: String,
}

impl From<&IndexedTx> for NamespaceTxView {
    fn from(tx: &IndexedTx) -> Self {
        Self {
            index: tx.index,
            hash: tx.hash.to_hex(),
            payload: STANDARD.encode(&tx.payload),
        }
    }
}

/// `/v1/namespaces/{ns}/blocks/{height}`: the header view, the namespace and its transactions.
#[derive(Serialize, Debug)]
pub(crate) struct NamespaceBlockView {
    #[serde(flatten)]
    header: HeaderView,
    namespace: u64,
    transactions: Vec<NamespaceTxView>,
}

impl From<&NamespaceBlock> for NamespaceBlockView {
    fn from(nb: &NamespaceBlock) -> Self {
        Self {
            header: HeaderView::new(&nb.header, &nb.certificate),
            namespace: nb.namespace.get(),
            transactions: nb.transactions.iter().map(NamespaceTxView::from).collect(),
        }
    }
}

/// The `namespace_block` SSE event: one namespace's transactions of one block.
#[derive(Serialize, Debug)]
pub(crate) struct NamespaceEventView {
    height: u64,
    block_hash: String,
    namespace: u64,
    transactions: Vec<NamespaceTxView>,
}

impl From<&NamespaceBlock> for NamespaceEventView {
    fn from(nb: &NamespaceBlock) -> Self {
        Self {
            height: nb.header.height,
            block_hash: nb.header.hash().to_hex(),
            namespace: nb.namespace.get(),
            transactions: nb.transactions.iter().map(NamespaceTxView::from).collect(),
        }
    }
}
