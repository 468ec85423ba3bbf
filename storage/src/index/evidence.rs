//! Invalid-encoding evidence as the index stores it.

use crate::Error;
use bytes::Bytes;
use commonware_codec::{Decode, Encode, RangeCfg, Read, ReadExt};
use cortado_coding::{InvalidEncodingEvidence, Params};
use cortado_types::{Block, FORMAT_VERSION, Height, Limits, Namespace, NamespaceEntry};

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
    pub(super) fn parse(
        bytes: Vec<u8>,
        entry: &NamespaceEntry,
        height: Height,
    ) -> Result<Self, Error> {
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
pub(super) fn evidence_rows(
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
