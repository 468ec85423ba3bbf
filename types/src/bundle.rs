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

use crate::{Error, FORMAT_VERSION, Hash, Limits, Namespace, Transaction, read_version};
use bytes::Bytes;
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, RangeCfg, Read, Write};
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

    /// The bundle's hash: its carrier's hash.
    pub fn hash(&self) -> Hash {
        self.carrier().hash()
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
        assert_eq!(b.hash(), carrier.hash());
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
