//! Wire and storage types of Cortado: transactions, namespaces, namespace tables, headers, blocks and finality certificates.
//!
//! Every type here has one canonical binary encoding (commonware-codec). Top-level types that
//! cross the wire or reach disk (`Transaction`, `Header`, `Block`, `FinalityCertificate`) start
//! with a format version byte, [`FORMAT_VERSION`]; a decoder rejects any other version, and the
//! fixture tests in `tests/fixtures.rs` pin the encoded bytes so that an accidental format change
//! fails CI instead of forking the chain.
//!
//! Hashes are SHA-256. Domain separation: a transaction hash, a header hash, a Merkle leaf and a
//! Merkle node each hash a distinct prefix (see [`hash`]), so no value of one kind can be passed
//! off as another.
//!
//! This crate does no I/O.

mod block;
pub mod bundle;
mod certificate;
mod error;
pub mod hash;
mod header;
pub mod history;
mod limits;
pub mod merkle;
pub mod message;
mod namespace;
mod table;
mod transaction;

pub use block::{Block, BlockContext, NamespaceData};
pub use bundle::{BUNDLE_NAMESPACE, BUNDLE_TXS_MAX, Bundle, BundleError, Marker};
pub use certificate::{FinalityCertificate, SIGNATURE_LENGTH};
pub use error::Error;
pub use hash::Hash;
pub use header::{ChainId, Header, Height, PublicKeyBytes};
pub use limits::Limits;
pub use message::{
    Envelope, EnvelopeError,
    sender::{Address, SenderKey, SenderSignature},
};
pub use namespace::Namespace;
pub use table::{DOMAIN_TXS, NamespaceEntry, NamespaceTable, tx_leaf};
pub use transaction::Transaction;

/// The format version byte that opens every top-level encoding.
///
/// Version 2 added `tx_root` to namespace table entries (84 bytes instead of 52). A version-1
/// chain's bytes are refused, not migrated: no network ran version 1 outside development.
pub const FORMAT_VERSION: u8 = 2;

/// Reads and checks the format version byte.
pub(crate) fn read_version(
    buf: &mut impl commonware_codec::Buf,
    what: &'static str,
) -> Result<(), commonware_codec::Error> {
    use commonware_codec::ReadExt;
    let version = u8::read(buf)?;
    if version != FORMAT_VERSION {
        return Err(commonware_codec::Error::Invalid(
            what,
            "unsupported format version",
        ));
    }
    Ok(())
}
