//! What a light client pins: the chain id, the group public key, the validator count (for the
//! coding parameters) and the block limits, read from the genesis file.

use commonware_codec::DecodeExt;
use commonware_cryptography::bls12381::primitives::variant::{MinSig, Variant};
use cortado_coding::Params;
use cortado_types::{ChainId, Limits};
use serde::Deserialize;

/// The group public key (BLS12-381 G2, 96 bytes compressed) certificates verify against.
pub type GroupPublicKey = <MinSig as Variant>::Public;

/// The pinned facts a light client verifies against.
#[derive(Clone, Debug, PartialEq)]
pub struct Trust {
    /// The chain id: headers and certificates of other chains are refused.
    pub chain_id: ChainId,
    /// The group public key.
    pub group_public_key: GroupPublicKey,
    /// The number of validators: the coding parameters (`k = f + 1` of `n`) follow from it.
    pub validators: u32,
    /// The block limits (bounds decoding).
    pub limits: Limits,
}

/// Why a genesis file cannot be trusted from.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Not valid TOML for a genesis file.
    #[error("not a genesis file: {0}")]
    Parse(String),
    /// The group public key does not decode.
    #[error("group_public_key is not a BLS12-381 G2 public key in hex: {0}")]
    GroupKey(String),
    /// No validators.
    #[error("the genesis file lists no validators")]
    NoValidators,
}

#[derive(Deserialize)]
struct GenesisLimits {
    tx_bytes_max: usize,
    block_bytes_max: usize,
    namespaces_per_block_max: usize,
    txs_per_block_max: usize,
}

#[derive(Deserialize)]
struct GenesisValidator {}

#[derive(Deserialize)]
struct Genesis {
    chain_id: u64,
    group_public_key: String,
    limits: GenesisLimits,
    validators: Vec<GenesisValidator>,
}

impl Trust {
    /// Reads what a light client needs from a genesis file's TOML (other fields are ignored).
    pub fn from_genesis_toml(text: &str) -> Result<Self, TrustError> {
        let g: Genesis = toml::from_str(text).map_err(|e| TrustError::Parse(e.to_string()))?;
        if g.validators.is_empty() {
            return Err(TrustError::NoValidators);
        }
        if g.validators.len() > cortado_coding::VALIDATORS_MAX {
            return Err(TrustError::Parse(format!(
                "{} validators; the erasure code supports at most {}",
                g.validators.len(),
                cortado_coding::VALIDATORS_MAX
            )));
        }
        let key = hex::decode(g.group_public_key.trim_start_matches("0x"))
            .map_err(|e| TrustError::GroupKey(e.to_string()))?;
        let group_public_key = GroupPublicKey::decode(key.as_slice().to_vec())
            .map_err(|e| TrustError::GroupKey(e.to_string()))?;
        Ok(Self {
            chain_id: ChainId(g.chain_id),
            group_public_key,
            validators: u32::try_from(g.validators.len()).map_err(|_| TrustError::NoValidators)?,
            limits: Limits {
                tx_bytes_max: g.limits.tx_bytes_max,
                block_bytes_max: g.limits.block_bytes_max,
                namespaces_per_block_max: g.limits.namespaces_per_block_max,
                txs_per_block_max: g.limits.txs_per_block_max,
            },
        })
    }

    /// The chain's coding parameters.
    pub fn params(&self) -> Params {
        Params::for_validators(self.validators as usize)
    }
}
