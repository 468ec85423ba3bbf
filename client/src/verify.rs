//! The checks: certificates, headers, namespace content, absence, invalid encodings and header
//! history, each failing with a precise [`VerifyError`].

use crate::Trust;
use bytes::Bytes;
use commonware_codec::{Decode, DecodeExt, Encode, EncodeSize, Write};
use commonware_cryptography::bls12381::primitives::{
    ops,
    variant::{MinSig, Variant},
};
use cortado_coding::{AbsenceProof, InvalidEncodingEvidence, NamespaceProof, TransactionProof};
use cortado_types::{
    ChainId, FinalityCertificate, Hash, Header, Namespace,
    history::{self, HistoryError, HistoryProof},
};

/// Base of the consensus signing namespace: `"_CORTADO_CONSENSUS" || chain_id (u64 BE)`.
pub const CONSENSUS_DOMAIN: &[u8] = b"_CORTADO_CONSENSUS";

/// Suffix simplex appends to the consensus namespace for finalize votes and certificates.
pub const FINALIZE_SUFFIX: &[u8] = b"_FINALIZE";

/// Why something does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The header bytes do not decode.
    #[error("header does not decode: {0}")]
    HeaderDecode(String),
    /// The certificate bytes do not decode.
    #[error("certificate does not decode: {0}")]
    CertificateDecode(String),
    /// A proof or evidence does not decode.
    #[error("{what} does not decode: {reason}")]
    ProofDecode {
        /// Which proof.
        what: &'static str,
        /// The codec's reason.
        reason: String,
    },
    /// The header is from another chain.
    #[error("header is for chain {got}; this client trusts chain {expected}")]
    WrongChain {
        /// The header's chain id.
        got: u64,
        /// The pinned chain id.
        expected: u64,
    },
    /// The certificate finalizes another block (the given header's own certificate is
    /// needed, or a history proof from a later certified header).
    #[error("certificate is for block {certified}, not for header {header} (height {height})")]
    CertificateForAnotherHeader {
        /// The block the certificate names.
        certified: Hash,
        /// The header's hash.
        header: Hash,
        /// The header's height.
        height: u64,
    },
    /// The certificate's view or parent view disagree with the header's.
    #[error(
        "certificate is for view {cert_view} (parent {cert_parent}); the header says {view} (parent {parent})"
    )]
    CertificateViewMismatch {
        /// Certificate's view.
        cert_view: u64,
        /// Certificate's parent view.
        cert_parent: u64,
        /// Header's view.
        view: u64,
        /// Header's parent view.
        parent: u64,
    },
    /// The signature does not verify against the group public key.
    #[error("certificate signature is invalid for this chain's group public key")]
    BadSignature,
    /// A namespace proof or the transactions do not match the header.
    #[error("namespace {namespace}: {reason}")]
    Namespace {
        /// The namespace.
        namespace: Namespace,
        /// What failed (e.g. the commitment recomputed from the transactions differs).
        reason: String,
    },
    /// The proof is about another namespace than the one asked for.
    #[error("proof is about namespace {got}, not {expected}")]
    WrongNamespace {
        /// Proven.
        got: Namespace,
        /// Asked.
        expected: Namespace,
    },
    /// Invalid-encoding evidence does not prove an invalid encoding of the namespace's entry.
    #[error("invalid-encoding evidence for namespace {namespace}: {reason}")]
    Evidence {
        /// The namespace.
        namespace: Namespace,
        /// What failed.
        reason: String,
    },
    /// A history proof fails.
    #[error("history proof: {0}")]
    History(#[from] HistoryError),
    /// The light client has no verified header yet to prove an older one against.
    #[error("no header verified yet: accept a certified header first")]
    NoLatest,
    /// A header offered as newer is not.
    #[error("header {got} is not above the latest verified header {latest}")]
    NotNewer {
        /// The offered height.
        got: u64,
        /// The latest verified height.
        latest: u64,
    },
}

/// A header proven final: by its own certificate, or through the history of a later header
/// proven by its own certificate. Only the functions of this crate make one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedHeader {
    header: Header,
    proof: Finality,
}

/// How a [`VerifiedHeader`] was proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finality {
    /// Its own finality certificate.
    Certificate(FinalityCertificate),
    /// Inclusion in the history of the later header at this height, itself certified.
    History {
        /// The later header's height.
        against: u64,
    },
}

impl VerifiedHeader {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Its height.
    pub fn height(&self) -> u64 {
        self.header.height
    }

    /// How it was proven.
    pub fn finality(&self) -> &Finality {
        &self.proof
    }

    /// Its own certificate, if it was proven by one.
    pub fn certificate(&self) -> Option<&FinalityCertificate> {
        match &self.proof {
            Finality::Certificate(c) => Some(c),
            Finality::History { .. } => None,
        }
    }
}

/// The namespace simplex signs finalizations under for `chain_id`:
/// `"_CORTADO_CONSENSUS" || chain_id (u64 BE) || "_FINALIZE"`.
pub fn finalize_namespace(chain_id: ChainId) -> Vec<u8> {
    let mut ns = CONSENSUS_DOMAIN.to_vec();
    ns.extend_from_slice(&chain_id.0.to_be_bytes());
    ns.extend_from_slice(FINALIZE_SUFFIX);
    ns
}

/// The message a finality certificate signs: simplex's encoded proposal,
/// `varint epoch || varint view || varint parent_view || block hash (32)`.
pub fn finalize_message(cert: &FinalityCertificate) -> Vec<u8> {
    let parts = [
        commonware_codec::varint::UInt(cert.epoch),
        commonware_codec::varint::UInt(cert.view),
        commonware_codec::varint::UInt(cert.parent_view),
    ];
    let mut out = Vec::with_capacity(parts.iter().map(EncodeSize::encode_size).sum::<usize>() + 32);
    for p in &parts {
        p.write(&mut out);
    }
    out.extend_from_slice(&cert.block.0);
    out
}

/// Decodes a header (bounded by the trusted limits) and checks its chain id.
pub fn decode_header(trust: &Trust, bytes: &[u8]) -> Result<Header, VerifyError> {
    let header = Header::decode_cfg(bytes.to_vec(), &trust.limits.namespaces_per_block_max)
        .map_err(|e| VerifyError::HeaderDecode(e.to_string()))?;
    if header.chain_id != trust.chain_id {
        return Err(VerifyError::WrongChain {
            got: header.chain_id.0,
            expected: trust.chain_id.0,
        });
    }
    Ok(header)
}

/// Decodes a certificate.
pub fn decode_certificate(bytes: &[u8]) -> Result<FinalityCertificate, VerifyError> {
    FinalityCertificate::decode(bytes.to_vec())
        .map_err(|e| VerifyError::CertificateDecode(e.to_string()))
}

/// Checks that `cert` is a valid finality certificate of this chain, for any block.
pub fn verify_signature(trust: &Trust, cert: &FinalityCertificate) -> Result<(), VerifyError> {
    let signature = <MinSig as Variant>::Signature::decode(cert.signature.to_vec())
        .map_err(|_| VerifyError::BadSignature)?;
    ops::verify_message::<MinSig>(
        &trust.group_public_key,
        &finalize_namespace(trust.chain_id),
        &finalize_message(cert),
        &signature,
    )
    .map_err(|_| VerifyError::BadSignature)
}

/// Checks that `cert` finalizes `header` on this chain.
pub fn verify_certificate(
    trust: &Trust,
    header: &Header,
    cert: &FinalityCertificate,
) -> Result<(), VerifyError> {
    if header.chain_id != trust.chain_id {
        return Err(VerifyError::WrongChain {
            got: header.chain_id.0,
            expected: trust.chain_id.0,
        });
    }
    let hash = header.hash();
    if cert.block != hash {
        return Err(VerifyError::CertificateForAnotherHeader {
            certified: cert.block,
            header: hash,
            height: header.height,
        });
    }
    if cert.view != header.view
        || cert.parent_view != header.parent_view
        || cert.epoch != header.epoch
    {
        return Err(VerifyError::CertificateViewMismatch {
            cert_view: cert.view,
            cert_parent: cert.parent_view,
            view: header.view,
            parent: header.parent_view,
        });
    }
    verify_signature(trust, cert)
}

/// Decodes a header and its certificate and checks that the certificate finalizes it.
pub fn verify_header(
    trust: &Trust,
    header_bytes: &[u8],
    certificate_bytes: &[u8],
) -> Result<VerifiedHeader, VerifyError> {
    let header = decode_header(trust, header_bytes)?;
    let cert = decode_certificate(certificate_bytes)?;
    verify_certificate(trust, &header, &cert)?;
    Ok(VerifiedHeader {
        header,
        proof: Finality::Certificate(cert),
    })
}

/// Proves the header `old_header_bytes` through the history accumulator of the verified
/// `later` header, with `proof_bytes` (an encoded `HistoryProof` against `later`'s height).
pub fn verify_history(
    trust: &Trust,
    later: &VerifiedHeader,
    old_header_bytes: &[u8],
    proof_bytes: &[u8],
) -> Result<VerifiedHeader, VerifyError> {
    let old = decode_header(trust, old_header_bytes)?;
    let proof =
        HistoryProof::decode(proof_bytes.to_vec()).map_err(|e| VerifyError::ProofDecode {
            what: "history proof",
            reason: e.to_string(),
        })?;
    if proof.leaf != old.height {
        return Err(VerifyError::History(HistoryError::WrongHeights {
            leaf: proof.leaf,
            count: proof.count,
            expected_leaf: old.height,
            expected_count: later.height(),
        }));
    }
    history::verify(&later.header.history, later.height(), old.hash(), &proof)?;
    Ok(VerifiedHeader {
        header: old,
        proof: Finality::History {
            against: later.height(),
        },
    })
}

fn decode_inclusion(trust: &Trust, bytes: &[u8]) -> Result<NamespaceProof, VerifyError> {
    NamespaceProof::decode_cfg(bytes.to_vec(), &trust.limits.namespaces_per_block_max).map_err(
        |e| VerifyError::ProofDecode {
            what: "namespace proof",
            reason: e.to_string(),
        },
    )
}

/// Checks that `payloads`, in order, are exactly namespace `namespace`'s transactions in the
/// verified header's block, by the namespace proof `proof_bytes` (an encoded
/// `NamespaceProof`): the entry is in the header's table, and the commitment recomputed from
/// the payloads is the entry's. Any altered, missing, extra or reordered payload fails.
pub fn verify_namespace(
    trust: &Trust,
    header: &VerifiedHeader,
    namespace: Namespace,
    proof_bytes: &[u8],
    payloads: &[Bytes],
) -> Result<(), VerifyError> {
    let proof = decode_inclusion(trust, proof_bytes)?;
    if proof.entry.namespace != namespace {
        return Err(VerifyError::WrongNamespace {
            got: proof.entry.namespace,
            expected: namespace,
        });
    }
    cortado_coding::verify_namespace(trust.params(), &header.header, namespace, payloads, &proof)
        .map_err(|e| VerifyError::Namespace {
            namespace,
            reason: e.to_string(),
        })
}

/// Checks that transaction `tx_hash` of `namespace` is at the proof's position in the verified
/// header's block, by the compact proof `proof_bytes` (an encoded `TransactionProof`: the path
/// from the transaction's leaf to the namespace entry's `tx_root`). Returns the proof.
///
/// This proves what the block's leader committed, not that the namespace is validly encoded
/// (docs/LIGHT_CLIENT.md, "Compact transaction proofs"); [`verify_namespace`] with all the
/// namespace's payloads proves both.
pub fn verify_transaction(
    trust: &Trust,
    header: &VerifiedHeader,
    namespace: Namespace,
    tx_hash: &Hash,
    proof_bytes: &[u8],
) -> Result<TransactionProof, VerifyError> {
    let proof = TransactionProof::decode_cfg(proof_bytes.to_vec(), &trust.limits.txs_per_block_max)
        .map_err(|e| VerifyError::ProofDecode {
            what: "transaction proof",
            reason: e.to_string(),
        })?;
    cortado_coding::verify_transaction(&header.header, namespace, tx_hash, &proof).map_err(
        |e| VerifyError::Namespace {
            namespace,
            reason: e.to_string(),
        },
    )?;
    Ok(proof)
}

/// Checks that the verified header's block does not hold `namespace`, by the absence proof
/// `proof_bytes` (an encoded `AbsenceProof`: its neighbours in the sorted table).
pub fn verify_absence(
    trust: &Trust,
    header: &VerifiedHeader,
    namespace: Namespace,
    proof_bytes: &[u8],
) -> Result<(), VerifyError> {
    let proof =
        AbsenceProof::decode_cfg(proof_bytes.to_vec(), &trust.limits.namespaces_per_block_max)
            .map_err(|e| VerifyError::ProofDecode {
                what: "absence proof",
                reason: e.to_string(),
            })?;
    cortado_coding::verify_absence(&header.header, namespace, &proof).map_err(|e| {
        VerifyError::Namespace {
            namespace,
            reason: e.to_string(),
        }
    })
}

/// Checks that namespace `namespace` of the verified header's block is invalidly encoded (so
/// it counts as empty): its entry is proven by `proof_bytes`, and `evidence_bytes` (an encoded
/// `InvalidEncodingEvidence`) holds `k` chunks of that entry that decode to no valid encoding.
pub fn verify_invalid_encoding(
    trust: &Trust,
    header: &VerifiedHeader,
    namespace: Namespace,
    proof_bytes: &[u8],
    evidence_bytes: &[u8],
) -> Result<(), VerifyError> {
    let proof = decode_inclusion(trust, proof_bytes)?;
    if proof.entry.namespace != namespace {
        return Err(VerifyError::WrongNamespace {
            got: proof.entry.namespace,
            expected: namespace,
        });
    }
    // The entry must be the header's own: a namespace proof is determined by the header, so
    // recompute it and compare.
    let expected = cortado_coding::prove_namespace(&header.header, namespace).map_err(|_| {
        VerifyError::Namespace {
            namespace,
            reason: "the header's table does not hold it".into(),
        }
    })?;
    if expected.encode() != proof.encode() {
        return Err(VerifyError::Namespace {
            namespace,
            reason: "the proof is not the header's table entry and path".into(),
        });
    }
    let params = trust.params();
    let evidence =
        InvalidEncodingEvidence::decode_cfg(evidence_bytes.to_vec(), &(params, trust.limits))
            .map_err(|e| VerifyError::ProofDecode {
                what: "invalid-encoding evidence",
                reason: e.to_string(),
            })?;
    if evidence.entry != proof.entry {
        return Err(VerifyError::Evidence {
            namespace,
            reason: "the evidence is about another table entry".into(),
        });
    }
    if !cortado_coding::verify_invalid_encoding(params, &evidence, &trust.limits) {
        return Err(VerifyError::Evidence {
            namespace,
            reason: "the chunks decode to a valid encoding (or are not k chunks of the entry)"
                .into(),
        });
    }
    Ok(())
}

/// A light client: the pinned trust and the latest header it verified by its own certificate.
#[derive(Clone, Debug)]
pub struct LightClient {
    trust: Trust,
    latest: Option<VerifiedHeader>,
}

impl LightClient {
    /// A light client with nothing verified yet.
    pub fn new(trust: Trust) -> Self {
        Self {
            trust,
            latest: None,
        }
    }

    /// The pinned trust.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The latest header verified by its own certificate.
    pub fn latest(&self) -> Option<&VerifiedHeader> {
        self.latest.as_ref()
    }

    /// Verifies a header and certificate and makes it the latest; refuses one not above the
    /// latest.
    pub fn accept(
        &mut self,
        header_bytes: &[u8],
        certificate_bytes: &[u8],
    ) -> Result<&VerifiedHeader, VerifyError> {
        let verified = verify_header(&self.trust, header_bytes, certificate_bytes)?;
        if let Some(latest) = &self.latest
            && verified.height() <= latest.height()
        {
            return Err(VerifyError::NotNewer {
                got: verified.height(),
                latest: latest.height(),
            });
        }
        Ok(self.latest.insert(verified))
    }

    /// Records a header verified elsewhere if it is certified and newer than the latest.
    pub fn observe(&mut self, verified: VerifiedHeader) {
        if verified.certificate().is_some()
            && self
                .latest
                .as_ref()
                .is_none_or(|l| verified.height() > l.height())
        {
            self.latest = Some(verified);
        }
    }

    /// Proves an older header through the latest header's history.
    pub fn prove_old(
        &self,
        old_header_bytes: &[u8],
        proof_bytes: &[u8],
    ) -> Result<VerifiedHeader, VerifyError> {
        let latest = self.latest.as_ref().ok_or(VerifyError::NoLatest)?;
        verify_history(&self.trust, latest, old_header_bytes, proof_bytes)
    }
}
