//! `cortado dev`: a local network of validators, one process each, on 127.0.0.1.
//!
//! The first run generates keys and configs under `--dir` (default `.cortado-dev`); later runs
//! resume the same chain from disk. `--fresh` deletes the directory first. Each node logs to
//! `<dir>/node-<i>/node.log`. Ctrl-C (or SIGTERM) stops every node cleanly.

use anyhow::{Context as _, Result, bail};
use cortado_node::{Genesis, Role, testnet};
use std::{
    fs::File,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// Arguments of `cortado dev`.
#[derive(clap::Args)]
pub struct Args {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    validators: u32,
    /// Where keys, configs, data and logs live.
    #[arg(long, default_value = ".cortado-dev")]
    dir: PathBuf,
    /// Delete the directory and start a new chain.
    #[arg(long)]
    fresh: bool,
    /// p2p port of validator 0 (validator i uses +i).
    #[arg(long, default_value_t = 27000)]
    p2p_port: u16,
    /// API port of validator 0 (validator i uses +i).
    #[arg(long, default_value_t = 27100)]
    api_port: u16,
    /// Stop by itself after this many seconds (for scripts and tests).
    #[arg(long)]
    exit_after: Option<u64>,
    /// Only the first N validators are API nodes (reconstruct every block, serve namespace
    /// data, take submissions); the others keep only their own shares and serve headers,
    /// status and metrics. Default: all (a new chain only).
    #[arg(long)]
    api_nodes: Option<u32>,
    /// Leaders propose no sooner than this many ms after the parent block (written to the node
    /// files of a new chain; 0: at once). Default 40: validators sharing one machine would
    /// otherwise spend their CPU on per-block signatures at high block rates.
    #[arg(long)]
    block_interval_ms: Option<u64>,
    /// Make the keys of a new chain with a real DKG ceremony among the validator processes
    /// (`cortado keygen` and `cortado ceremony` for each) instead of a trusted dealer.
    #[arg(long)]
    dkg: bool,
}

fn prepare(args: &Args) -> Result<Vec<PathBuf>> {
    if args.fresh && args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("cannot delete {}", args.dir.display()))?;
    }
    let genesis_path = args.dir.join("genesis.toml");
    if genesis_path.exists() {
        let genesis = Genesis::load(&genesis_path)?;
        let n = genesis.validators.len() as u32;
        if n != args.validators {
            bail!(
                "{} holds a {n}-validator network; run with --validators {n} to resume it, or --fresh to start over with {}",
                args.dir.display(),
                args.validators
            );
        }
        if args.api_nodes.is_some() || args.block_interval_ms.is_some() {
            bail!(
                "--api-nodes and --block-interval-ms apply to a new chain; {} already holds one (see its genesis.toml and node files): add --fresh to start over",
                args.dir.display()
            );
        }
        println!("resuming the chain in {}", args.dir.display());
        return Ok((0..n)
            .map(|i| args.dir.join(format!("node-{i}")).join("node.toml"))
            .collect());
    }
    if args.dkg {
        if args.block_interval_ms.is_some() {
            bail!(
                "--block-interval-ms is written by the dealer's generator; with --dkg, edit [consensus] block_interval_min_ms in the node files after the ceremony"
            );
        }
        return ceremony(args);
    }
    let files = testnet::generate(
        &args.dir,
        &testnet::Options {
            validators: args.validators,
            chain_id: 1,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            p2p_port_base: args.p2p_port,
            api_port_base: args.api_port,
            timestamp_ms: crate::now_ms(),
            limits: Default::default(),
            seed: None,
            consensus: cortado_node::ConsensusFile {
                block_interval_min_ms: args
                    .block_interval_ms
                    .unwrap_or(cortado_node::BLOCK_INTERVAL_MIN_MS),
                ..Default::default()
            },
            api_nodes: args.api_nodes,
        },
    )?;
    println!(
        "new chain in {} (keys dealt by a trusted dealer: development only)",
        args.dir.display()
    );
    Ok(files)
}

/// A new chain whose keys come from a DKG among `args.validators` `cortado ceremony`
/// processes: each validator's identity in `node-<i>/identity.toml`, the ceremony file in
/// `ceremony.toml`, each ceremony's output in `node-<i>/`, and the genesis copied to the top.
fn ceremony(args: &Args) -> Result<Vec<PathBuf>> {
    let exe = std::env::current_exe().context("cannot find the cortado executable")?;
    // Identities first, then each in the directory of its rank: validators are numbered in
    // key order (genesis order), as `cortado dev` prints them.
    let mut keys = Vec::new();
    for i in 0..args.validators {
        let dir = args.dir.join(format!("key-{i}"));
        keys.push((
            cortado_node::ceremony::keygen(&dir.join("identity.toml"))?,
            dir,
        ));
    }
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let mut participants = Vec::new();
    for (i, (key, dir)) in keys.into_iter().enumerate() {
        let i = i as u32;
        std::fs::rename(&dir, args.dir.join(format!("node-{i}")))?;
        let role = match args.api_nodes {
            Some(api) if i >= api => "validator",
            _ => "api",
        };
        participants.push(format!(
            "[[participants]]\npublic_key = \"{key}\"\np2p = \"127.0.0.1:{}\"\napi = \"127.0.0.1:{}\"\nrole = \"{role}\"\n",
            args.p2p_port as u32 + i,
            args.api_port as u32 + i
        ));
    }
    let file = args.dir.join("ceremony.toml");
    std::fs::write(
        &file,
        format!(
            "# The validators' key ceremony (`cortado dev --dkg`).\nchain_id = 1\nround = 0\ntimestamp_ms = {}\n\n{}",
            crate::now_ms(),
            participants.join("\n")
        ),
    )
    .with_context(|| format!("cannot write {}", file.display()))?;
    println!(
        "running a key ceremony among {} validator processes (no dealer)...",
        args.validators
    );
    let mut children = Vec::new();
    for i in 0..args.validators {
        let dir = args.dir.join(format!("node-{i}"));
        let log = File::create(dir.join("ceremony.log"))?;
        children.push(
            Command::new(&exe)
                .arg("ceremony")
                .arg("--config")
                .arg(&file)
                .arg("--key")
                .arg(dir.join("identity.toml"))
                .arg("--out")
                .arg(&dir)
                .args(["--timeout-s", "120"])
                .stdout(Stdio::from(log.try_clone()?))
                .stderr(Stdio::from(log))
                .spawn()
                .context("cannot start a ceremony process")?,
        );
    }
    for (i, child) in children.iter_mut().enumerate() {
        if !child.wait()?.success() {
            let log = args.dir.join(format!("node-{i}")).join("ceremony.log");
            bail!(
                "validator {i}'s ceremony failed; see {}:\n{}",
                log.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
    }
    std::fs::copy(
        args.dir.join("node-0").join("genesis.toml"),
        args.dir.join("genesis.toml"),
    )?;
    println!(
        "new chain in {} (keys from a DKG ceremony: check with `cortado genesis verify --genesis {0}/genesis.toml --ceremony {0}/ceremony.toml --transcript {0}/node-0/ceremony-transcript.hex`)",
        args.dir.display()
    );
    Ok((0..args.validators)
        .map(|i| args.dir.join(format!("node-{i}")).join("node.toml"))
        .collect())
}

fn spawn(config: &Path, exit_after: Option<u64>) -> Result<Child> {
    let exe = std::env::current_exe().context("cannot find the cortado executable")?;
    let dir = config.parent().unwrap_or(Path::new("."));
    let log = File::create(dir.join("node.log"))
        .with_context(|| format!("cannot create {}", dir.join("node.log").display()))?;
    let mut command = Command::new(exe);
    command.arg("node").arg("--config").arg(config);
    if let Some(secs) = exit_after {
        // A safety net: the nodes stop by themselves shortly after the network should have.
        command.arg("--exit-after").arg((secs + 30).to_string());
    }
    command
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()
        .context("cannot start a node process")
}

/// Asks a child to stop (SIGTERM), then kills it if it does not within `grace`.
fn stop(children: &mut [Child], grace: Duration) {
    for child in children.iter() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
    }
    let deadline = std::time::Instant::now() + grace;
    for child in children.iter_mut() {
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                _ if std::time::Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// Runs the network until Ctrl-C, SIGTERM or `--exit-after`.
pub fn run(args: Args) -> Result<()> {
    let files = prepare(&args)?;
    let genesis = Genesis::load(&args.dir.join("genesis.toml"))?;
    let mut children = Vec::new();
    for f in &files {
        match spawn(f, args.exit_after) {
            Ok(c) => children.push(c),
            Err(e) => {
                stop(&mut children, Duration::from_secs(5));
                return Err(e);
            }
        }
    }
    println!(
        "{} validators running (chain id {}):",
        files.len(),
        genesis.chain_id
    );
    for (i, v) in genesis.validators.iter().enumerate() {
        let api = v.api.map(|a| format!("http://{a}")).unwrap_or_default();
        let role = match v.role {
            Role::Api => "api",
            Role::Validator => "validator only (headers, status, metrics)",
        };
        println!(
            "  node {i}: {role}  {api}  p2p {}  log {}",
            v.p2p,
            args.dir
                .join(format!("node-{i}"))
                .join("node.log")
                .display()
        );
    }
    println!("Ctrl-C stops the network; `cortado dev` again resumes it.");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let urls: Vec<String> = genesis
        .validators
        .iter()
        .map(|v| {
            v.api
                .map(|a| format!("http://{a}"))
                .unwrap_or_else(|| crate::DEFAULT_URL.to_string())
        })
        .collect();
    let outcome = runtime.block_on(watch(&urls, &mut children, args.exit_after));
    println!("stopping");
    stop(&mut children, Duration::from_secs(10));
    outcome
}

/// Prints node 0's progress when it changes, and a line for every node that is catching up
/// (and once more when it reaches the tip).
async fn watch(urls: &[String], children: &mut [Child], exit_after: Option<u64>) -> Result<()> {
    let clients: Vec<_> = urls.iter().map(|u| crate::client::Client::new(u)).collect();
    let client = &clients[0];
    let mut syncing = vec![false; clients.len()];
    let started = std::time::Instant::now();
    let mut last_height = None;
    let mut ticker = tokio::time::interval(Duration::from_secs(2));
    // Listeners are created once: a signal that arrives while we poll a node's status is kept
    // for the next select instead of being lost.
    #[cfg(unix)]
    let (mut term, mut int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    loop {
        #[cfg(unix)]
        tokio::select! {
            _ = int.recv() => return Ok(()),
            _ = term.recv() => return Ok(()),
            _ = ticker.tick() => {}
        }
        #[cfg(not(unix))]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = ticker.tick() => {}
        }
        if exit_after.is_some_and(|s| started.elapsed() >= Duration::from_secs(s)) {
            return Ok(());
        }
        for (i, child) in children.iter_mut().enumerate() {
            if let Ok(Some(status)) = child.try_wait() {
                bail!("node {i} exited ({status}); see its node.log");
            }
        }
        if let Ok(status) = client.status().await {
            let height = status["height"].as_u64();
            if height != last_height {
                println!(
                    "height {}  view {}  finality {} ms  mempool {} txs",
                    height.map(|h| h.to_string()).unwrap_or_else(|| "-".into()),
                    status["view"],
                    status["last_finality_latency_ms"],
                    status["mempool"]["txs"]
                );
                last_height = height;
            }
        }
        for (i, c) in clients.iter().enumerate() {
            let Ok(status) = c.status().await else {
                continue;
            };
            let now = status["sync"]["state"] == "syncing";
            if now || syncing[i] {
                println!("node {i} {}", crate::client::sync_line(&status));
            }
            syncing[i] = now;
        }
    }
}
