//! SHA-256 hashes with per-purpose domain prefixes.

use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use commonware_cryptography::{Hasher, Sha256};
use std::{fmt, str::FromStr};

/// Domain prefix of a transaction hash.
pub const DOMAIN_TRANSACTION: &[u8] = b"_CORTADO_TX";
/// Domain prefix of a header hash (which is also the block's id).
pub const DOMAIN_HEADER: &[u8] = b"_CORTADO_HEADER";

/// A 32-byte SHA-256 hash.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Length of a hash in bytes.
    pub const LENGTH: usize = 32;

    /// The all-zero hash, used as the parent of the genesis block.
    pub const ZERO: Hash = Hash([0u8; 32]);

    /// Hashes the concatenation of `parts` after a domain prefix.
    pub fn digest(domain: &[u8], parts: &[&[u8]]) -> Hash {
        let mut all: Vec<&[u8]> = Vec::with_capacity(parts.len() + 1);
        all.push(domain);
        all.extend_from_slice(parts);
        Hash(Sha256::hash(&all).0)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, no prefix.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

/// Why a string is not a hash.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a hash is 64 hex characters (optionally prefixed by 0x); got {0:?}")]
pub struct ParseHashError(pub String);

impl FromStr for Hash {
    type Err = ParseHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.strip_prefix("0x").unwrap_or(s);
        let mut out = [0u8; 32];
        hex::decode_to_slice(trimmed, &mut out).map_err(|_| ParseHashError(s.to_string()))?;
        Ok(Hash(out))
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Write for Hash {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        buf.put_slice(&self.0);
    }
}

impl Read for Hash {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Hash(<[u8; 32]>::read(buf)?))
    }
}

impl FixedSize for Hash {
    const SIZE: usize = 32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = Hash::digest(b"x", &[b"hello"]);
        assert_eq!(h.to_hex().parse::<Hash>().unwrap(), h);
        assert_eq!(format!("0x{h}").parse::<Hash>().unwrap(), h);
        assert!("zz".parse::<Hash>().is_err());
        assert!("00".parse::<Hash>().is_err());
    }

    #[test]
    fn domains_separate() {
        assert_ne!(
            Hash::digest(DOMAIN_TRANSACTION, &[b"a"]),
            Hash::digest(DOMAIN_HEADER, &[b"a"])
        );
        // The split between parts does not matter, only the concatenation.
        assert_eq!(
            Hash::digest(b"d", &[b"ab", b"c"]),
            Hash::digest(b"d", &[b"a", b"bc"])
        );
    }
}
