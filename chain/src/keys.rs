//! Validator key material: ed25519 identities and BLS12-381 threshold shares.
//!
//! `deal` is a **trusted dealer**: one process samples the group secret polynomial and hands each
//! validator its share. It is for development and test networks only: whoever ran it knows the
//! group secret and could sign any certificate. A production network replaces it by a DKG
//! ceremony (commonware's `bls12381::dkg`), which yields a group key nobody knows the secret of.
//!
//! Everything here is hex-encoded with commonware-codec so the node's TOML files can carry it.

use crate::{PrivateKey, PublicKey, Sharing, Variant};
use commonware_codec::{Decode, DecodeExt, Encode};
use commonware_cryptography::{
    Signer,
    bls12381::{
        dkg::feldman_desmedt,
        primitives::{
            group::Share,
            sharing::{Mode, ModeVersion},
        },
    },
};
use commonware_math::algebra::Random;
use commonware_utils::{N3f1, ordered::Set};
use rand_core::CryptoRng;
use std::num::NonZeroU32;

/// Why key material failed to parse.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not hex.
    #[error("{what} is not valid hex: {source}")]
    Hex {
        /// What was being parsed.
        what: &'static str,
        /// The hex error.
        source: hex::FromHexError,
    },
    /// Hex, but not a valid encoding.
    #[error("{what} is not a valid encoding: {source}")]
    Codec {
        /// What was being parsed.
        what: &'static str,
        /// The codec error.
        source: commonware_codec::Error,
    },
}

fn unhex(what: &'static str, s: &str) -> Result<Vec<u8>, KeyError> {
    hex::decode(s.trim().trim_start_matches("0x")).map_err(|source| KeyError::Hex { what, source })
}

fn codec(what: &'static str) -> impl FnOnce(commonware_codec::Error) -> KeyError {
    move |source| KeyError::Codec { what, source }
}

/// One validator's secrets as dealt.
pub struct Dealt {
    /// The p2p and consensus identity.
    pub identity: PrivateKey,
    /// The BLS threshold share.
    pub share: Share,
}

/// Output of a trusted-dealer setup for `n` validators.
pub struct Committee {
    /// The validators' secrets, in participant order (sorted by public key).
    pub validators: Vec<Dealt>,
    /// The group's public polynomial (commitments to each share).
    pub sharing: Sharing,
}

/// Generates `n` ed25519 identities and deals them BLS12-381 threshold shares (threshold
/// 2f+1 of 3f+1) from a trusted dealer. Development and test networks only.
pub fn deal(rng: &mut impl CryptoRng, n: u32) -> Committee {
    assert!(n >= 1, "a committee needs at least one validator");
    let mut keys: Vec<PrivateKey> = (0..n).map(|_| PrivateKey::random(&mut *rng)).collect();
    keys.sort_by_key(|k| k.public_key());
    let players = Set::try_from(keys.iter().map(|k| k.public_key()).collect::<Vec<_>>())
        .expect("random keys are distinct");
    let (output, mut shares) =
        feldman_desmedt::deal::<Variant, _, N3f1>(&mut *rng, Mode::NonZeroCounter, players)
            .expect("dealing to a non-empty set succeeds");
    let validators = keys
        .into_iter()
        .map(|identity| {
            let share = shares
                .get_value(&identity.public_key())
                .expect("every player has a share")
                .clone();
            Dealt { identity, share }
        })
        .collect();
    let _ = &mut shares;
    Committee {
        validators,
        sharing: output.public().clone(),
    }
}

/// Hex of an ed25519 private key.
pub fn private_key_hex(key: &PrivateKey) -> String {
    hex::encode(key.encode())
}

/// Parses an ed25519 private key.
pub fn parse_private_key(s: &str) -> Result<PrivateKey, KeyError> {
    PrivateKey::decode(unhex("private key", s)?).map_err(codec("private key"))
}

/// Hex of an ed25519 public key.
pub fn public_key_hex(key: &PublicKey) -> String {
    hex::encode(key.encode())
}

/// Parses an ed25519 public key.
pub fn parse_public_key(s: &str) -> Result<PublicKey, KeyError> {
    PublicKey::decode(unhex("public key", s)?).map_err(codec("public key"))
}

/// Hex of a BLS share.
pub fn share_hex(share: &Share) -> String {
    hex::encode(share.encode())
}

/// Parses a BLS share.
pub fn parse_share(s: &str) -> Result<Share, KeyError> {
    Share::decode(unhex("share", s)?).map_err(codec("share"))
}

/// Hex of the group's public polynomial.
pub fn sharing_hex(sharing: &Sharing) -> String {
    hex::encode(sharing.encode())
}

/// Parses the group's public polynomial for `n` validators.
pub fn parse_sharing(s: &str, n: u32) -> Result<Sharing, KeyError> {
    let n = NonZeroU32::new(n).ok_or(KeyError::Codec {
        what: "polynomial",
        source: commonware_codec::Error::Invalid("Sharing", "zero validators"),
    })?;
    Sharing::decode_cfg(unhex("polynomial", s)?, &(n, ModeVersion::v0()))
        .map_err(codec("polynomial"))
}

/// Hex of the group public key (what a light client pins).
pub fn identity_hex(sharing: &Sharing) -> String {
    hex::encode(sharing.public().encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_utils::test_rng;

    #[test]
    fn deal_and_round_trip_hex() {
        let mut rng = test_rng();
        let committee = deal(&mut rng, 4);
        assert_eq!(committee.validators.len(), 4);
        let keys: Vec<_> = committee
            .validators
            .iter()
            .map(|v| v.identity.public_key())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "validators come in participant order");
        for v in &committee.validators {
            let k = parse_private_key(&private_key_hex(&v.identity)).unwrap();
            assert_eq!(k.public_key(), v.identity.public_key());
            let pk = parse_public_key(&public_key_hex(&v.identity.public_key())).unwrap();
            assert_eq!(pk, v.identity.public_key());
            let s = parse_share(&share_hex(&v.share)).unwrap();
            assert_eq!(s, v.share);
        }
        let sharing = parse_sharing(&sharing_hex(&committee.sharing), 4).unwrap();
        assert_eq!(sharing, committee.sharing);
        assert!(parse_sharing("zz", 4).is_err());
        assert!(parse_private_key("00").is_err());
    }
}
