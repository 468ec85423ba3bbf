//! Cortado's light client and SDK: verify everything read from a Cortado node, trusting only
//! the genesis file.
//!
//! # Trust model
//!
//! A [`Trust`] pins what the genesis file says: the chain id, the group public key (one
//! BLS12-381 key for the whole validator set; a finality certificate is a 48-byte threshold
//! signature of ≥ 2f+1 validators), the validator count (which fixes the erasure code's
//! parameters) and the block limits. Nothing a node sends is believed before it is checked:
//!
//! - [`verify_header`]: a header and its [`FinalityCertificate`](cortado_types::FinalityCertificate)
//!   (chain id, the certificate names this header, the signature verifies).
//! - [`verify_history`]: an older header through the history accumulator of a verified later
//!   one (so one recent certificate proves any past block).
//! - [`verify_namespace`], [`verify_absence`], [`verify_invalid_encoding`]: what a block holds
//!   of a namespace: exactly these transactions in this order, nothing, or an invalid encoding
//!   that counts as empty.
//! - [`LightClient`]: the pinned trust and the latest verified header.
//! - [`Receiver`]: takes each verified cross-rollup message exactly once, in sequence order.
//!
//! The byte formats, the signed message and its domain are in `docs/LIGHT_CLIENT.md`.
//!
//! This core does no I/O and builds for `wasm32-unknown-unknown`. The feature `http` adds
//! [`sdk`], an HTTP client of one or more nodes that verifies every answer with these checks.
//!
//! ```no_run
//! use cortado_client::{Trust, verify_header};
//! # fn get(_: &str) -> Vec<u8> { unimplemented!() }
//! let trust = Trust::from_genesis_toml(&std::fs::read_to_string("genesis.toml").unwrap()).unwrap();
//! // `header_bytes` and `certificate_bytes` of `GET /v1/headers/{height}`, hex-decoded.
//! let header = verify_header(&trust, &get("header_bytes"), &get("certificate_bytes")).unwrap();
//! println!("height {} is final", header.height());
//! ```

#![warn(missing_docs)]

pub mod receiver;
#[cfg(feature = "http")]
pub mod sdk;
#[cfg(feature = "http")]
mod sse;
mod trust;
mod verify;

pub use receiver::{Admission, Receiver};
pub use trust::{GroupPublicKey, Trust, TrustError};
pub use verify::{
    CONSENSUS_DOMAIN, FINALIZE_SUFFIX, Finality, LightClient, VerifiedHeader, VerifyError,
    decode_certificate, decode_header, finalize_message, finalize_namespace, verify_absence,
    verify_certificate, verify_header, verify_history, verify_invalid_encoding, verify_namespace,
    verify_signature, verify_transaction,
};
