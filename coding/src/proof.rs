//! Namespace proofs: a namespace's entry in a header's table (presence), its neighbours
//! (absence), and the check that a list of payloads is exactly a namespace's transactions.

use crate::{
    Params,
    encode::commitment_of,
    params::tree_height,
    share::{path_encode_size, read_version},
    tree::Tree,
};
use bytes::Bytes;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};
use cortado_types::{
    FORMAT_VERSION, Hash, Header, Namespace, NamespaceData, NamespaceEntry, merkle,
};

/// Merkle domain of the namespace table (`cortado_types`' `DOMAIN_TABLE`, which that crate does
/// not re-export; a test pins the equality).
pub(crate) const DOMAIN_TABLE: &[u8] = b"_CORTADO_TABLE";

/// Proof that a namespace entry is in a header's table (for reading one namespace).
///
/// Encoding: `version (1 byte, FORMAT_VERSION) || body`, where body is `entry (84 bytes) ||
/// position (u32 BE) || table_len (u32 BE) || path length (varint) || path hashes (32 bytes
/// each)`. Codec config: `namespaces_per_block_max`; a decoder requires `table_len ≤` it,
/// `position < table_len` and at most `ceil(log2(table_len))` hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceProof {
    /// The entry.
    pub entry: NamespaceEntry,
    /// Its position in the table.
    pub position: u32,
    /// Entries in the table.
    pub table_len: u32,
    /// Audit path to the payload commitment.
    pub path: Vec<Hash>,
}

impl NamespaceProof {
    fn write_body(&self, buf: &mut impl bytes::BufMut) {
        self.entry.write(buf);
        self.position.write(buf);
        self.table_len.write(buf);
        self.path.write(buf);
    }

    fn body_size(&self) -> usize {
        self.entry.encode_size() + 4 + 4 + path_encode_size(self.path.len())
    }

    fn read_body(buf: &mut impl Buf, namespaces_max: usize) -> Result<Self, CodecError> {
        let entry = NamespaceEntry::read(buf)?;
        let position = u32::read(buf)?;
        let table_len = u32::read(buf)?;
        if table_len as usize > namespaces_max {
            return Err(CodecError::Invalid(
                "NamespaceProof",
                "table longer than namespaces_per_block_max",
            ));
        }
        if position >= table_len {
            return Err(CodecError::Invalid(
                "NamespaceProof",
                "position beyond the table",
            ));
        }
        let path = Vec::<Hash>::read_cfg(
            buf,
            &(RangeCfg::new(..=tree_height(table_len as usize)), ()),
        )?;
        Ok(Self {
            entry,
            position,
            table_len,
            path,
        })
    }
}

impl Write for NamespaceProof {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.write_body(buf);
    }
}

impl EncodeSize for NamespaceProof {
    fn encode_size(&self) -> usize {
        1 + self.body_size()
    }
}

impl Read for NamespaceProof {
    /// `namespaces_per_block_max`.
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, namespaces_max: &usize) -> Result<Self, CodecError> {
        read_version(buf, "NamespaceProof")?;
        Self::read_body(buf, *namespaces_max)
    }
}

/// Proof that a namespace is absent from a block: the neighbouring entries (the table is sorted).
///
/// Encoding: `version (1 byte, FORMAT_VERSION) || below || above || table_len (u32 BE)`, where
/// `below` and `above` are each `0x00` (none) or `0x01 || NamespaceProof body` (no version
/// byte). Codec config: `namespaces_per_block_max`, as for [`NamespaceProof`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbsenceProof {
    /// The entry just below, if any.
    pub below: Option<NamespaceProof>,
    /// The entry just above, if any.
    pub above: Option<NamespaceProof>,
    /// Entries in the table (to prove an empty table, or that `below` is last / `above` first).
    pub table_len: u32,
}

fn write_neighbour(proof: &Option<NamespaceProof>, buf: &mut impl bytes::BufMut) {
    proof.is_some().write(buf);
    if let Some(proof) = proof {
        proof.write_body(buf);
    }
}

fn read_neighbour(
    buf: &mut impl Buf,
    namespaces_max: usize,
) -> Result<Option<NamespaceProof>, CodecError> {
    if bool::read(buf)? {
        Ok(Some(NamespaceProof::read_body(buf, namespaces_max)?))
    } else {
        Ok(None)
    }
}

impl Write for AbsenceProof {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        write_neighbour(&self.below, buf);
        write_neighbour(&self.above, buf);
        self.table_len.write(buf);
    }
}

impl EncodeSize for AbsenceProof {
    fn encode_size(&self) -> usize {
        let neighbour = |p: &Option<NamespaceProof>| 1 + p.as_ref().map_or(0, |p| p.body_size());
        1 + neighbour(&self.below) + neighbour(&self.above) + 4
    }
}

impl Read for AbsenceProof {
    /// `namespaces_per_block_max`.
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, namespaces_max: &usize) -> Result<Self, CodecError> {
        read_version(buf, "AbsenceProof")?;
        let below = read_neighbour(buf, *namespaces_max)?;
        let above = read_neighbour(buf, *namespaces_max)?;
        let table_len = u32::read(buf)?;
        if table_len as usize > *namespaces_max {
            return Err(CodecError::Invalid(
                "AbsenceProof",
                "table longer than namespaces_per_block_max",
            ));
        }
        Ok(Self {
            below,
            above,
            table_len,
        })
    }
}

/// Why a namespace read does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// Human-readable reason (precise: which check failed).
    #[error("{0}")]
    Invalid(String),
}

fn invalid(reason: impl Into<String>) -> ProofError {
    ProofError::Invalid(reason.into())
}

/// Proves the presence (Ok) or absence (Err) of a namespace in a header's table.
// `Err` is not a failure here but the absence proof, as large as two presence proofs.
#[allow(clippy::result_large_err)]
pub fn prove_namespace(
    header: &Header,
    namespace: Namespace,
) -> Result<NamespaceProof, AbsenceProof> {
    let entries = header.table.entries();
    let table_len = u32::try_from(entries.len()).expect("table length bounded by the limits");
    let tree = Tree::new(
        DOMAIN_TABLE,
        entries.iter().map(NamespaceEntry::leaf).collect(),
    );
    let prove = |position: usize| NamespaceProof {
        entry: entries[position],
        position: position as u32,
        table_len,
        path: tree.path(position),
    };
    match header.table.find(namespace) {
        Ok(position) => Ok(prove(position)),
        Err(insert) => Err(AbsenceProof {
            below: insert.checked_sub(1).map(prove),
            above: (insert < entries.len()).then(|| prove(insert)),
            table_len,
        }),
    }
}

/// Checks that `proof`'s entry sits at its position of the header's table: the table length is
/// the header's, the position is inside it and the path leads to the payload commitment.
///
/// The table length is checked against the header's table (part of the header hash) because an
/// RFC-6962 path does not bind the tree size on its own: leaf 0 of 4 leaves also verifies as
/// leaf 0 of 3.
fn check_entry(header: &Header, proof: &NamespaceProof) -> Result<(), ProofError> {
    if proof.table_len as usize != header.table.len() {
        return Err(invalid(format!(
            "proof is for a table of {} entries; the header's has {}",
            proof.table_len,
            header.table.len()
        )));
    }
    if proof.position >= proof.table_len {
        return Err(invalid(format!(
            "position {} is outside the table of {} entries",
            proof.position, proof.table_len
        )));
    }
    if !merkle::verify(
        DOMAIN_TABLE,
        &header.payload_commitment,
        proof.entry.leaf(),
        proof.position as usize,
        proof.table_len as usize,
        &proof.path,
    ) {
        return Err(invalid(format!(
            "the entry of namespace {} at position {} does not verify against the payload commitment",
            proof.entry.namespace, proof.position
        )));
    }
    Ok(())
}

/// Verifies a namespace read: `payloads` are exactly the namespace's transactions in `header`
/// (re-encode → commitment, entry counts, path → payload commitment).
///
/// A namespace marked invalidly encoded never verifies here (its payloads are empty and do not
/// re-encode to the commitment): check its [`crate::InvalidEncodingEvidence`] instead.
/// Panics if the parameters are invalid (configuration).
pub fn verify_namespace(
    params: Params,
    header: &Header,
    namespace: Namespace,
    payloads: &[Bytes],
    proof: &NamespaceProof,
) -> Result<(), ProofError> {
    params.assert_valid();
    let entry = &proof.entry;
    if entry.namespace != namespace {
        return Err(invalid(format!(
            "proof is for namespace {}, not {namespace}",
            entry.namespace
        )));
    }
    check_entry(header, proof)?;
    if payloads.len() != entry.tx_count as usize {
        return Err(invalid(format!(
            "{} transactions given; namespace {namespace} has {}",
            payloads.len(),
            entry.tx_count
        )));
    }
    let byte_len: u64 = payloads.iter().map(|p| p.len() as u64).sum();
    if byte_len != entry.byte_len {
        return Err(invalid(format!(
            "{byte_len} payload bytes given; namespace {namespace} has {}",
            entry.byte_len
        )));
    }
    let data = NamespaceData::new(namespace, payloads.to_vec());
    if data.entry(entry.commitment).tx_root != entry.tx_root {
        return Err(invalid(format!(
            "the payloads' transaction hashes do not form namespace {namespace}'s tx_root (omitted, extra, altered or reordered transactions, or an invalidly encoded namespace)"
        )));
    }
    match commitment_of(params, &data) {
        Some(commitment) if commitment == entry.commitment => Ok(()),
        _ => Err(invalid(format!(
            "the payloads do not re-encode to namespace {namespace}'s commitment (omitted, extra, altered or reordered transactions)"
        ))),
    }
}

/// Verifies that `namespace` is absent from `header`.
///
/// An empty table is proven by `table_len == 0`, no neighbours and the empty tree's root as
/// payload commitment. Otherwise each neighbour given must verify (see [`NamespaceProof`]);
/// `below` must hold a smaller namespace and `above` a larger one; with both, their positions
/// are adjacent; with only `below`, it is the last entry; with only `above`, the first.
pub fn verify_absence(
    header: &Header,
    namespace: Namespace,
    proof: &AbsenceProof,
) -> Result<(), ProofError> {
    if proof.table_len as usize != header.table.len() {
        return Err(invalid(format!(
            "proof is for a table of {} entries; the header's has {}",
            proof.table_len,
            header.table.len()
        )));
    }
    if proof.table_len == 0 {
        if proof.below.is_some() || proof.above.is_some() {
            return Err(invalid("an empty table has no neighbours"));
        }
        if header.payload_commitment != merkle::root(DOMAIN_TABLE, &[]) {
            return Err(invalid(
                "the payload commitment is not the empty table's root",
            ));
        }
        return Ok(());
    }
    for neighbour in [&proof.below, &proof.above].into_iter().flatten() {
        check_entry(header, neighbour)?;
    }
    if let Some(below) = &proof.below
        && below.entry.namespace >= namespace
    {
        return Err(invalid(format!(
            "the entry below is namespace {}, not below {namespace}",
            below.entry.namespace
        )));
    }
    if let Some(above) = &proof.above
        && above.entry.namespace <= namespace
    {
        return Err(invalid(format!(
            "the entry above is namespace {}, not above {namespace}",
            above.entry.namespace
        )));
    }
    match (&proof.below, &proof.above) {
        (None, None) => Err(invalid(
            "a non-empty table needs a neighbour to prove absence",
        )),
        (Some(below), Some(above)) if above.position != below.position + 1 => {
            Err(invalid(format!(
                "neighbours at positions {} and {} are not adjacent",
                below.position, above.position
            )))
        }
        (Some(below), None) if below.position + 1 != proof.table_len => Err(invalid(format!(
            "no entry above, but the entry below is at position {} of {}",
            below.position, proof.table_len
        ))),
        (None, Some(above)) if above.position != 0 => Err(invalid(format!(
            "no entry below, but the entry above is at position {}",
            above.position
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cortado_types::NamespaceTable;

    fn table(n: u64) -> NamespaceTable {
        NamespaceTable::new(
            (0..n)
                .map(|i| NamespaceEntry {
                    namespace: Namespace(i * 3),
                    tx_count: 1,
                    byte_len: i,
                    commitment: Hash([i as u8; 32]),
                    tx_root: Hash([i as u8 + 1; 32]),
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn table_domain_matches_types() {
        for n in [0, 1, 2, 5, 33] {
            let t = table(n);
            let leaves: Vec<Hash> = t.entries().iter().map(NamespaceEntry::leaf).collect();
            assert_eq!(merkle::root(DOMAIN_TABLE, &leaves), t.root());
            let tree = Tree::new(DOMAIN_TABLE, leaves);
            for i in 0..n as usize {
                assert_eq!(tree.path(i), t.proof(i));
            }
        }
    }
}
