//! `cortado node --checkpoint`: the certified header a fresh data directory starts from.
//!
//! The header and its own finality certificate are fetched from the other API nodes genesis
//! lists (`GET /v1/headers/{height|latest|hash}`), one after the other until one answers, and
//! verified against the genesis group key with the light client: a lying node can at worst
//! offer an older (still certified) header for `latest`, or none at all.

use anyhow::{Result, bail};
use cortado_client::{Trust, VerifyError, verify_header};
use cortado_node::{Checkpoint, NodeConfig};
use cortado_types::Hash;
use serde::Deserialize;
use std::time::Duration;

/// How long one API node has to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the operator asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spec {
    /// The latest header of the node asked.
    Latest,
    /// The header at this height.
    Height(u64),
    /// The header with this hash.
    Hash(Hash),
}

impl Spec {
    /// Parses `<height>`, `latest` or a block hash (64 hex digits, optionally `0x`-prefixed).
    pub fn parse(value: &str) -> Result<Self> {
        if value == "latest" {
            return Ok(Spec::Latest);
        }
        if let Ok(height) = value.parse::<u64>() {
            return Ok(Spec::Height(height));
        }
        let hex = value.strip_prefix("0x").unwrap_or(value);
        match hex.parse::<Hash>() {
            Ok(hash) if hex.len() == 64 => Ok(Spec::Hash(hash)),
            _ => bail!(
                "checkpoint {value:?} is not a height, `latest` or a block hash (64 hex digits)"
            ),
        }
    }

    fn path(&self) -> String {
        match self {
            Spec::Latest => "latest".into(),
            Spec::Height(h) => h.to_string(),
            Spec::Hash(h) => h.to_hex(),
        }
    }
}

#[derive(Deserialize)]
struct HeaderJson {
    header_bytes: String,
    certificate_bytes: String,
}

/// Fetches and verifies the checkpoint `spec` for the node `cfg` describes.
pub async fn resolve(cfg: &NodeConfig, spec: Spec) -> Result<Checkpoint> {
    let text = std::fs::read_to_string(&cfg.node.genesis)?;
    let trust = Trust::from_genesis_toml(&text)?;
    let own = cfg.genesis.validators[cfg.index]
        .api
        .map(|a| format!("http://{a}"));
    let urls: Vec<String> = cfg
        .genesis
        .api_urls()
        .into_iter()
        .filter(|u| Some(u) != own.as_ref())
        .collect();
    if urls.is_empty() {
        bail!("genesis lists no other API node to take a checkpoint from");
    }
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let mut failures = Vec::new();
    for url in &urls {
        match fetch(&http, &trust, url, spec).await {
            Ok(checkpoint) => return Ok(checkpoint),
            Err(err) => failures.push(format!("{url}: {err:#}")),
        }
    }
    bail!(
        "no API node gave a certified header for checkpoint {}: {}",
        spec.path(),
        failures.join("; ")
    )
}

async fn fetch(http: &reqwest::Client, trust: &Trust, url: &str, spec: Spec) -> Result<Checkpoint> {
    let response = http
        .get(format!("{url}/v1/headers/{}", spec.path()))
        .send()
        .await?;
    let status = response.status();
    if !status.is_success() {
        bail!(
            "answered {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    let json: HeaderJson = response.json().await?;
    let header_bytes = hex::decode(&json.header_bytes)?;
    let certificate_bytes = hex::decode(&json.certificate_bytes)?;
    let verified = match verify_header(trust, &header_bytes, &certificate_bytes) {
        Ok(verified) => verified,
        Err(VerifyError::CertificateForAnotherHeader { .. }) => bail!(
            "that block was finalized only through a descendant (it has no certificate of its own); choose a height next to it, or `latest`"
        ),
        Err(err) => bail!("the header does not verify against genesis: {err}"),
    };
    let header = verified.header().clone();
    let Some(certificate) = verified.certificate().cloned() else {
        bail!("the header came without its own certificate");
    };
    match spec {
        Spec::Height(h) if header.height != h => {
            bail!("asked for height {h}, got a header at {}", header.height)
        }
        Spec::Hash(h) if header.hash() != h => bail!("asked for block {h}, got {}", header.hash()),
        _ => {}
    }
    Ok(Checkpoint {
        header,
        certificate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!(Spec::parse("latest").unwrap(), Spec::Latest);
        assert_eq!(Spec::parse("1200").unwrap(), Spec::Height(1200));
        let hash = Hash([0xab; 32]);
        assert_eq!(Spec::parse(&hash.to_hex()).unwrap(), Spec::Hash(hash));
        assert_eq!(
            Spec::parse(&format!("0x{}", hash.to_hex())).unwrap(),
            Spec::Hash(hash)
        );
        for bad in ["", "-1", "tip", "abcd", &"zz".repeat(32)] {
            let err = Spec::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains("not a height, `latest` or a block hash"),
                "{bad}: {err}"
            );
        }
    }
}
