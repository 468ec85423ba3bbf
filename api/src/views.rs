//! JSON views of finalized data. Hashes and keys are lowercase hex; payloads are standard
//! base64; encoded headers, certificates, proofs and evidence are hex of their canonical codec
//! bytes, so a client can verify exactly what the node verified.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use commonware_codec::Encode;
use cortado_coding::{
    AbsenceProof, NamespaceProof, TransactionProof, prove_among, prove_namespace,
};
use cortado_storage::{CompactTx, EncodedEvidence, IndexedTx, NamespaceBlock, TxLocation};
use cortado_types::{Block, FinalityCertificate, Header, NamespaceEntry, history::HistoryProof};
use serde::Serialize;
use utoipa::ToSchema;

/// One namespace table entry.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct EntryView {
    namespace: u64,
    tx_count: u32,
    byte_len: u64,
    commitment: String,
    /// Merkle root over the namespace's transaction hashes (domain `_CORTADO_TXS`).
    tx_root: String,
}

impl From<&NamespaceEntry> for EntryView {
    fn from(e: &NamespaceEntry) -> Self {
        Self {
            namespace: e.namespace.get(),
            tx_count: e.tx_count,
            byte_len: e.byte_len,
            commitment: e.commitment.to_hex(),
            tx_root: e.tx_root.to_hex(),
        }
    }
}

/// The decoded fields of a header.
#[derive(Serialize, Debug, ToSchema)]
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
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct CertificateFields {
    epoch: u64,
    view: u64,
    parent_view: u64,
    block: String,
    signature: String,
}

/// A finalized header: what `/v1/headers/{height}` returns and the `header` SSE event carries.
#[derive(Serialize, Debug, ToSchema)]
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
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct BlockTxView {
    index: u32,
    namespace: u64,
    hash: String,
    payload: String,
}

/// `/v1/blocks/{height}`: the header view, the namespaces whose encoding was invalid, and every
/// transaction.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct BlockView {
    #[serde(flatten)]
    header: HeaderView,
    invalid_namespaces: Vec<u64>,
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
            invalid_namespaces: block.invalid_namespaces().map(|ns| ns.get()).collect(),
            transactions,
        }
    }
}

/// A transaction of one namespace in a block.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct NamespaceTxView {
    index: u32,
    hash: String,
    /// Base64; left out only on a namespace stream opened with `payloads=false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
}

impl From<&IndexedTx> for NamespaceTxView {
    fn from(tx: &IndexedTx) -> Self {
        Self {
            index: tx.index,
            hash: tx.hash.to_hex(),
            payload: Some(STANDARD.encode(&tx.payload)),
        }
    }
}

impl NamespaceTxView {
    /// The same without the payload.
    fn hash_only(tx: &IndexedTx) -> Self {
        Self {
            index: tx.index,
            hash: tx.hash.to_hex(),
            payload: None,
        }
    }
}

/// What a namespace read found: `"valid"`, `"invalid_encoding"` or `"absent"`.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// In the table, validly encoded: the transactions are its whole content.
    Valid,
    /// In the table with an invalid encoding: it counts as empty; see the evidence.
    InvalidEncoding,
    /// Not in the table.
    Absent,
}

/// A namespace's table entry with its Merkle path to the payload commitment:
/// `{"kind":"inclusion","position","table_len","entry","path","bytes"}`, `bytes` the hex of the
/// encoded `cortado_coding::NamespaceProof`.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct InclusionView {
    kind: &'static str,
    position: u32,
    table_len: u32,
    entry: EntryView,
    path: Vec<String>,
    bytes: String,
}

impl From<&NamespaceProof> for InclusionView {
    fn from(p: &NamespaceProof) -> Self {
        Self {
            kind: "inclusion",
            position: p.position,
            table_len: p.table_len,
            entry: EntryView::from(&p.entry),
            path: p.path.iter().map(|h| h.to_hex()).collect(),
            bytes: hex::encode(p.encode()),
        }
    }
}

/// Proof of a namespace's absence from its neighbours in the sorted table:
/// `{"kind":"absence","below","above","table_len","bytes"}`, each neighbour an inclusion proof
/// or null, `bytes` the hex of the encoded `cortado_coding::AbsenceProof`.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct AbsenceView {
    kind: &'static str,
    below: Option<InclusionView>,
    above: Option<InclusionView>,
    table_len: u32,
    bytes: String,
}

impl From<&AbsenceProof> for AbsenceView {
    fn from(p: &AbsenceProof) -> Self {
        Self {
            kind: "absence",
            below: p.below.as_ref().map(InclusionView::from),
            above: p.above.as_ref().map(InclusionView::from),
            table_len: p.table_len,
            bytes: hex::encode(p.encode()),
        }
    }
}

/// The proof of a namespace read, told apart by `kind`.
#[derive(Serialize, Debug, ToSchema)]
#[serde(untagged)]
pub(crate) enum ProofView {
    Inclusion(InclusionView),
    Absence(AbsenceView),
}

/// Evidence of an invalid encoding: `{"bytes","chunks"}`, `bytes` the hex of the encoded
/// `cortado_coding::InvalidEncodingEvidence`.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct EvidenceView {
    bytes: String,
    chunks: usize,
}

impl From<&EncodedEvidence> for EvidenceView {
    fn from(e: &EncodedEvidence) -> Self {
        Self {
            bytes: hex::encode(&e.bytes),
            chunks: e.chunks,
        }
    }
}

/// What a namespace read answers besides the header: the namespace, its status, the proof
/// (computed from the header), the evidence of an invalid encoding and the transactions.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct NamespaceFields {
    namespace: u64,
    status: Status,
    proof: ProofView,
    evidence: Option<EvidenceView>,
    transactions: Vec<NamespaceTxView>,
}

impl From<&NamespaceBlock> for NamespaceFields {
    fn from(nb: &NamespaceBlock) -> Self {
        Self::new(nb, true)
    }
}

impl NamespaceFields {
    /// The fields of a namespace read; without `payloads`, transactions carry index and hash.
    fn new(nb: &NamespaceBlock, payloads: bool) -> Self {
        let (status, proof) = match prove_namespace(&nb.header, nb.namespace) {
            Ok(proof) if nb.invalid_encoding => (
                Status::InvalidEncoding,
                ProofView::Inclusion((&proof).into()),
            ),
            Ok(proof) => (Status::Valid, ProofView::Inclusion((&proof).into())),
            Err(absence) => (Status::Absent, ProofView::Absence((&absence).into())),
        };
        // The index serves no transactions for an absent or invalid namespace; the status
        // rules here, so that the answer is consistent with its proof whatever a reader gives.
        let view = if payloads {
            NamespaceTxView::from
        } else {
            NamespaceTxView::hash_only
        };
        let transactions = match status {
            Status::Valid => nb.transactions.iter().map(view).collect(),
            Status::InvalidEncoding | Status::Absent => Vec::new(),
        };
        Self {
            namespace: nb.namespace.get(),
            status,
            proof,
            evidence: nb.evidence.as_ref().map(EvidenceView::from),
            transactions,
        }
    }

    /// Whether the block holds the namespace (valid or not).
    pub(crate) fn present(&self) -> bool {
        self.status != Status::Absent
    }
}

/// `/v1/namespaces/{ns}/blocks/{height}`: the header view and the namespace's fields.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct NamespaceBlockView {
    #[serde(flatten)]
    header: HeaderView,
    #[serde(flatten)]
    fields: NamespaceFields,
}

impl From<&NamespaceBlock> for NamespaceBlockView {
    fn from(nb: &NamespaceBlock) -> Self {
        Self {
            header: HeaderView::new(&nb.header, &nb.certificate),
            fields: NamespaceFields::from(nb),
        }
    }
}

/// The `namespace_block` SSE event: the block's height and hash, the encoded header and
/// certificate (what the proof verifies against), and the namespace's fields.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct NamespaceEventView {
    height: u64,
    block_hash: String,
    header_bytes: String,
    certificate_bytes: String,
    #[serde(flatten)]
    fields: NamespaceFields,
}

impl NamespaceEventView {
    /// The event of a namespace read; `None` if the block does not hold the namespace. Without
    /// `payloads`, transactions carry their index and hash only (for clients that track
    /// inclusion and need not verify the namespace proof).
    pub(crate) fn new(nb: &NamespaceBlock, payloads: bool) -> Option<Self> {
        let mut fields = NamespaceFields::from(nb);
        if !payloads {
            fields.transactions = match fields.status {
                Status::Valid => nb
                    .transactions
                    .iter()
                    .map(NamespaceTxView::hash_only)
                    .collect(),
                Status::InvalidEncoding | Status::Absent => Vec::new(),
            };
        }
        fields.present().then(|| Self {
            height: nb.header.height,
            block_hash: nb.header.hash().to_hex(),
            header_bytes: hex::encode(nb.header.encode()),
            certificate_bytes: hex::encode(nb.certificate.encode()),
            fields,
        })
    }
}

/// Where a finalized transaction is, and everything that proves it, so that a caller verifies
/// inclusion without another request: the header and certificate, the namespace's inclusion
/// proof, the payload and its compact proof (the path from the transaction's hash to the
/// entry's `tx_root`); with `?full=true`, also the namespace's transactions in the block (the
/// namespace commitment covers all of them), this one at `position`.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct FinalizedTxView {
    height: u64,
    index: u32,
    namespace: u64,
    block_hash: String,
    position: u32,
    header_bytes: String,
    certificate_bytes: String,
    namespace_proof: InclusionView,
    /// Base64.
    payload: String,
    transaction_proof: TransactionProofView,
    /// Only with `?full=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_transactions: Option<Vec<NamespaceTxView>>,
}

/// A compact transaction proof: `{"position","count","path","bytes"}`, `bytes` the hex of the
/// encoded `cortado_coding::TransactionProof`.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct TransactionProofView {
    position: u32,
    count: u32,
    path: Vec<String>,
    bytes: String,
}

impl From<&TransactionProof> for TransactionProofView {
    fn from(p: &TransactionProof) -> Self {
        Self {
            position: p.position,
            count: p.count,
            path: p.path.iter().map(|h| h.to_hex()).collect(),
            bytes: hex::encode(p.encode()),
        }
    }
}

/// `pending` or `finalized`.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TxStatus {
    /// In this node's mempool, not yet finalized.
    Pending,
    /// In a finalized block.
    Finalized,
}

/// `/v1/transactions/{hash}`: the status, and once finalized where and the proof.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct TransactionView {
    hash: String,
    status: TxStatus,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    finalized: Option<FinalizedTxView>,
}

impl TransactionView {
    /// A pending transaction.
    pub(crate) fn pending(hash: cortado_types::Hash) -> Self {
        Self {
            hash: hash.to_hex(),
            status: TxStatus::Pending,
            finalized: None,
        }
    }

    /// A finalized transaction at `loc`, proven by `compact` (and with the whole namespace when
    /// `full` is given); `None` if they do not hold it (the index is inconsistent).
    pub(crate) fn finalized(
        loc: &TxLocation,
        compact: &CompactTx,
        full: Option<&NamespaceBlock>,
    ) -> Option<Self> {
        let header = &compact.header;
        if header.height != loc.height
            || compact.hashes.get(compact.position as usize)? != &loc.hash
        {
            return None;
        }
        let proof = prove_namespace(header, loc.namespace).ok()?;
        let tx_proof = prove_among(&compact.hashes, compact.position)?;
        let namespace_transactions = match full {
            Some(nb) if nb.invalid_encoding || nb.header.height != loc.height => return None,
            Some(nb) => Some(nb.transactions.iter().map(NamespaceTxView::from).collect()),
            None => None,
        };
        Some(Self {
            hash: loc.hash.to_hex(),
            status: TxStatus::Finalized,
            finalized: Some(FinalizedTxView {
                height: loc.height,
                index: loc.index,
                namespace: loc.namespace.get(),
                block_hash: loc.block_hash.to_hex(),
                position: compact.position,
                header_bytes: hex::encode(header.encode()),
                certificate_bytes: hex::encode(compact.certificate.encode()),
                namespace_proof: InclusionView::from(&proof),
                payload: STANDARD.encode(&compact.payload),
                transaction_proof: TransactionProofView::from(&tx_proof),
                namespace_transactions,
            }),
        })
    }
}

/// A history proof: `{"leaf","count","siblings","bytes"}`, `bytes` the hex of the encoded
/// `cortado_types::history::HistoryProof`.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct HistoryProofFields {
    leaf: u64,
    count: u64,
    siblings: Vec<String>,
    bytes: String,
}

/// `/v1/headers/{height}/proof?against={later}`: the header at `height`, the later header with
/// its certificate, and the proof that the first is in the second's history.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct HistoryProofView {
    height: u64,
    hash: String,
    header_bytes: String,
    against: u64,
    later_header_bytes: String,
    later_certificate_bytes: String,
    proof: HistoryProofFields,
}

impl HistoryProofView {
    /// The view of `proof` for `header` against `later`.
    pub(crate) fn new(
        header: &Header,
        later: &Header,
        later_certificate: &FinalityCertificate,
        proof: &HistoryProof,
    ) -> Self {
        Self {
            height: header.height,
            hash: header.hash().to_hex(),
            header_bytes: hex::encode(header.encode()),
            against: later.height,
            later_header_bytes: hex::encode(later.encode()),
            later_certificate_bytes: hex::encode(later_certificate.encode()),
            proof: HistoryProofFields {
                leaf: proof.leaf,
                count: proof.count,
                siblings: proof.siblings.iter().map(|h| h.to_hex()).collect(),
                bytes: hex::encode(proof.encode()),
            },
        }
    }
}

/// One message of an inbox answer: the envelope's fields, where it stands, and which proof
/// block (`blocks[block]`) proves it, at `position` among that block's namespace transactions.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct MessageView {
    /// The source namespace (the transaction's namespace).
    source: u64,
    /// The sequence number in the (source, destination) stream.
    sequence: u64,
    /// Sender address, hex.
    sender: String,
    /// Recipient address, hex.
    recipient: String,
    /// Body, standard base64.
    body: String,
    /// Hash of the carrying transaction.
    hash: String,
    /// Height of the block holding it.
    height: u64,
    /// Its index in the block's transaction order.
    index: u32,
    /// Index into `blocks` of the proof covering it.
    block: usize,
    /// Its position among that block's namespace transactions.
    position: u32,
}

/// The proof of one source namespace in one block, covering every message of the answer from
/// that (block, source): header, certificate, inclusion proof and all the namespace's
/// transactions (the commitment covers all of them).
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct ProofBlockView {
    height: u64,
    source: u64,
    header_bytes: String,
    certificate_bytes: String,
    namespace_proof: InclusionView,
    namespace_transactions: Vec<NamespaceTxView>,
}

/// `/v1/namespaces/{dst}/inbox`: messages in order, the blocks that prove them, the sequence
/// gaps (one sender's answers only), and where to resume.
#[derive(Serialize, Debug, ToSchema)]
pub(crate) struct InboxView {
    destination: u64,
    messages: Vec<MessageView>,
    blocks: Vec<ProofBlockView>,
    /// One sender's answers (`/inbox/{source}/{sender}`): the sequence numbers missing between
    /// `from_seq` and the last message returned, as `[first, last]` ranges (not finalized yet,
    /// or never sent); always empty otherwise.
    gaps: Vec<[u64; 2]>,
    /// The query that continues after this answer: `from_seq` (one sender) or `from` (a
    /// height); null when the answer was not full.
    next: Option<u64>,
}

impl InboxView {
    /// Builds the view of `messages` (in answer order) with the namespace blocks proving them
    /// (`proofs`, one per distinct (height, source)); `None` if a proof does not hold its
    /// message (the index is inconsistent).
    pub(crate) fn new(
        destination: u64,
        messages: &[cortado_storage::IndexedMessage],
        proofs: &[NamespaceBlock],
        gaps: Vec<[u64; 2]>,
        next: Option<u64>,
    ) -> Option<Self> {
        let mut blocks = Vec::with_capacity(proofs.len());
        for nb in proofs {
            if nb.invalid_encoding {
                return None;
            }
            let proof = prove_namespace(&nb.header, nb.namespace).ok()?;
            blocks.push(ProofBlockView {
                height: nb.header.height,
                source: nb.namespace.get(),
                header_bytes: hex::encode(nb.header.encode()),
                certificate_bytes: hex::encode(nb.certificate.encode()),
                namespace_proof: InclusionView::from(&proof),
                namespace_transactions: nb.transactions.iter().map(NamespaceTxView::from).collect(),
            });
        }
        let mut views = Vec::with_capacity(messages.len());
        for m in messages {
            let block = proofs
                .iter()
                .position(|nb| nb.header.height == m.height && nb.namespace == m.envelope.source)?;
            let position = proofs[block]
                .transactions
                .iter()
                .position(|tx| tx.index == m.index)?;
            views.push(MessageView {
                source: m.envelope.source.get(),
                sequence: m.envelope.sequence,
                sender: hex::encode(m.envelope.sender.as_bytes()),
                recipient: hex::encode(&m.envelope.recipient),
                body: STANDARD.encode(&m.envelope.body),
                hash: m.hash.to_hex(),
                height: m.height,
                index: m.index,
                block,
                position: u32::try_from(position).ok()?,
            });
        }
        Some(Self {
            destination,
            messages: views,
            blocks,
            gaps,
            next,
        })
    }
}
