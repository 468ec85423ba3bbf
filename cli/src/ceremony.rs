//! `cortado keygen`, `cortado ceremony` and `cortado genesis verify`: a network's keys without
//! a dealer (`cortado_node::ceremony`).

use anyhow::{Context as _, Result};
use cortado_node::ceremony::{self, CeremonyFile, Options};
use std::{path::PathBuf, time::Duration};

/// `cortado keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Where to write the identity (private, mode 0600; never overwritten).
    #[arg(long, default_value = "identity.toml")]
    out: PathBuf,
}

/// `cortado ceremony`.
#[derive(clap::Args)]
pub struct CeremonyArgs {
    /// The ceremony file every participant agreed on (chain id, round, participants).
    #[arg(long)]
    config: PathBuf,
    /// This operator's identity (from `cortado keygen`).
    #[arg(long, default_value = "identity.toml")]
    key: PathBuf,
    /// Output directory: genesis.toml, node.toml (private), ceremony-transcript.hex.
    #[arg(long)]
    out: PathBuf,
    /// Abort, with a report of who did not take part, after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_s: u64,
}

/// `cortado genesis verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The genesis file to check.
    #[arg(long)]
    genesis: PathBuf,
    /// The ceremony file it came from.
    #[arg(long)]
    ceremony: PathBuf,
    /// The ceremony transcript (`ceremony-transcript.hex`).
    #[arg(long)]
    transcript: PathBuf,
}

/// Makes an identity and prints its public key (for the ceremony file).
pub fn keygen(args: KeygenArgs) -> Result<()> {
    let key = ceremony::keygen(&args.out)?;
    println!("{key}");
    eprintln!(
        "wrote {} (private); give the public key above, with this host's p2p and API addresses, to whoever writes the ceremony file",
        args.out.display()
    );
    Ok(())
}

/// Runs this operator's part of the ceremony.
pub fn run(args: CeremonyArgs) -> Result<()> {
    let file = CeremonyFile::load(&args.config)?;
    let identity = ceremony::load_identity(&args.key)?;
    let genesis = ceremony::run(
        &file,
        identity,
        &Options {
            out: args.out.clone(),
            timeout: Duration::from_secs(args.timeout_s),
        },
    )
    .context("the ceremony failed (run it again, with the next `round`, once the participants named above are ready or removed)")?;
    println!("wrote {}", genesis.display());
    println!(
        "  cortado node --config {}",
        args.out.join("node.toml").display()
    );
    Ok(())
}

/// Checks a genesis against its ceremony.
pub fn verify(args: VerifyArgs) -> Result<()> {
    println!(
        "{}",
        ceremony::verify(&args.genesis, &args.ceremony, &args.transcript)?
    );
    Ok(())
}
