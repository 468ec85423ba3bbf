//! `cortado tail` (verified by default) and `cortado verify`: everything printed is checked
//! against the genesis file first, with the light client of `cortado-client`.

use anyhow::{Context as _, Result, bail};
use cortado_client::{
    Trust,
    sdk::{Client, NamespaceContent, Options, verify_document},
};
use cortado_types::Namespace;
use futures::StreamExt;
use std::path::{Path, PathBuf};

/// Default genesis file: the one `cortado dev` writes.
pub const DEFAULT_GENESIS: &str = ".cortado-dev/genesis.toml";

/// Reads the trust a light client pins from a genesis file.
pub fn trust(path: &Path) -> Result<Trust> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the genesis file {} (give --genesis, e.g. .cortado-dev/genesis.toml after `cortado dev`; or --no-verify)",
            path.display()
        )
    })?;
    Trust::from_genesis_toml(&text)
        .with_context(|| format!("{} is not a valid genesis file", path.display()))
}

/// Prints a payload as text when it is printable, else as hex.
pub fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_string(),
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

/// `cortado tail` with verification: follows a namespace through the SDK (failing over
/// between `urls`), printing each transaction of each verified block.
pub async fn tail_verified(
    urls: Vec<String>,
    genesis: &Path,
    namespace: u64,
    from: Option<u64>,
    count: Option<u64>,
) -> Result<()> {
    let trust = trust(genesis)?;
    let client = Client::new(trust, urls.clone(), Options::default());
    let from = match from {
        Some(from) => from,
        None => {
            let status = crate::client::Client::new(&urls[0]).status().await?;
            status["height"].as_u64().map_or(0, |h| h + 1)
        }
    };
    eprintln!(
        "following namespace {namespace} from height {from}, verifying against {}",
        genesis.display()
    );
    let mut stream = Box::pin(client.stream_namespace(Namespace(namespace), from));
    let mut printed = 0u64;
    while let Some(block) = stream.next().await {
        let block = block?;
        match &block.content {
            NamespaceContent::Transactions(payloads) => {
                for (position, payload) in payloads.iter().enumerate() {
                    let hash = cortado_types::Transaction::hash_parts(block.namespace, payload);
                    println!(
                        "height {} position {position} {hash} {} (verified)",
                        block.height,
                        printable(payload)
                    );
                    printed += 1;
                    if count.is_some_and(|c| printed >= c) {
                        return Ok(());
                    }
                }
            }
            NamespaceContent::InvalidEncoding => println!(
                "height {} namespace {namespace}: invalid encoding, counts as empty (evidence verified)",
                block.height
            ),
            NamespaceContent::Absent => {}
        }
    }
    bail!("the stream ended")
}

/// Arguments of `cortado verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The genesis file to verify against.
    #[arg(long, default_value = DEFAULT_GENESIS)]
    genesis: PathBuf,
    /// Saved API answers to verify (JSON files: a header, a namespace read or event, a
    /// finalized transaction, a history proof). `-` reads standard input.
    files: Vec<PathBuf>,
    /// Verify a range of a namespace on live nodes instead: every height from --from to --to,
    /// with inclusion or absence proofs.
    #[arg(long, requires_all = ["from", "to"])]
    ns: Option<u64>,
    /// First height of the range.
    #[arg(long)]
    from: Option<u64>,
    /// Last height of the range.
    #[arg(long)]
    to: Option<u64>,
    /// Node API URLs for a range (tried in turn).
    #[arg(long = "url", default_value = crate::DEFAULT_URL)]
    urls: Vec<String>,
}

/// `cortado verify`.
pub async fn verify(args: VerifyArgs) -> Result<()> {
    let trust = trust(&args.genesis)?;
    if let (Some(ns), Some(from), Some(to)) = (args.ns, args.from, args.to) {
        if to < from {
            bail!("--to ({to}) is below --from ({from})");
        }
        let client = Client::new(trust, args.urls, Options::default());
        let blocks = client.namespace_range(Namespace(ns), from, to).await?;
        let (mut holding, mut txs) = (0, 0);
        for b in &blocks {
            match &b.content {
                NamespaceContent::Transactions(t) => {
                    holding += 1;
                    txs += t.len();
                    println!(
                        "height {}: {} transactions of namespace {ns}, proven by the namespace proof and certificate",
                        b.height,
                        t.len()
                    );
                }
                NamespaceContent::InvalidEncoding => println!(
                    "height {}: namespace {ns} invalidly encoded (evidence verified)",
                    b.height
                ),
                NamespaceContent::Absent => {
                    println!(
                        "height {}: namespace {ns} absent (absence proven)",
                        b.height
                    )
                }
            }
        }
        println!(
            "verified heights {from}..={to}: {} headers and certificates, {holding} blocks holding namespace {ns}, {txs} transactions",
            blocks.len()
        );
        return Ok(());
    }
    if args.files.is_empty() {
        bail!("give saved answers to verify (files or -), or a range with --ns, --from and --to");
    }
    let mut failed = 0;
    for file in &args.files {
        let text = if file.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
        } else {
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?
        };
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        match verify_document(&trust, &json) {
            Ok(what) => println!("{}: OK: {what}", file.display()),
            Err(e) => {
                failed += 1;
                println!("{}: FAILED: {e}", file.display());
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} answers did not verify", args.files.len());
    }
    Ok(())
}
