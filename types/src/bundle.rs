//! Atomic bundles: transactions for several namespaces that are included in one block, all of
//! them, or not at all.
//!
//! A bundle travels through the mempool as one *carrier* transaction in the reserved namespace
//! [`BUNDLE_NAMESPACE`] whose payload is the encoded bundle, so that it is made durable,
//! gossiped, deduplicated and ordered as one unit. A proposer never puts the carrier in a block:
//! it expands it into its members, all together, when they all fit, and skips it otherwise.
//! The bundle's hash is its carrier's transaction hash.
//!
//! What is atomic is *inclusion*: the members land in the same block. What each rollup does
//! with its member (execution, and whether it fails) is that rollup's business; Cortado executes
//! nothing.
//!
//! Encoding of the carrier payload: `version (1) || varint count || count × Transaction`.
//! Encoding of the marker payload: `version (1) || varint count || count × 32-byte member
//! hash`, members in bundle order, no repeats.

use crate::{Error, FORMAT_VERSION, Hash, Limits, Namespace, Transaction, read_version};
use bytes::Bytes;
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, Write,
};
use std::collections::HashSet;

/// The namespace reserved for bundle carriers in the mempool; no transaction may be submitted
/// to it directly.
pub const BUNDLE_NAMESPACE: Namespace = Namespace(u64::MAX);

/// Most transactions in one bundle.
pub const BUNDLE_TXS_MAX: usize = 256;

/// Transactions that must be included together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    txs: Vec<Transaction>,
}

/// Why a bundle is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    /// No transactions.
    #[error("a bundle needs at least one transaction")]
    Empty,
    /// Too many transactions.
    #[error("a bundle holds at most {max} transactions; this one has {count}")]
    TooMany {
        /// Given.
        count: usize,
        /// [`BUNDLE_TXS_MAX`].
        max: usize,
    },
    /// A member is in the reserved namespace.
    #[error(
        "transaction {index} uses the reserved bundle namespace {}",
        BUNDLE_NAMESPACE
    )]
    ReservedNamespace {
        /// Position of the member.
        index: usize,
    },
    /// The same transaction twice.
    #[error("transaction {index} repeats an earlier one ({hash})")]
    Duplicate {
        /// Position of the repeat.
        index: usize,
        /// Its hash.
        hash: Hash,
    },
    /// A member or the whole bundle breaks a limit.
    #[error("{0}")]
    Limit(String),
    /// The carrier payload does not decode.
    #[error("malformed bundle: {0}")]
    Malformed(String),
}

impl Bundle {
    /// A bundle of `txs`, in order; checks the rules that need no limits.
    pub fn new(txs: Vec<Transaction>) -> Result<Self, BundleError> {
        if txs.is_empty() {
            return Err(BundleError::Empty);
        }
        if txs.len() > BUNDLE_TXS_MAX {
            return Err(BundleError::TooMany {
                count: txs.len(),
                max: BUNDLE_TXS_MAX,
            });
        }
        let mut seen = HashSet::with_capacity(txs.len());
        for (index, tx) in txs.iter().enumerate() {
            if tx.namespace == BUNDLE_NAMESPACE {
                return Err(BundleError::ReservedNamespace { index });
            }
            let hash = tx.hash();
            if !seen.insert(hash) {
                return Err(BundleError::Duplicate { index, hash });
            }
        }
        Ok(Self { txs })
    }

    /// The member transactions.
    pub fn transactions(&self) -> &[Transaction] {
        &self.txs
    }

    /// The members' hashes, in order.
    pub fn member_hashes(&self) -> Vec<Hash> {
        self.txs.iter().map(Transaction::hash).collect()
    }

    /// Sum of the members' payload bytes.
    pub fn payload_bytes(&self) -> usize {
        self.txs.iter().map(|t| t.payload.len()).sum()
    }

    /// Checks that the bundle can be carried (its encoding within `tx_bytes_max`) and fits one
    /// block under `limits`.
    pub fn check(&self, limits: &Limits) -> Result<(), BundleError> {
        for (index, tx) in self.txs.iter().enumerate() {
            tx.check(limits.tx_bytes_max)
                .map_err(|e: Error| BundleError::Limit(format!("transaction {index}: {e}")))?;
        }
        if self.txs.len() > limits.txs_per_block_max {
            return Err(BundleError::Limit(format!(
                "{} transactions; a block holds at most {} (txs_per_block_max)",
                self.txs.len(),
                limits.txs_per_block_max
            )));
        }
        let bytes = self.payload_bytes();
        if bytes > limits.block_bytes_max {
            return Err(BundleError::Limit(format!(
                "{bytes} payload bytes; a block holds at most {} (block_bytes_max)",
                limits.block_bytes_max
            )));
        }
        let namespaces: HashSet<Namespace> = self.txs.iter().map(|t| t.namespace).collect();
        if namespaces.len() > limits.namespaces_per_block_max {
            return Err(BundleError::Limit(format!(
                "{} namespaces; a block holds at most {} (namespaces_per_block_max)",
                namespaces.len(),
                limits.namespaces_per_block_max
            )));
        }
        // The marker travels in the same block: one more transaction, namespace and payload.
        let marker = self.marker_size();
        if marker > limits.tx_bytes_max {
            return Err(BundleError::Limit(format!(
                "the bundle's marker lists {} members in {marker} bytes; a transaction holds at most {} (tx_bytes_max)",
                self.txs.len(),
                limits.tx_bytes_max
            )));
        }
        if self.txs.len() + 1 > limits.txs_per_block_max {
            return Err(BundleError::Limit(format!(
                "{} transactions and the bundle's marker; a block holds at most {} (txs_per_block_max)",
                self.txs.len(),
                limits.txs_per_block_max
            )));
        }
        if bytes + marker > limits.block_bytes_max {
            return Err(BundleError::Limit(format!(
                "{bytes} payload bytes and a {marker}-byte marker; a block holds at most {} (block_bytes_max)",
                limits.block_bytes_max
            )));
        }
        if namespaces.len() + 1 > limits.namespaces_per_block_max {
            return Err(BundleError::Limit(format!(
                "{} namespaces and the bundle namespace; a block holds at most {} (namespaces_per_block_max)",
                namespaces.len(),
                limits.namespaces_per_block_max
            )));
        }
        let carried = self.encode_size();
        if carried > limits.tx_bytes_max {
            return Err(BundleError::Limit(format!(
                "the bundle encodes to {carried} bytes; a bundle travels as one unit of at most {} bytes (tx_bytes_max)",
                limits.tx_bytes_max
            )));
        }
        Ok(())
    }

    /// The carrier transaction.
    pub fn carrier(&self) -> Transaction {
        Transaction::new(BUNDLE_NAMESPACE, Bytes::from(self.encode().to_vec()))
    }

    /// The marker a proposer puts in the block with the members.
    pub fn marker(&self) -> Transaction {
        Marker {
            members: self.member_hashes(),
        }
        .transaction()
    }

    /// Payload bytes of [`Self::marker`].
    pub fn marker_size(&self) -> usize {
        1 + self.txs.len().encode_size() + self.txs.len() * Hash::SIZE
    }

    /// The bundle's hash: its marker's transaction hash.
    pub fn hash(&self) -> Hash {
        self.marker().hash()
    }

    /// The bundle a carrier transaction carries; members at most `tx_bytes_max` each.
    pub fn from_carrier(tx: &Transaction, tx_bytes_max: usize) -> Result<Self, BundleError> {
        if tx.namespace != BUNDLE_NAMESPACE {
            return Err(BundleError::Malformed(format!(
                "a carrier is in namespace {BUNDLE_NAMESPACE}, not {}",
                tx.namespace
            )));
        }
        let mut buf = tx.payload.clone();
        let bundle = Self::read_cfg(&mut buf, &tx_bytes_max)
            .map_err(|e| BundleError::Malformed(e.to_string()))?;
        if !buf.is_empty() {
            return Err(BundleError::Malformed("trailing bytes".into()));
        }
        Self::new(bundle.txs)
    }
}

/// A bundle's marker, as found in a finalized block: the members' hashes, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    members: Vec<Hash>,
}

impl Marker {
    /// The marker of a bundle whose members hash to `members` (from [`Bundle::member_hashes`]).
    pub fn new(members: Vec<Hash>) -> Self {
        Self { members }
    }

    /// The member hashes, in bundle order.
    pub fn members(&self) -> &[Hash] {
        &self.members
    }

    /// The marker transaction (in [`BUNDLE_NAMESPACE`]); its hash is the bundle's hash.
    pub fn transaction(&self) -> Transaction {
        let mut payload = Vec::with_capacity(1 + 2 + self.members.len() * Hash::SIZE);
        FORMAT_VERSION.write(&mut payload);
        self.members.write(&mut payload);
        Transaction::new(BUNDLE_NAMESPACE, Bytes::from(payload))
    }

    /// Decodes a marker payload (a transaction of [`BUNDLE_NAMESPACE`] in a block): the
    /// version, 1 to [`BUNDLE_TXS_MAX`] members, no repeats, nothing after.
    pub fn decode(payload: &Bytes) -> Result<Self, BundleError> {
        let mut buf = payload.clone();
        read_version(&mut buf, "Marker").map_err(|e| BundleError::Malformed(e.to_string()))?;
        let members = Vec::<Hash>::read_cfg(&mut buf, &(RangeCfg::new(1..=BUNDLE_TXS_MAX), ()))
            .map_err(|e| BundleError::Malformed(e.to_string()))?;
        if !buf.is_empty() {
            return Err(BundleError::Malformed(
                "trailing bytes after the marker".into(),
            ));
        }
        let mut seen = HashSet::with_capacity(members.len());
        for (index, hash) in members.iter().enumerate() {
            if !seen.insert(*hash) {
                return Err(BundleError::Duplicate { index, hash: *hash });
            }
        }
        Ok(Self { members })
    }
}

impl Write for Bundle {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.txs.write(buf);
    }
}

impl EncodeSize for Bundle {
    fn encode_size(&self) -> usize {
        1 + self.txs.encode_size()
    }
}

impl Read for Bundle {
    /// Largest member payload.
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, tx_bytes_max: &usize) -> Result<Self, CodecError> {
        read_version(buf, "Bundle")?;
        let txs =
            Vec::<Transaction>::read_cfg(buf, &(RangeCfg::new(1..=BUNDLE_TXS_MAX), *tx_bytes_max))?;
        Ok(Self { txs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(ns: u64, payload: &[u8]) -> Transaction {
        Transaction::new(ns, Bytes::copy_from_slice(payload))
    }

    #[test]
    fn carrier_round_trip_and_rules() {
        let b = Bundle::new(vec![tx(1, b"a"), tx(2, b"b")]).unwrap();
        let carrier = b.carrier();
        assert_eq!(carrier.namespace, BUNDLE_NAMESPACE);
        assert_eq!(Bundle::from_carrier(&carrier, 1024), Ok(b.clone()));
        assert_eq!(b.hash(), b.marker().hash());
        assert_ne!(b.hash(), carrier.hash());
        let marker = b.marker();
        assert_eq!(marker.namespace, BUNDLE_NAMESPACE);
        assert_eq!(marker.payload.len(), b.marker_size());
        assert_eq!(
            Marker::decode(&marker.payload).unwrap().members(),
            b.member_hashes().as_slice()
        );
        // Malformed markers: empty, repeating, trailing bytes, wrong version.
        assert!(Marker::decode(&Bytes::from_static(&[FORMAT_VERSION, 0])).is_err());
        let h = b.member_hashes()[0];
        let mut twice = vec![FORMAT_VERSION, 2];
        twice.extend_from_slice(h.as_bytes());
        twice.extend_from_slice(h.as_bytes());
        assert!(matches!(
            Marker::decode(&Bytes::from(twice)),
            Err(BundleError::Duplicate { index: 1, .. })
        ));
        let mut trailing = marker.payload.to_vec();
        trailing.push(0);
        assert!(Marker::decode(&Bytes::from(trailing)).is_err());
        let mut version = marker.payload.to_vec();
        version[0] ^= 0xff;
        assert!(Marker::decode(&Bytes::from(version)).is_err());
        assert_eq!(b.check(&Limits::default()), Ok(()));
        assert_eq!(Bundle::new(vec![]), Err(BundleError::Empty));
        assert!(matches!(
            Bundle::new(vec![tx(1, b"a"), tx(1, b"a")]),
            Err(BundleError::Duplicate { index: 1, .. })
        ));
        assert_eq!(
            Bundle::new(vec![tx(u64::MAX, b"a")]),
            Err(BundleError::ReservedNamespace { index: 0 })
        );
        // A member above the limit, a bundle above a block.
        let small = Limits {
            tx_bytes_max: 8,
            block_bytes_max: 10,
            ..Limits::default()
        };
        let big = Bundle::new(vec![tx(1, &[0; 9])]).unwrap();
        assert!(
            matches!(big.check(&small), Err(BundleError::Limit(m)) if m.contains("transaction 0"))
        );
        let over = Bundle::new(vec![tx(1, &[0; 6]), tx(2, &[0; 6])]).unwrap();
        assert!(
            matches!(over.check(&small), Err(BundleError::Limit(m)) if m.contains("block_bytes_max"))
        );
        // The marker counts: a block of two transactions cannot hold two members and it.
        let two = Limits {
            txs_per_block_max: 2,
            namespaces_per_block_max: 2,
            ..Limits::default()
        };
        assert!(
            matches!(b.check(&two), Err(BundleError::Limit(m)) if m.contains("marker") && m.contains("txs_per_block_max"))
        );
        let narrow = Limits {
            tx_bytes_max: 40,
            ..Limits::default()
        };
        assert!(
            matches!(b.check(&narrow), Err(BundleError::Limit(m)) if m.contains("marker lists 2 members"))
        );
        // Malformed carriers.
        let junk = Transaction::new(BUNDLE_NAMESPACE, Bytes::from_static(b"\x01\x00"));
        assert!(matches!(
            Bundle::from_carrier(&junk, 1024),
            Err(BundleError::Malformed(_))
        ));
        assert!(matches!(
            Bundle::from_carrier(&tx(3, b"x"), 1024),
            Err(BundleError::Malformed(_))
        ));
        // Members above the decoder's bound are refused.
        let wide = Bundle::new(vec![tx(1, &[0; 100])]).unwrap().carrier();
        assert!(matches!(
            Bundle::from_carrier(&wide, 50),
            Err(BundleError::Malformed(_))
        ));
    }
}
