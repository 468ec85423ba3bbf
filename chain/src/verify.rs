//! Finality certificates: conversion from simplex finalizations and verification against the
//! group public key.
//!
//! What is signed: simplex signs the encoded proposal `(epoch, view, parent view, payload
//! digest)` under the namespace `"_CORTADO_CONSENSUS" || chain_id (u64 BE)` with the finalize
//! suffix simplex appends. A certificate is the BLS12-381 threshold signature (G1, 48 bytes)
//! recovered from 2f+1 partial signatures; it verifies against the group public key alone.

use crate::{Digest, Finalization, Scheme, Sharing, Variant, block::to_digest};
use commonware_codec::{DecodeExt, Encode};
use commonware_consensus::{
    simplex::types::Proposal,
    types::{Epoch, Round, View},
};
use commonware_cryptography::bls12381::certificate::threshold::Certificate;
use commonware_parallel::Sequential;
use cortado_types::{ChainId, FinalityCertificate, Hash, SIGNATURE_LENGTH};

/// Base of every consensus signing namespace.
pub const CONSENSUS_DOMAIN: &[u8] = b"_CORTADO_CONSENSUS";

/// The consensus namespace of a chain: `"_CORTADO_CONSENSUS" || chain_id (u64 BE)`.
pub fn consensus_namespace(chain_id: ChainId) -> Vec<u8> {
    let mut ns = CONSENSUS_DOMAIN.to_vec();
    ns.extend_from_slice(&chain_id.0.to_be_bytes());
    ns
}

/// The consensus signing scheme of one validator of chain `chain_id`: its BLS share over the
/// chain's namespace (what the engine signs votes with, and what a simulation's Byzantine actor
/// signs with). `None` if the share is not one of `participants`'.
pub fn signing_scheme(
    chain_id: ChainId,
    participants: commonware_utils::ordered::Set<crate::PublicKey>,
    sharing: Sharing,
    share: crate::Share,
) -> Option<Scheme> {
    Scheme::signer(&consensus_namespace(chain_id), participants, sharing, share)
}

/// Converts a simplex finalization into a Cortado certificate.
pub fn certificate_of(finalization: &Finalization) -> FinalityCertificate {
    let sig = finalization.certificate.encode();
    let mut signature = [0u8; SIGNATURE_LENGTH];
    assert_eq!(
        sig.len(),
        SIGNATURE_LENGTH,
        "MinSig signatures are 48 bytes"
    );
    signature.copy_from_slice(&sig);
    let p = &finalization.proposal;
    FinalityCertificate {
        epoch: p.round.epoch().get(),
        view: p.round.view().get(),
        parent_view: p.parent.get(),
        block: Hash(p.payload.0),
        signature,
    }
}

/// Converts a Cortado certificate back into a simplex finalization (no verification).
pub fn finalization_of(cert: &FinalityCertificate) -> Option<Finalization> {
    let certificate = Certificate::<Variant>::decode(cert.signature.to_vec()).ok()?;
    Some(Finalization {
        proposal: Proposal::<Digest>::new(
            Round::new(Epoch::new(cert.epoch), View::new(cert.view)),
            View::new(cert.parent_view),
            to_digest(cert.block),
        ),
        certificate,
    })
}

/// Verifies finality certificates of one chain against its group public key.
#[derive(Clone)]
pub struct CertificateVerifier {
    scheme: Scheme,
}

impl CertificateVerifier {
    /// A verifier for `chain_id` with the group's public polynomial.
    pub fn new(chain_id: ChainId, sharing: &Sharing) -> Self {
        Self {
            scheme: Scheme::certificate_verifier(&consensus_namespace(chain_id), *sharing.public()),
        }
    }

    /// Whether `cert` is a valid finalization of `cert.block` on this chain.
    pub fn verify(&self, cert: &FinalityCertificate) -> bool {
        let Some(finalization) = finalization_of(cert) else {
            return false;
        };
        // Threshold certificate verification is deterministic; the rng is only used for
        // batching in other schemes.
        let mut rng = rand::rng();
        finalization.verify(&mut rng, &self.scheme, &Sequential)
    }
}
