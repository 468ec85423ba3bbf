//! `cortado bench`: offered load against a running network, measuring submit → finalized as a
//! client sees it (submission sent → the transaction appears on the node's SSE stream of its
//! namespace).

use crate::client::Client;
use anyhow::{Result, bail};
use serde::Serialize;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Arguments of `cortado bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Node API URLs to submit to (round-robin). The first one is followed over SSE.
    #[arg(long = "url", default_value = crate::DEFAULT_URL)]
    urls: Vec<String>,
    /// Offered load, transactions per second.
    #[arg(long, default_value_t = 50)]
    rate: u64,
    /// Payload size in bytes.
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// Number of namespaces to spread transactions over.
    #[arg(long, default_value_t = 4)]
    namespaces: u64,
    /// First namespace id.
    #[arg(long, default_value_t = 1_000)]
    namespace_base: u64,
    /// How long to offer load, seconds.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Write the result as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The result of a run.
#[derive(Serialize)]
struct Report {
    urls: Vec<String>,
    offered_tx_per_s: u64,
    payload_bytes: usize,
    namespaces: u64,
    duration_s: u64,
    submitted: u64,
    finalized: u64,
    failed: u64,
    achieved_tx_per_s: f64,
    achieved_bytes_per_s: f64,
    latency_ms: Percentiles,
}

#[derive(Serialize, Default)]
struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Percentiles {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: v[v.len() - 1],
        mean: v.iter().sum::<f64>() / v.len() as f64,
    }
}

type Pending = Arc<Mutex<HashMap<String, Instant>>>;

/// Runs the benchmark.
pub async fn run(args: Args) -> Result<()> {
    if args.urls.is_empty() || args.rate == 0 || args.namespaces == 0 {
        bail!("--url, --rate and --namespaces must be non-empty / positive");
    }
    let follow = Client::new(&args.urls[0]);
    let start_height = follow.status().await?["height"].as_u64().unwrap_or(0) + 1;
    let pending: Pending = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();

    // Follow every namespace from the current height.
    let mut followers = Vec::new();
    for ns in args.namespace_base..args.namespace_base + args.namespaces {
        let mut events = follow.stream_namespace(ns, Some(start_height)).await?;
        let (pending, latencies) = (pending.clone(), latencies.clone());
        followers.push(tokio::spawn(async move {
            while let Ok(Some(event)) = events.next().await {
                let now = Instant::now();
                for tx in event["transactions"].as_array().into_iter().flatten() {
                    let Some(hash) = tx["hash"].as_str() else {
                        continue;
                    };
                    if let Some(sent) = pending.lock().expect("lock").remove(hash) {
                        latencies
                            .lock()
                            .expect("lock")
                            .push((now - sent).as_secs_f64() * 1e3);
                    }
                }
            }
        }));
    }

    let clients: Vec<Arc<Client>> = args.urls.iter().map(|u| Arc::new(Client::new(u))).collect();
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let total = args.rate * args.duration;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let failed = Arc::new(Mutex::new(0u64));
    let began = Instant::now();
    let mut submits = tokio::task::JoinSet::new();
    for i in 0..total {
        ticker.tick().await;
        let client = clients[(i as usize) % clients.len()].clone();
        let ns = args.namespace_base + i % args.namespaces;
        let mut payload = format!("bench-{}-{i}-", crate::now_ms()).into_bytes();
        payload.resize(args.size.max(payload.len()), b'.');
        let tx_hash = cortado_types::Transaction::new(ns, payload.clone())
            .hash()
            .to_hex();
        pending
            .lock()
            .expect("lock")
            .insert(tx_hash, Instant::now());
        let failed = failed.clone();
        submits.spawn(async move {
            if client.submit(ns, &payload).await.is_err() {
                *failed.lock().expect("lock") += 1;
            }
        });
        if i % args.rate == 0 {
            eprint!("\r{}/{} submitted", i, total);
        }
    }
    while submits.join_next().await.is_some() {}
    eprintln!("\r{total}/{total} submitted; waiting for finality");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && pending.lock().expect("lock").len() as u64 > *failed.lock().expect("lock")
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = began.elapsed().as_secs_f64();
    for f in followers {
        f.abort();
    }
    let latencies = latencies.lock().expect("lock").clone();
    let finalized = latencies.len() as u64;
    let failed = *failed.lock().expect("lock");
    let report = Report {
        urls: args.urls.clone(),
        offered_tx_per_s: args.rate,
        payload_bytes: args.size,
        namespaces: args.namespaces,
        duration_s: args.duration,
        submitted: total,
        finalized,
        failed,
        achieved_tx_per_s: finalized as f64 / elapsed,
        achieved_bytes_per_s: (finalized as f64 * args.size as f64) / elapsed,
        latency_ms: percentiles(latencies),
    };
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(out) = args.out {
        std::fs::write(&out, &json)?;
    }
    if finalized + failed < total {
        bail!(
            "{} of {total} transactions were neither finalized nor reported failed within 30 s",
            total - finalized - failed
        );
    }
    Ok(())
}
