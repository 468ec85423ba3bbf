//! Consensus wiring: simplex with BLS12-381 threshold certificates, block building and verification, finalization and catch-up.
//!
//! # Shape
//!
//! ```text
//! mempool ──TxSource──▶ Application (propose / verify)      ◀── wrapped by marshal's Inline
//!                          │  ▲                                (Automaton + Relay + Reporter)
//!                          ▼  │ own share verified + durable
//!                       dispersal: share i ──▶ validator i; validators ──push──▶ API nodes
//!  simplex engine ◀── digests only ──▶ votes, certificates (p2p channels)
//!  buffered broadcast: headers (namespace table + commitments) to all validators
//!  marshal: orders finalized headers, stores them and their certificates (commonware-storage
//!           archives), backfills missing ones ──Update──▶ Finalizer ──retrieve (≥ k shares,
//!           decode, re-encode check)──▶ FinalizedSink
//! ```
//!
//! # Rules
//!
//! - The block digest is the header hash; the header embeds the consensus context (epoch, view,
//!   leader, parent view, parent), so a node that missed the proposal can still check it.
//! - Validators never receive the payload: consensus and marshal move headers, dispersal moves
//!   shares (`cortado-dispersal`, `cortado-coding`).
//! - Verification (in [`application`]): same chain id; the header decoded (payload commitment =
//!   table root, limits hold); the timestamp strictly increases along the chain and is not more
//!   than `max_future` ahead of the verifier's clock (a block from the future is held, not
//!   rejected, so honest nodes with slightly skewed clocks agree); this validator's own share
//!   verifies and is stored durably. Parent and height contiguity are checked by marshal's
//!   `Inline` wrapper, which votes only after verification: a notarized block has ≥ 2f+1 stored
//!   shares.
//! - A proposer sends the block's manifest (its transaction hashes) with each validator's
//!   share; a leader skips every transaction named by the manifests of its unfinalized
//!   ancestors ([`manifests`]), so no honest leader proposes a transaction twice in a chain.
//! - Every finalized block reaches the [`FinalizedSink`] exactly in height order, at least once
//!   (again after a restart), with a certificate; marshal is told the block is processed only
//!   after the sink returns, so nothing is acknowledged before it is durable.
//! - Signing domains: every consensus signature is over `"_CORTADO_CONSENSUS" || chain_id`
//!   suffixed by simplex with the message kind (notarize, nullify, finalize), so a certificate
//!   of one chain or one kind is never valid for another.

pub mod application;
pub mod block;
pub mod ceremony;
pub mod engine;
pub mod finalizer;
pub mod keys;
pub mod manifests;
pub mod schedule;
pub mod status;
pub mod verify;

pub use application::{Application, TxSource, genesis_block};
pub use block::ChainBlock;
pub use engine::{Channels, Config, Engine, Faults, Reader, Timeouts, max_message_size};
pub use finalizer::{Finalized, FinalizedSink};
pub use schedule::Schedule;
pub use status::{SYNCED_LAG_BLOCKS, Status, SyncProgress};
pub use verify::{CertificateVerifier, consensus_namespace, signing_scheme};

use commonware_consensus::simplex;
use commonware_cryptography::{bls12381::primitives::variant::MinSig, ed25519, sha256};

/// ed25519 identity of a validator (p2p and consensus).
pub type PublicKey = ed25519::PublicKey;
/// ed25519 private key of a validator.
pub type PrivateKey = ed25519::PrivateKey;
/// BLS12-381 variant: signatures in G1 (48 bytes), public keys in G2.
pub type Variant = MinSig;
/// The consensus signing scheme: BLS12-381 threshold signatures.
pub type Scheme = simplex::scheme::bls12381_threshold::standard::Scheme<PublicKey, Variant>;
/// The group's public polynomial.
pub type Sharing = commonware_cryptography::bls12381::primitives::sharing::Sharing<Variant>;
/// A validator's BLS share.
pub type Share = commonware_cryptography::bls12381::primitives::group::Share;
/// Consensus digest (SHA-256).
pub type Digest = sha256::Digest;
/// Consensus context of a proposal.
pub type Context = simplex::types::Context<Digest, PublicKey>;
/// A simplex finalization (proposal + threshold certificate).
pub type Finalization = simplex::types::Finalization<Scheme, Digest>;
