//! Cortado client: verification of headers, certificates, namespace proofs and history proofs
//! against a pinned genesis, and the Rust SDK.
