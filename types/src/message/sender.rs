//! Message senders: secp256k1 keys, Ethereum addresses and EIP-712 digests.
//!
//! A sender is the 20-byte Ethereum address of a secp256k1 key (the last 20 bytes of the
//! Keccak-256 hash of the uncompressed public key's 64 coordinate bytes). The sender signs the
//! EIP-712 typed-data digest of the message, so an Ethereum wallet can sign one
//! (`eth_signTypedData_v4`) and a contract can check one with `ecrecover` (3,000 gas):
//!
//! ```text
//! domain     = keccak256(keccak256("EIP712Domain(string name,string version)")
//!                        || keccak256("Cortado") || keccak256("1"))
//! struct     = keccak256(keccak256("Message(uint64 chain,uint64 source,uint64 destination,uint64 sequence,bytes recipient,bytes body)")
//!                        || u256(chain) || u256(source) || u256(destination) || u256(sequence)
//!                        || keccak256(recipient) || keccak256(body))
//! digest     = keccak256(0x19 || 0x01 || domain || struct)
//! signature  = r (32) || s (32) || v (1), v = 27 + y parity of R, s ≤ n / 2 (EIP-2)
//! ```
//!
//! `u256(x)` is `x` as a 32-byte big-endian word. The chain id is a field of the message, not
//! of the domain: EIP-712's domain `chainId` names an Ethereum chain, and wallets refuse a
//! domain whose `chainId` is not the network they are on. Binding the chain, both namespaces and
//! the sequence number means a signed message cannot be replayed on another Cortado chain, from
//! another namespace, to another destination or at another position.

use crate::ChainId;
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use sha3::{Digest, Keccak256};
use std::fmt;

/// Length of a sender signature: `r || s || v`.
pub const SIGNATURE_BYTES: usize = 65;

/// The 20-byte Ethereum address of a sender's secp256k1 key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The address's bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Parses 40 hex digits, with or without a `0x` prefix.
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(digits).map_err(|e| format!("address is not hex: {e}"))?;
        let bytes: [u8; 20] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("address is {} bytes; it must be 20", b.len()))?;
        Ok(Self(bytes))
    }

    fn of(key: &VerifyingKey) -> Self {
        let point = key.to_sec1_point(false);
        let hash = keccak(&[&point.as_bytes()[1..]]);
        let mut address = [0u8; 20];
        address.copy_from_slice(&hash[12..]);
        Self(address)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl AsRef<[u8]> for Address {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A sender's signature over a message digest: `r || s || v`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SenderSignature(pub [u8; SIGNATURE_BYTES]);

impl fmt::Debug for SenderSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// A sender's secp256k1 signing key. Its `Debug` shows the address only.
#[derive(Clone)]
pub struct SenderKey(SigningKey);

impl fmt::Debug for SenderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SenderKey({})", self.address())
    }
}

impl SenderKey {
    /// The key with these 32 secret bytes (big-endian scalar, as Ethereum private keys are).
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, String> {
        SigningKey::from_slice(secret)
            .map(Self)
            .map_err(|_| "not a secp256k1 secret key (zero or not below the group order)".into())
    }

    /// The key's 32 secret bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The key's address: what a message names as its sender.
    pub fn address(&self) -> Address {
        Address::of(self.0.verifying_key())
    }

    /// Signs a 32-byte digest (RFC 6979 deterministic nonce, low `s`).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> SenderSignature {
        // secp256k1 signing normalizes to low s and flips the recovery id with it (k256's
        // `NORMALIZE_S`).
        let (signature, recovery) = self.0.sign_prehash_recoverable(digest);
        let mut out = [0u8; SIGNATURE_BYTES];
        out[..64].copy_from_slice(&signature.to_bytes());
        out[64] = 27 + u8::from(recovery.is_y_odd());
        SenderSignature(out)
    }
}

/// Why a signature does not name a sender.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// `v` is not 27 or 28.
    #[error("signature v is {0}; it must be 27 or 28")]
    BadV(u8),
    /// `r` or `s` is zero or not below the group order.
    #[error("signature r or s is out of range")]
    OutOfRange,
    /// `s` is above half the group order (EIP-2): a malleated copy.
    #[error("signature s is above half the group order (EIP-2)")]
    HighS,
    /// No public key recovers from the signature.
    #[error("no public key recovers from the signature")]
    NoKey,
}

/// The address whose key signed `digest`, as Ethereum's `ecrecover` computes it, with EIP-2's
/// low-`s` rule.
pub fn recover(digest: &[u8; 32], signature: &SenderSignature) -> Result<Address, SignatureError> {
    let bytes = &signature.0;
    let v = bytes[64];
    if v != 27 && v != 28 {
        return Err(SignatureError::BadV(v));
    }
    let sig = Signature::from_slice(&bytes[..64]).map_err(|_| SignatureError::OutOfRange)?;
    if sig.normalize_s() != sig {
        return Err(SignatureError::HighS);
    }
    let recovery = RecoveryId::new(v == 28, false);
    let key = VerifyingKey::recover_from_prehash(digest, &sig, recovery)
        .map_err(|_| SignatureError::NoKey)?;
    Ok(Address::of(&key))
}

/// Keccak-256 of the concatenation of `parts`.
pub fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn word(value: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&value.to_be_bytes());
    out
}

/// The EIP-712 type of a message (see the module docs).
pub const MESSAGE_TYPE: &str = "Message(uint64 chain,uint64 source,uint64 destination,uint64 sequence,bytes recipient,bytes body)";

/// The EIP-712 domain separator of Cortado messages.
pub fn domain_separator() -> [u8; 32] {
    keccak(&[
        &keccak(&[b"EIP712Domain(string name,string version)"]),
        &keccak(&[b"Cortado"]),
        &keccak(&[b"1"]),
    ])
}

/// The EIP-712 digest a sender signs for a message.
pub fn message_digest(
    chain: ChainId,
    source: u64,
    destination: u64,
    sequence: u64,
    recipient: &[u8],
    body: &[u8],
) -> [u8; 32] {
    let fields = keccak(&[
        &keccak(&[MESSAGE_TYPE.as_bytes()]),
        &word(chain.0),
        &word(source),
        &word(destination),
        &word(sequence),
        &keccak(&[recipient]),
        &keccak(&[body]),
    ]);
    keccak(&[&[0x19, 0x01], &domain_separator(), &fields])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ethereum_address() {
        // The widely published address of secret key 1.
        let mut secret = [0u8; 32];
        secret[31] = 1;
        let key = SenderKey::from_bytes(&secret).unwrap();
        assert_eq!(
            key.address().to_string(),
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
        assert!(SenderKey::from_bytes(&[0u8; 32]).is_err());
        assert_eq!(
            Address::from_hex("7e5f4552091a69125d5dfcb7b8c2659029395bdf"),
            Ok(key.address())
        );
        assert!(Address::from_hex("0x7e5f").is_err());
        assert_eq!(
            hex::encode(keccak(&[b""])),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn sign_recover_and_reject_malleated() {
        let key = SenderKey::from_bytes(&[7u8; 32]).unwrap();
        let digest = message_digest(ChainId(1), 10, 20, 0, b"bob", b"hi");
        let sig = key.sign_digest(&digest);
        assert_eq!(recover(&digest, &sig), Ok(key.address()));
        // Another digest recovers another address.
        let other = message_digest(ChainId(2), 10, 20, 0, b"bob", b"hi");
        assert_ne!(recover(&other, &sig), Ok(key.address()));
        // v out of range.
        let mut bad = sig;
        bad.0[64] = 1;
        assert_eq!(recover(&digest, &bad), Err(SignatureError::BadV(1)));
        // High s: n - s with the other parity recovers the same key, and is refused.
        let s = Signature::from_slice(&sig.0[..64]).unwrap();
        let (r, s_scalar) = s.split_scalars();
        let high = Signature::from_scalars(r.to_bytes(), (-*s_scalar).to_bytes()).unwrap();
        let mut malleated = [0u8; SIGNATURE_BYTES];
        malleated[..64].copy_from_slice(&high.to_bytes());
        malleated[64] = if sig.0[64] == 27 { 28 } else { 27 };
        assert_eq!(
            recover(&digest, &SenderSignature(malleated)),
            Err(SignatureError::HighS)
        );
        // Zero r.
        let mut zero = sig;
        zero.0[..32].fill(0);
        assert_eq!(recover(&digest, &zero), Err(SignatureError::OutOfRange));
    }
}
