//! The cortado command: run a local network, generate a genesis, run a node, submit, tail, status.

mod bench;
mod ceremony;
mod checkpoint;
mod client;
mod dev;
mod readers;
mod verify;

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use clap::{Parser, Subcommand};
use cortado_node::{NodeConfig, testnet};
use std::{
    net::IpAddr,
    path::PathBuf,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Default API address: node 0 of `cortado dev`.
pub const DEFAULT_URL: &str = "http://127.0.0.1:27100";

#[derive(Parser)]
#[command(
    name = "cortado",
    version,
    about = "Cortado: fast, provable finality and data availability for rollups"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a local network of validators on 127.0.0.1 (one process each) until Ctrl-C.
    Dev(dev::Args),
    /// Generate keys, a genesis file and one node file per validator from a trusted dealer
    /// (development and test networks); `genesis verify` checks a genesis against a ceremony.
    Genesis(GenesisCommand),
    /// Make an operator's identity (ed25519) for a key ceremony; prints its public key.
    Keygen(ceremony::KeygenArgs),
    /// Run this operator's part of a key ceremony (a DKG among all the validators: nobody ever
    /// knows the group secret); writes genesis.toml, node.toml and the transcript.
    Ceremony(ceremony::CeremonyArgs),
    /// Run one node from its node file.
    Node {
        /// The node file (node.toml).
        #[arg(long)]
        config: PathBuf,
        /// Stop by itself after this many seconds (for tests and scripts).
        #[arg(long)]
        exit_after: Option<u64>,
        /// Start a fresh data directory from a certified recent header instead of genesis: a
        /// height, `latest`, or a block hash. Fetched from the other API nodes in genesis and
        /// verified against the group key; history below it is not held (answers 404
        /// not_held). Ignored when the data directory already holds the chain.
        #[arg(long, value_name = "HEIGHT|latest|HASH")]
        checkpoint: Option<String>,
    },
    /// Submit a transaction to a namespace.
    Submit(SubmitArgs),
    /// Follow a namespace's finalized transactions as they arrive, verifying each block against
    /// the genesis file (header, certificate, namespace proof).
    Tail(TailArgs),
    /// Verify saved API answers, or a range of a namespace on live nodes, against a genesis file.
    Verify(verify::VerifyArgs),
    /// Offer load to a running network and measure submit → finalized latency.
    Bench(bench::Args),
    /// Show a node's status.
    Status {
        /// Node API URL.
        #[arg(long, env = "CORTADO_URL", default_value = DEFAULT_URL)]
        url: String,
    },
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct GenesisCommand {
    #[command(subcommand)]
    action: Option<GenesisAction>,
    #[command(flatten)]
    args: GenesisArgs,
}

#[derive(Subcommand)]
enum GenesisAction {
    /// Check a genesis file against the ceremony file and transcript it came from.
    Verify(ceremony::VerifyArgs),
}

#[derive(clap::Args)]
struct GenesisArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    validators: u32,
    /// Output directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Chain id.
    #[arg(long, default_value_t = 1)]
    chain_id: u64,
    /// Host the validators listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// p2p port of validator 0 (validator i uses +i).
    #[arg(long, default_value_t = 27000)]
    p2p_port: u16,
    /// API port of validator 0 (validator i uses +i).
    #[arg(long, default_value_t = 27100)]
    api_port: u16,
    /// Seed for key generation (reproducible test networks); random if absent.
    #[arg(long)]
    seed: Option<u64>,
    /// Only the first N validators are API nodes (reconstruct blocks, serve data, take
    /// submissions); the others keep only their own shares. Default: all.
    #[arg(long)]
    api_nodes: Option<u32>,
    /// Leaders propose no sooner than this many ms after the parent block (0: at once).
    #[arg(long, default_value_t = cortado_node::BLOCK_INTERVAL_MIN_MS)]
    block_interval_ms: u64,
}

#[derive(clap::Args)]
struct SubmitArgs {
    /// Namespace.
    #[arg(long)]
    ns: u64,
    /// Payload as text.
    #[arg(long, conflicts_with = "file")]
    data: Option<String>,
    /// Payload from a file.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Node API URL.
    #[arg(long, env = "CORTADO_URL", default_value = DEFAULT_URL)]
    url: String,
    /// Wait until the transaction is finalized and print where.
    #[arg(long)]
    wait: bool,
}

#[derive(clap::Args)]
struct TailArgs {
    /// Namespace.
    #[arg(long)]
    ns: u64,
    /// Start from this height (default: the next finalized block).
    #[arg(long)]
    from: Option<u64>,
    /// Node API URLs; the stream moves to the next when one fails.
    #[arg(long = "url", env = "CORTADO_URL", value_delimiter = ',', default_value = DEFAULT_URL)]
    urls: Vec<String>,
    /// Stop after this many transactions.
    #[arg(long)]
    count: Option<u64>,
    /// The genesis file to verify against.
    #[arg(long, default_value = verify::DEFAULT_GENESIS)]
    genesis: PathBuf,
    /// Print what the node sends without verifying it.
    #[arg(long)]
    no_verify: bool,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn init_logs(filter: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_target(false)
        .try_init();
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Dev(args) => dev::run(args),
        Command::Genesis(GenesisCommand {
            action: Some(GenesisAction::Verify(args)),
            ..
        }) => ceremony::verify(args),
        Command::Genesis(GenesisCommand { args, .. }) => genesis(args),
        Command::Keygen(args) => ceremony::keygen(args),
        Command::Ceremony(args) => {
            init_logs("info");
            ceremony::run(args)
        }
        Command::Node {
            config,
            exit_after,
            checkpoint,
        } => {
            let mut cfg = NodeConfig::load(&config)?;
            init_logs(&cfg.node.log);
            if let Some(spec) = checkpoint.or_else(|| cfg.node.sync.checkpoint.clone()) {
                let spec = checkpoint::Spec::parse(&spec)?;
                let data = &cfg.node.data_dir;
                if data.join("chain").exists() || data.join("index.sqlite").exists() {
                    tracing::info!(
                        data_dir = %data.display(),
                        "the data directory already holds the chain: the checkpoint is not used"
                    );
                } else {
                    let found = runtime()?
                        .block_on(checkpoint::resolve(&cfg, spec))
                        .context("cannot start from a checkpoint")?;
                    cfg.checkpoint = Some(found);
                }
            }
            cortado_node::run(cfg, exit_after.map(Duration::from_secs))?;
            Ok(())
        }
        Command::Submit(args) => runtime()?.block_on(submit(args)),
        Command::Tail(args) => runtime()?.block_on(tail(args)),
        Command::Verify(args) => runtime()?.block_on(verify::verify(args)),
        Command::Bench(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(bench::run(args)),
        Command::Status { url } => runtime()?.block_on(async move {
            let status = client::Client::new(&url).status().await?;
            println!("{}", client::sync_line(&status));
            println!("{}", serde_json::to_string_pretty(&status)?);
            Ok(())
        }),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn genesis(args: GenesisArgs) -> Result<()> {
    let Some(out) = args.out else {
        bail!("give the output directory with --out DIR");
    };
    let files = testnet::generate(
        &out,
        &testnet::Options {
            validators: args.validators,
            chain_id: args.chain_id,
            host: args.host,
            p2p_port_base: args.p2p_port,
            api_port_base: args.api_port,
            timestamp_ms: now_ms(),
            limits: Default::default(),
            seed: args.seed,
            consensus: cortado_node::ConsensusFile {
                block_interval_min_ms: args.block_interval_ms,
                ..Default::default()
            },
            api_nodes: args.api_nodes,
        },
    )?;
    println!(
        "wrote {} and {} node files",
        out.join("genesis.toml").display(),
        files.len()
    );
    println!(
        "WARNING: the BLS key shares were dealt by a trusted dealer (this command). Anyone with\n\
         these files could forge certificates. Use this for development and test networks only."
    );
    for f in files {
        println!("  cortado node --config {}", f.display());
    }
    Ok(())
}

async fn submit(args: SubmitArgs) -> Result<()> {
    let payload = match (args.data, args.file) {
        (Some(d), None) => d.into_bytes(),
        (None, Some(f)) => {
            std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?
        }
        _ => bail!("give the payload with --data TEXT or --file PATH"),
    };
    let client = client::Client::new(&args.url);
    let hash = client.submit(args.ns, &payload).await?;
    println!("{hash}");
    if args.wait {
        let start = std::time::Instant::now();
        loop {
            let status = client.transaction(&hash).await?;
            if status["status"] == "finalized" {
                println!(
                    "finalized at height {} index {} ({} ms)",
                    status["height"],
                    status["index"],
                    start.elapsed().as_millis()
                );
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(60) {
                bail!("not finalized after 60 s; is the network running? try `cortado status`");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

async fn tail(args: TailArgs) -> Result<()> {
    if !args.no_verify {
        return verify::tail_verified(args.urls, &args.genesis, args.ns, args.from, args.count)
            .await;
    }
    let client = client::Client::new(&args.urls[0]);
    let mut printed = 0u64;
    let mut events = client.stream_namespace(args.ns, args.from).await?;
    while let Some(event) = events.next().await? {
        let height = event["height"].as_u64().unwrap_or_default();
        let Some(txs) = event["transactions"].as_array() else {
            continue;
        };
        for tx in txs {
            let payload = tx["payload"].as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(payload)
                .unwrap_or_default();
            let text = match std::str::from_utf8(&bytes) {
                Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_string(),
                _ => format!("0x{}", hex_of(&bytes)),
            };
            println!(
                "height {height} index {} {} {text}",
                tx["index"],
                tx["hash"].as_str().unwrap_or_default()
            );
            printed += 1;
            if args.count.is_some_and(|c| printed >= c) {
                return Ok(());
            }
        }
    }
    bail!("the node closed the stream")
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
