use crate::{Error, FORMAT_VERSION, Hash, Namespace, hash::DOMAIN_TRANSACTION, read_version};
use bytes::Bytes;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};

/// A transaction: opaque bytes posted to one namespace.
///
/// Canonical encoding: `version (1) || namespace (u64, big-endian) || payload length (varint) ||
/// payload`. Its hash is `SHA-256("_CORTADO_TX" || encoding)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Transaction {
    /// The namespace it is posted to.
    pub namespace: Namespace,
    /// The opaque payload.
    pub payload: Bytes,
}

impl Transaction {
    /// Creates a transaction.
    pub fn new(namespace: impl Into<Namespace>, payload: impl Into<Bytes>) -> Self {
        Self {
            namespace: namespace.into(),
            payload: payload.into(),
        }
    }

    /// The transaction hash.
    pub fn hash(&self) -> Hash {
        Self::hash_parts(self.namespace, &self.payload)
    }

    /// The hash of the transaction `(namespace, payload)` without building one.
    pub fn hash_parts(namespace: Namespace, payload: &[u8]) -> Hash {
        let mut prefix = Vec::with_capacity(1 + 8 + 5);
        FORMAT_VERSION.write(&mut prefix);
        namespace.write(&mut prefix);
        payload.len().write(&mut prefix);
        Hash::digest(DOMAIN_TRANSACTION, &[&prefix, payload])
    }

    /// Checks the payload against `tx_bytes_max`.
    pub fn check(&self, tx_bytes_max: usize) -> Result<(), Error> {
        if self.payload.len() > tx_bytes_max {
            return Err(Error::TransactionTooLarge {
                size: self.payload.len(),
                limit: tx_bytes_max,
            });
        }
        Ok(())
    }
}

impl Write for Transaction {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.namespace.write(buf);
        self.payload.write(buf);
    }
}

impl EncodeSize for Transaction {
    fn encode_size(&self) -> usize {
        1 + self.namespace.encode_size() + self.payload.encode_size()
    }
}

impl Read for Transaction {
    /// The largest payload accepted (`tx_bytes_max`).
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, tx_bytes_max: &usize) -> Result<Self, CodecError> {
        read_version(buf, "Transaction")?;
        let namespace = Namespace::read(buf)?;
        let payload = Bytes::read_cfg(buf, &RangeCfg::new(..=*tx_bytes_max))?;
        Ok(Self { namespace, payload })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode, Encode};

    #[test]
    fn hash_matches_encoding() {
        let tx = Transaction::new(42, &b"hello"[..]);
        let enc = tx.encode();
        assert_eq!(tx.hash(), Hash::digest(DOMAIN_TRANSACTION, &[&enc]));
        let back = Transaction::decode_cfg(enc, &16).unwrap();
        assert_eq!(back, tx);
    }

    #[test]
    fn oversize_rejected_by_decoder_and_check() {
        let tx = Transaction::new(1, vec![0u8; 17]);
        assert!(Transaction::decode_cfg(tx.encode(), &16).is_err());
        assert_eq!(
            tx.check(16),
            Err(Error::TransactionTooLarge {
                size: 17,
                limit: 16
            })
        );
    }
}
