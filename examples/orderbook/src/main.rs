//! `orderbook`: run rollup A or B against a Cortado network, play a scripted session of
//! orders, or replay both rollups from the chain. See the example's README.

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use cortado_client::{
    Trust,
    sdk::{Client, Options},
};
use cortado_orderbook::{
    Side,
    follow::{Follower, place, session},
    operator_key,
};
use std::{path::PathBuf, time::Duration};

/// Operator key seeds of the two rollups (deterministic keys: an example, not a deployment).
const SEED_A: u64 = 1001;
const SEED_B: u64 = 1002;

#[derive(Parser)]
#[command(
    name = "orderbook",
    about = "Two toy rollups and a cross-chain order book on Cortado"
)]
struct Cli {
    /// A Cortado node's API.
    #[arg(long, default_value = "http://127.0.0.1:27100", global = true)]
    url: String,
    /// The chain's genesis file (what everything is verified against).
    #[arg(long, default_value = ".cortado-dev/genesis.toml", global = true)]
    genesis: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one rollup: derive its state from Cortado, post the messages it emits, and write the
    /// state to a file as it changes.
    Rollup {
        /// `a` (ALPHA, sends offers) or `b` (BETA, holds the book).
        #[arg(long)]
        side: String,
        /// Where to write the state (JSON).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Place a scripted session of matching orders on both rollups.
    Session {
        /// Number of matching pairs (each pair is two orders; every fifth pair adds one refused
        /// order).
        #[arg(long, default_value_t = 50)]
        pairs: u64,
    },
    /// Re-derive both rollups from the chain alone up to a height and print their states.
    Replay {
        /// The last height to apply.
        #[arg(long)]
        to: u64,
    },
}

fn side(name: &str) -> Result<Side> {
    match name {
        "a" | "A" => Ok(Side::A),
        "b" | "B" => Ok(Side::B),
        other => anyhow::bail!("--side must be a or b, not {other:?}"),
    }
}

fn follower(trust: Trust, url: String, side: Side, post: bool) -> Follower {
    let (own, peer) = match side {
        Side::A => (SEED_A, SEED_B),
        Side::B => (SEED_B, SEED_A),
    };
    Follower::new(
        side,
        trust,
        url,
        operator_key(peer).address(),
        post.then(|| operator_key(own)),
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let trust = Trust::from_genesis_toml(
        &std::fs::read_to_string(&cli.genesis)
            .with_context(|| format!("cannot read {}", cli.genesis.display()))?,
    )?;
    match cli.command {
        Command::Rollup { side: name, state } => {
            let mut f = follower(trust, cli.url, side(&name)?, true);
            loop {
                if f.step().await? {
                    f.post().await?;
                    if let Some(path) = &state {
                        let tmp = path.with_extension("tmp");
                        std::fs::write(&tmp, serde_json::to_vec_pretty(&f.state)?)?;
                        std::fs::rename(&tmp, path)?;
                    }
                    if f.state.height.is_multiple_of(20) {
                        eprintln!(
                            "rollup {name}: height {} trades {} escrowed {} supply {}",
                            f.state.height,
                            f.state.trades.len(),
                            f.state.escrow.len(),
                            f.state.supply()
                        );
                    }
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        Command::Session { pairs } => {
            let client = Client::new(trust, vec![cli.url], Options::default());
            let orders = session(pairs);
            let hashes = place(&client, &orders).await?;
            for hash in &hashes {
                client.wait_final(*hash, Duration::from_secs(60)).await?;
            }
            println!("{} orders placed and final", hashes.len());
            Ok(())
        }
        Command::Replay { to } => {
            for s in [Side::A, Side::B] {
                let mut f = follower(trust.clone(), cli.url.clone(), s, false);
                f.catch_up(to).await?;
                println!("{}", serde_json::to_string_pretty(&f.state)?);
            }
            Ok(())
        }
    }
}
