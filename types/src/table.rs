use crate::{Error, Hash, Namespace, merkle};
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt, Write,
};

/// Domain of the Merkle tree over namespace table entries (the payload commitment).
pub const DOMAIN_TABLE: &[u8] = b"_CORTADO_TABLE";

/// Domain of the Merkle tree over one namespace's transaction hashes (an entry's `tx_root`).
pub const DOMAIN_TXS: &[u8] = b"_CORTADO_TXS";

/// The Merkle leaf of a transaction in its namespace's transaction tree: the leaf hash of its
/// 32-byte transaction hash under [`DOMAIN_TXS`].
pub fn tx_leaf(tx_hash: &Hash) -> Hash {
    merkle::leaf_hash(DOMAIN_TXS, &tx_hash.0)
}

/// One namespace's line in a block's namespace table.
///
/// Encoding (84 bytes): `namespace (u64 BE) || tx_count (u32 BE) || byte_len (u64 BE) ||
/// commitment (32) || tx_root (32)`.
///
/// `tx_root` is the Merkle root (domain `_CORTADO_TXS`, see [`tx_leaf`]) over the namespace's
/// transaction hashes in block order, so one transaction is proven with an O(log n) path
/// instead of the whole namespace. Validators cannot check it before voting (they hold one
/// chunk); the bad-encoding rule does: whoever reconstructs the namespace recomputes it, and a
/// mismatch makes the namespace invalidly encoded, like a wrong commitment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NamespaceEntry {
    /// The namespace.
    pub namespace: Namespace,
    /// Number of transactions of this namespace in the block.
    pub tx_count: u32,
    /// Sum of the payload lengths of those transactions.
    pub byte_len: u64,
    /// Commitment to this namespace's data in the block.
    pub commitment: Hash,
    /// Merkle root over the namespace's transaction hashes, in block order.
    pub tx_root: Hash,
}

impl NamespaceEntry {
    /// The Merkle leaf hash of this entry.
    pub fn leaf(&self) -> Hash {
        merkle::leaf_hash(DOMAIN_TABLE, &self.encode())
    }
}

impl Write for NamespaceEntry {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.namespace.write(buf);
        self.tx_count.write(buf);
        self.byte_len.write(buf);
        self.commitment.write(buf);
        self.tx_root.write(buf);
    }
}

impl Read for NamespaceEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            namespace: Namespace::read(buf)?,
            tx_count: u32::read(buf)?,
            byte_len: u64::read(buf)?,
            commitment: Hash::read(buf)?,
            tx_root: Hash::read(buf)?,
        })
    }
}

impl FixedSize for NamespaceEntry {
    const SIZE: usize = 8 + 4 + 8 + 32 + 32;
}

/// A block's namespace table: one entry per namespace present, strictly ascending by id.
///
/// Its Merkle root (see [`crate::merkle`], domain `_CORTADO_TABLE`) is the block's payload
/// commitment. A sorted table lets a reader prove a namespace's absence from its two neighbours.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct NamespaceTable {
    entries: Vec<NamespaceEntry>,
}

impl NamespaceTable {
    /// Builds a table, checking that ids are strictly ascending.
    pub fn new(entries: Vec<NamespaceEntry>) -> Result<Self, Error> {
        for pair in entries.windows(2) {
            if pair[0].namespace >= pair[1].namespace {
                return Err(Error::TableNotSorted(pair[1].namespace));
            }
        }
        Ok(Self { entries })
    }

    /// The entries, ascending by namespace.
    pub fn entries(&self) -> &[NamespaceEntry] {
        &self.entries
    }

    /// Number of namespaces.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty (an empty block).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Position of `namespace`, or `Err(position it would be inserted at)`.
    pub fn find(&self, namespace: Namespace) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| e.namespace.cmp(&namespace))
    }

    /// The payload commitment: the Merkle root over the entries.
    pub fn root(&self) -> Hash {
        let leaves: Vec<Hash> = self.entries.iter().map(NamespaceEntry::leaf).collect();
        merkle::root(DOMAIN_TABLE, &leaves)
    }

    /// The Merkle path of entry `index` to [`Self::root`].
    pub fn proof(&self, index: usize) -> Vec<Hash> {
        let leaves: Vec<Hash> = self.entries.iter().map(NamespaceEntry::leaf).collect();
        merkle::proof(DOMAIN_TABLE, &leaves, index)
    }
}

impl Write for NamespaceTable {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.entries.write(buf);
    }
}

impl EncodeSize for NamespaceTable {
    fn encode_size(&self) -> usize {
        self.entries.encode_size()
    }
}

impl Read for NamespaceTable {
    /// Most entries accepted (`namespaces_per_block_max`).
    type Cfg = usize;
    fn read_cfg(buf: &mut impl Buf, max: &usize) -> Result<Self, CodecError> {
        let entries = Vec::<NamespaceEntry>::read_cfg(buf, &(RangeCfg::new(..=*max), ()))?;
        Self::new(entries)
            .map_err(|_| CodecError::Invalid("NamespaceTable", "namespaces not strictly ascending"))
    }
}
