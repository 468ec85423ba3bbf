use crate::{
    ChainId, Error, FORMAT_VERSION, Hash, Header, Height, Limits, Namespace, NamespaceEntry,
    NamespaceTable, PublicKeyBytes, Transaction, merkle, read_version,
    table::{DOMAIN_TXS, tx_leaf},
};
use bytes::Bytes;
use commonware_codec::{
    Buf, Decode, Encode, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write,
};
use std::collections::BTreeMap;

/// One namespace's transactions in a block, in the order the leader chose.
///
/// `invalid_encoding` marks a namespace whose coded data, once reconstructed, did not re-encode
/// to the commitment in the table: every honest node reaches that verdict, treats the namespace
/// as empty (`payloads` is empty) and says so.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NamespaceData {
    /// The namespace.
    pub namespace: Namespace,
    /// Transaction payloads, in block order.
    pub payloads: Vec<Bytes>,
    /// The namespace was committed with an invalid encoding (and counts as empty).
    pub invalid_encoding: bool,
}

impl NamespaceData {
    /// Valid data.
    pub fn new(namespace: Namespace, payloads: Vec<Bytes>) -> Self {
        Self {
            namespace,
            payloads,
            invalid_encoding: false,
        }
    }

    /// A namespace whose committed encoding was invalid.
    pub fn invalid(namespace: Namespace) -> Self {
        Self {
            namespace,
            payloads: Vec::new(),
            invalid_encoding: true,
        }
    }

    /// Sum of the payload lengths.
    pub fn byte_len(&self) -> u64 {
        self.payloads.iter().map(|p| p.len() as u64).sum()
    }

    /// The namespace's bytes as they are erasure-coded: `count (varint) || for each payload:
    /// length (varint) || payload`.
    pub fn encode_payloads(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payloads.encode_size());
        self.payloads.write(&mut out);
        out
    }

    /// Parses [`Self::encode_payloads`] back, within the limits; `None` if malformed.
    pub fn decode_payloads(namespace: Namespace, bytes: &[u8], limits: &Limits) -> Option<Self> {
        let cfg = (
            RangeCfg::new(..=limits.txs_per_block_max),
            RangeCfg::new(..=limits.tx_bytes_max),
        );
        let payloads = Vec::<Bytes>::decode_cfg(bytes.to_vec(), &cfg).ok()?;
        Some(Self::new(namespace, payloads))
    }

    /// The table entry describing this data, given its commitment.
    pub fn entry(&self, commitment: Hash) -> NamespaceEntry {
        NamespaceEntry {
            namespace: self.namespace,
            tx_count: u32::try_from(self.payloads.len()).expect("tx count bounded by limits"),
            byte_len: self.byte_len(),
            commitment,
            tx_root: merkle::root(DOMAIN_TXS, &self.tx_leaves()),
        }
    }

    /// The hashes of the transactions, in order.
    pub fn tx_hashes(&self) -> Vec<Hash> {
        self.payloads
            .iter()
            .map(|p| Transaction::hash_parts(self.namespace, p))
            .collect()
    }

    /// The leaves of the namespace's transaction tree (see [`tx_leaf`]).
    pub fn tx_leaves(&self) -> Vec<Hash> {
        self.tx_hashes().iter().map(tx_leaf).collect()
    }

    /// The transactions, in order.
    pub fn transactions(&self) -> impl Iterator<Item = Transaction> + '_ {
        self.payloads
            .iter()
            .map(|p| Transaction::new(self.namespace, p.clone()))
    }
}

/// A block: a header and its transactions grouped by namespace.
///
/// Encoding: `version (1) || header || for each table entry, in order: validity (1 byte: 0 =
/// data follows, 1 = invalid encoding, nothing follows) || tx_count payloads, each length
/// (varint) || bytes`. Decoding checks everything a block must satisfy on its own (limits, table
/// sorted, each entry matches its data, payload commitment matches the table), so a decoded
/// block is internally consistent; the namespace commitments are `cortado-coding`'s to check
/// and chain rules (parent, height, timestamp) the chain's.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Block {
    header: Header,
    namespaces: Vec<NamespaceData>,
    hash: Hash,
}

/// Everything that names a block's place in the chain, for [`Block::build`].
#[derive(Clone, Debug)]
pub struct BlockContext {
    /// The chain.
    pub chain_id: ChainId,
    /// Height of the new block.
    pub height: Height,
    /// Consensus epoch.
    pub epoch: u64,
    /// Consensus view of the proposal.
    pub view: u64,
    /// Consensus view of the parent.
    pub parent_view: u64,
    /// The proposer.
    pub leader: PublicKeyBytes,
    /// Proposal time in ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Parent header hash.
    pub parent: Hash,
    /// History peaks (the parent's [`Header::child_history`]; empty for genesis).
    pub history: Vec<Hash>,
}

impl Block {
    /// Builds a block from transactions: grouped by namespace (ascending), each namespace keeping
    /// the order given. Checks the limits. `commit` computes each namespace's commitment (the
    /// erasure-code commitment of `cortado-coding`).
    pub fn build(
        ctx: BlockContext,
        txs: Vec<Transaction>,
        limits: &Limits,
        mut commit: impl FnMut(&NamespaceData) -> Hash,
    ) -> Result<Self, Error> {
        let mut groups: BTreeMap<Namespace, Vec<Bytes>> = BTreeMap::new();
        for tx in txs {
            tx.check(limits.tx_bytes_max)?;
            groups.entry(tx.namespace).or_default().push(tx.payload);
        }
        let namespaces: Vec<NamespaceData> = groups
            .into_iter()
            .map(|(namespace, payloads)| NamespaceData::new(namespace, payloads))
            .collect();
        Self::check_limits(&namespaces, limits)?;
        let table = NamespaceTable::new(
            namespaces
                .iter()
                .map(|data| data.entry(commit(data)))
                .collect(),
        )?;
        let header = Header {
            chain_id: ctx.chain_id,
            height: ctx.height,
            epoch: ctx.epoch,
            view: ctx.view,
            parent_view: ctx.parent_view,
            leader: ctx.leader,
            timestamp_ms: ctx.timestamp_ms,
            parent: ctx.parent,
            history: ctx.history,
            payload_commitment: table.root(),
            table,
        };
        let hash = header.hash();
        Ok(Self {
            header,
            namespaces,
            hash,
        })
    }

    /// Assembles a block from a header and data, checking that they agree: one data per table
    /// entry, same namespace, transaction count and byte length (except namespaces marked
    /// invalid, which are empty), and the payload commitment is the table's root. Whether each
    /// namespace's data matches its commitment is the coding crate's check.
    pub fn from_parts(
        header: Header,
        namespaces: Vec<NamespaceData>,
        limits: &Limits,
    ) -> Result<Self, Error> {
        Self::check_limits(&namespaces, limits)?;
        let entries = header.table.entries();
        if entries.len() != namespaces.len() {
            let ns = entries
                .get(namespaces.len())
                .map(|e| e.namespace)
                .or(namespaces.get(entries.len()).map(|d| d.namespace))
                .unwrap_or_default();
            return Err(Error::EntryMismatch(ns));
        }
        for (entry, data) in entries.iter().zip(namespaces.iter()) {
            if entry.namespace != data.namespace {
                return Err(Error::EntryMismatch(entry.namespace));
            }
            if data.invalid_encoding {
                if !data.payloads.is_empty() {
                    return Err(Error::EntryMismatch(entry.namespace));
                }
                continue;
            }
            if entry.tx_count == 0 {
                return Err(Error::EmptyNamespace(data.namespace));
            }
            if *entry != data.entry(entry.commitment) {
                return Err(Error::EntryMismatch(entry.namespace));
            }
        }
        let computed = header.table.root();
        if computed != header.payload_commitment {
            return Err(Error::CommitmentMismatch {
                claimed: header.payload_commitment,
                computed,
            });
        }
        let hash = header.hash();
        Ok(Self {
            header,
            namespaces,
            hash,
        })
    }

    fn check_limits(namespaces: &[NamespaceData], limits: &Limits) -> Result<(), Error> {
        if namespaces.len() > limits.namespaces_per_block_max {
            return Err(Error::TooManyNamespaces {
                count: namespaces.len(),
                limit: limits.namespaces_per_block_max,
            });
        }
        let mut bytes = 0usize;
        let mut txs = 0usize;
        for ns in namespaces {
            for p in &ns.payloads {
                if p.len() > limits.tx_bytes_max {
                    return Err(Error::TransactionTooLarge {
                        size: p.len(),
                        limit: limits.tx_bytes_max,
                    });
                }
                bytes += p.len();
            }
            txs += ns.payloads.len();
        }
        if bytes > limits.block_bytes_max {
            return Err(Error::BlockTooLarge {
                size: bytes,
                limit: limits.block_bytes_max,
            });
        }
        if txs > limits.txs_per_block_max {
            return Err(Error::TooManyTransactions {
                count: txs,
                limit: limits.txs_per_block_max,
            });
        }
        Ok(())
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The block id (header hash).
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Height.
    pub fn height(&self) -> Height {
        self.header.height
    }

    /// Each namespace's data, ascending by namespace.
    pub fn namespaces(&self) -> &[NamespaceData] {
        &self.namespaces
    }

    /// Namespaces whose committed encoding was invalid (treated as empty).
    pub fn invalid_namespaces(&self) -> impl Iterator<Item = Namespace> + '_ {
        self.namespaces
            .iter()
            .filter(|n| n.invalid_encoding)
            .map(|n| n.namespace)
    }

    /// One namespace's data, if present.
    pub fn namespace(&self, namespace: Namespace) -> Option<&NamespaceData> {
        self.header
            .table
            .find(namespace)
            .ok()
            .map(|i| &self.namespaces[i])
    }

    /// Number of transactions.
    pub fn tx_count(&self) -> usize {
        self.namespaces.iter().map(|n| n.payloads.len()).sum()
    }

    /// Sum of payload bytes.
    pub fn payload_bytes(&self) -> u64 {
        self.namespaces.iter().map(NamespaceData::byte_len).sum()
    }

    /// All transactions in block order (namespaces ascending, each in the leader's order); the
    /// position in this sequence is a transaction's index within the block.
    pub fn transactions(&self) -> impl Iterator<Item = Transaction> + '_ {
        self.namespaces.iter().flat_map(NamespaceData::transactions)
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.header.write(buf);
        for ns in &self.namespaces {
            ns.invalid_encoding.write(buf);
            for p in &ns.payloads {
                p.write(buf);
            }
        }
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        1 + self.header.encode_size()
            + self.namespaces.len()
            + self
                .namespaces
                .iter()
                .flat_map(|n| n.payloads.iter())
                .map(EncodeSize::encode_size)
                .sum::<usize>()
    }
}

impl Read for Block {
    type Cfg = Limits;
    fn read_cfg(buf: &mut impl Buf, limits: &Limits) -> Result<Self, CodecError> {
        read_version(buf, "Block")?;
        let header = Header::read_cfg(buf, &limits.namespaces_per_block_max)?;
        let mut namespaces = Vec::with_capacity(header.table.len());
        let (mut txs, mut bytes) = (0usize, 0usize);
        for entry in header.table.entries() {
            if bool::read(buf)? {
                namespaces.push(NamespaceData::invalid(entry.namespace));
                continue;
            }
            let count = entry.tx_count as usize;
            txs = txs.saturating_add(count);
            if txs > limits.txs_per_block_max {
                return Err(CodecError::Invalid("Block", "too many transactions"));
            }
            let mut payloads = Vec::with_capacity(count);
            for _ in 0..count {
                let p = Bytes::read_cfg(buf, &RangeCfg::new(..=limits.tx_bytes_max))?;
                bytes += p.len();
                if bytes > limits.block_bytes_max {
                    return Err(CodecError::Invalid(
                        "Block",
                        "payload exceeds block_bytes_max",
                    ));
                }
                payloads.push(p);
            }
            namespaces.push(NamespaceData::new(entry.namespace, payloads));
        }
        Self::from_parts(header, namespaces, limits)
            .map_err(|_| CodecError::Invalid("Block", "table does not match data"))
    }
}

impl Block {
    /// Encodes to bytes (shorthand for [`Encode::encode`]).
    pub fn to_bytes(&self) -> Bytes {
        self.encode()
    }
}
