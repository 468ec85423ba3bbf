//! `cortado bench`: offered load against a running network, measuring submit → finalized as a
//! client sees it (submission sent → the transaction appears on a node's SSE stream of its
//! namespace), achieved throughput, and each node's bytes in, out and stored (from `/metrics`).
//!
//! A run is one or more *steps* (`--sweep`), each at one offered rate for `--duration` seconds.
//! Every transaction submitted is accounted for: finalized, failed (the submission was refused
//! or the node unreachable, by kind), or timed out (not seen final within
//! `--finality-timeout`). The JSON result (`--out`) holds per step the latency percentiles,
//! a per-second series and the per-node byte deltas; `--svg` draws latency over time and, with
//! two or more steps, latency against offered load.

use crate::client::Client;
use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Arguments of `cortado bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Node API URLs to submit to (round-robin); the first is followed over SSE and all are
    /// scraped for metrics. Repeat the flag or separate with commas.
    #[arg(long = "url", value_delimiter = ',', default_value = crate::DEFAULT_URL)]
    urls: Vec<String>,
    /// More nodes to scrape for metrics (bytes in, out and stored) without submitting to them:
    /// validators that are not API nodes. Repeat the flag or separate with commas.
    #[arg(long = "metrics-url", value_delimiter = ',')]
    metrics_urls: Vec<String>,
    /// Offered load in transactions per second (ignored with --mbps).
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Offered load in megabytes (10^6 bytes) of payload per second, converted to a rate with
    /// the mean transaction size.
    #[arg(long)]
    mbps: Option<f64>,
    /// Offered loads to run one after the other (tx/s, or MB/s with --mbps), e.g. 50,200,800.
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<f64>,
    /// Payload size in bytes (fixed), unless --size-max is given.
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// With --size-max: sizes uniform in [--size, --size-max].
    #[arg(long)]
    size_max: Option<usize>,
    /// Number of namespaces to spread transactions over.
    #[arg(long, default_value_t = 4)]
    namespaces: u64,
    /// First namespace id.
    #[arg(long, default_value_t = 1_000)]
    namespace_base: u64,
    /// How long each step offers load, seconds.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Pause between steps, seconds.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// A transaction not seen final this long after its step's last submission is counted as
    /// timed out.
    #[arg(long, default_value_t = 30.0)]
    finality_timeout: f64,
    /// Write the result as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Draw latency over time (and against offered load) as SVG here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// No progress line on stderr.
    #[arg(long)]
    quiet: bool,
    /// SSE subscribers to keep open on the nodes (--url, round-robin) for the whole run: heavy
    /// readers beside the load (see `readers.rs` for the mix).
    #[arg(long, default_value_t = 0)]
    readers: usize,
    /// Clients issuing range queries (a 100-header replay and a block read, in a loop) for the
    /// whole run.
    #[arg(long, default_value_t = 0)]
    range_readers: usize,
    /// Range queries per second between all range readers (default: each asks again as soon
    /// as it is answered).
    #[arg(long)]
    range_rate: Option<f64>,
    /// How many steps below the load generator's priority the readers run (0 to 19): they
    /// stand for clients on other machines, so by default they take only CPU left idle.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=19))]
    readers_nice: u8,
}

/// Lowest `--range-rate`: one query every 1,000 s between all range readers.
const RANGE_RATE_MIN: f64 = 0.001;

/// Latency percentiles, milliseconds.
#[derive(Serialize, Default, Clone, Copy, Debug)]
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

/// One second of a step.
#[derive(Serialize, Clone, Debug)]
struct Second {
    /// Seconds since the step started.
    t: u64,
    /// Transactions that became final in this second.
    finalized: u64,
    /// Latency percentiles of those.
    latency_ms: Percentiles,
}

/// A node's byte counters, and their change over a step.
#[derive(Serialize, Clone, Copy, Default, Debug)]
struct NodeBytes {
    /// p2p payload bytes sent, all channels.
    p2p_sent: f64,
    /// p2p payload bytes received, all channels.
    p2p_received: f64,
    /// Bytes of own shares stored.
    shares_stored: f64,
    /// Bytes written to storage by the runtime (journals, archives; not the SQLite index).
    storage_written: f64,
    /// Seconds summed over the node's finality latencies (`chain_finalizer_finality_latency_
    /// seconds`: proposal timestamp to finalized, reconstructed and indexed on the node).
    finality_latency_sum_s: f64,
    /// How many blocks that sum is over.
    finality_latency_count: f64,
}

impl NodeBytes {
    fn minus(self, before: Self) -> Self {
        Self {
            p2p_sent: self.p2p_sent - before.p2p_sent,
            p2p_received: self.p2p_received - before.p2p_received,
            shares_stored: self.shares_stored - before.shares_stored,
            storage_written: self.storage_written - before.storage_written,
            finality_latency_sum_s: self.finality_latency_sum_s - before.finality_latency_sum_s,
            finality_latency_count: self.finality_latency_count - before.finality_latency_count,
        }
    }
}

/// One step's result.
#[derive(Serialize, Debug)]
struct Step {
    offered_tx_per_s: f64,
    offered_bytes_per_s: f64,
    duration_s: f64,
    submitted: u64,
    finalized: u64,
    failed: u64,
    failed_by_kind: BTreeMap<String, u64>,
    timed_out: u64,
    achieved_tx_per_s: f64,
    achieved_bytes_per_s: f64,
    latency_ms: Percentiles,
    per_second: Vec<Second>,
    /// Per node URL: byte counter deltas over the step (null if /metrics was unreachable).
    node_bytes: BTreeMap<String, Option<NodeBytes>>,
}

/// The result of a run.
#[derive(Serialize, Debug)]
struct Report {
    command: String,
    started_unix_ms: u64,
    cores: usize,
    urls: Vec<String>,
    metrics_urls: Vec<String>,
    sizes: String,
    namespaces: u64,
    steps: Vec<Step>,
    submitted: u64,
    finalized: u64,
    failed: u64,
    timed_out: u64,
    /// The heavy readers (`--readers`, `--range-readers`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    readers: Option<crate::readers::ReadersReport>,
}

/// Sizes drawn from a fixed value or a uniform range, with a small deterministic generator.
struct Sizes {
    min: usize,
    max: usize,
    state: u64,
}

impl Sizes {
    fn mean(&self) -> f64 {
        (self.min + self.max) as f64 / 2.0
    }

    fn next(&mut self) -> usize {
        if self.max <= self.min {
            return self.min;
        }
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        self.min + (r % (self.max - self.min + 1) as u64) as usize
    }
}

/// Sent, not yet seen final: hash → (send time, step).
type Pending = Arc<Mutex<HashMap<String, (Instant, usize)>>>;
/// Seen final: per step, (time since the run began, latency ms).
type Seen = Arc<Mutex<Vec<Vec<(Duration, f64)>>>>;
/// Failed submissions of a step, by kind.
type Failures = Arc<Mutex<BTreeMap<String, u64>>>;

/// Sum of every sample of metric `name` (any labels) in Prometheus text.
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(http: &reqwest::Client, url: &str) -> Option<NodeBytes> {
    let text = http
        .get(format!("{url}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    Some(NodeBytes {
        p2p_sent: metric_sum(&text, "p2p_sent_bytes_total"),
        p2p_received: metric_sum(&text, "p2p_received_bytes_total"),
        shares_stored: metric_sum(&text, "chain_dispersal_share_bytes_stored_total"),
        storage_written: metric_sum(&text, "runtime_storage_write_bytes_total"),
        finality_latency_sum_s: metric_sum(&text, "chain_finalizer_finality_latency_seconds_sum"),
        finality_latency_count: metric_sum(&text, "chain_finalizer_finality_latency_seconds_count"),
    })
}

async fn scrape_all(http: &reqwest::Client, urls: &[String]) -> Vec<Option<NodeBytes>> {
    let mut out = Vec::with_capacity(urls.len());
    for url in urls {
        out.push(scrape(http, url).await);
    }
    out
}

/// The kind of a failed submission, for counting.
fn failure_kind(err: &anyhow::Error) -> String {
    let text = err.to_string();
    if text.starts_with("cannot reach") {
        return "unreachable".into();
    }
    // "<url> answered 503 Service Unavailable: …"
    text.split(" answered ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .map(str::to_string)
        .unwrap_or_else(|| "other".into())
}

/// Runs the benchmark.
pub async fn run(args: Args) -> Result<()> {
    if args.urls.is_empty() || args.namespaces == 0 {
        bail!("--url and --namespaces must be non-empty / positive");
    }
    if args.duration <= 0.0 || args.finality_timeout <= 0.0 {
        bail!("--duration and --finality-timeout must be positive");
    }
    if let Some(rate) = args.range_rate
        && !(rate.is_finite() && rate >= RANGE_RATE_MIN)
    {
        bail!("--range-rate is {rate}; it must be at least {RANGE_RATE_MIN} queries per second");
    }
    let mut sizes = Sizes {
        min: args.size,
        max: args.size_max.unwrap_or(args.size).max(args.size),
        state: 0x9E37_79B9_7F4A_7C15,
    };
    let mean_size = sizes.mean();
    let loads: Vec<f64> = if args.sweep.is_empty() {
        vec![args.mbps.unwrap_or(args.rate)]
    } else {
        args.sweep.clone()
    };
    let rates: Vec<f64> = loads
        .iter()
        .map(|l| match args.mbps {
            Some(_) => l * 1e6 / mean_size.max(1.0),
            None => *l,
        })
        .collect();
    if rates.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        bail!("offered loads must be positive");
    }

    let follow = Client::new(&args.urls[0]);
    let scraped: Vec<String> = args
        .urls
        .iter()
        .chain(&args.metrics_urls)
        .cloned()
        .collect();
    let start_height = follow.status().await?["height"].as_u64().unwrap_or(0) + 1;
    let pending: Pending = Arc::default();
    let seen: Seen = Arc::new(Mutex::new(vec![Vec::new(); rates.len()]));
    let began = Instant::now();

    // Follow every namespace from the current height for the whole run.
    let mut followers = Vec::new();
    for ns in args.namespace_base..args.namespace_base + args.namespaces {
        // Hashes only: the bench tracks inclusion, and the payload bytes would cost the node
        // and this client more than the measurement.
        let mut events = follow
            .stream_namespace_with(ns, Some(start_height), false)
            .await?;
        let (pending, seen) = (pending.clone(), seen.clone());
        followers.push(tokio::spawn(async move {
            while let Ok(Some(event)) = events.next().await {
                let now = Instant::now();
                for tx in event["transactions"].as_array().into_iter().flatten() {
                    let Some(hash) = tx["hash"].as_str() else {
                        continue;
                    };
                    if let Some((sent, step)) = pending.lock().expect("lock").remove(hash) {
                        seen.lock().expect("lock")[step]
                            .push((now - began, (now - sent).as_secs_f64() * 1e3));
                    }
                }
            }
        }));
    }

    let readers = (args.readers + args.range_readers > 0)
        .then(|| {
            crate::readers::Readers::start(
                &args.urls,
                args.readers,
                args.range_readers,
                args.range_rate,
                args.namespace_base..args.namespace_base + args.namespaces,
                args.readers_nice,
            )
        })
        .transpose()
        .context("cannot start the readers' runtime")?;
    let http = reqwest::Client::new();
    let clients: Vec<Arc<Client>> = args.urls.iter().map(|u| Arc::new(Client::new(u))).collect();
    let mut steps = Vec::new();
    for (index, rate) in rates.iter().copied().enumerate() {
        if index > 0 {
            tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
        }
        let before = scrape_all(&http, &scraped).await;
        let step_began = began.elapsed();
        let total = (rate * args.duration).round().max(1.0) as u64;
        let failures: Failures = Arc::default();
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut submits = tokio::task::JoinSet::new();
        let mut bytes_offered = 0usize;
        let mut last_progress = Instant::now();
        for i in 0..total {
            ticker.tick().await;
            let client = clients[(i as usize) % clients.len()].clone();
            let ns = args.namespace_base + i % args.namespaces;
            let mut payload = format!("bench-{}-{index}-{i}-", crate::now_ms()).into_bytes();
            payload.resize(sizes.next().max(payload.len()), b'.');
            bytes_offered += payload.len();
            let hash =
                cortado_types::Transaction::hash_parts(cortado_types::Namespace(ns), &payload)
                    .to_hex();
            pending
                .lock()
                .expect("lock")
                .insert(hash.clone(), (Instant::now(), index));
            let (failed, pending) = (failures.clone(), pending.clone());
            submits.spawn(async move {
                // Counted as failed only if not already seen final (one bucket per tx).
                if let Err(e) = client.submit_raw(ns, payload).await
                    && pending.lock().expect("lock").remove(&hash).is_some()
                {
                    *failed
                        .lock()
                        .expect("lock")
                        .entry(failure_kind(&e))
                        .or_default() += 1;
                }
            });
            // Reap finished submissions so the set stays small.
            while submits.try_join_next().is_some() {}
            if !args.quiet && last_progress.elapsed() >= Duration::from_millis(500) {
                last_progress = Instant::now();
                progress(index, rates.len(), rate, (i + 1, total), &seen, &failures);
            }
        }
        while submits.join_next().await.is_some() {}
        // Wait for this step's transactions to be seen final, or time out.
        let deadline = Instant::now() + Duration::from_secs_f64(args.finality_timeout);
        loop {
            let waiting = pending
                .lock()
                .expect("lock")
                .values()
                .filter(|(_, s)| *s == index)
                .count();
            if waiting == 0 || Instant::now() >= deadline {
                break;
            }
            if !args.quiet && last_progress.elapsed() >= Duration::from_millis(500) {
                last_progress = Instant::now();
                progress(index, rates.len(), rate, (total, total), &seen, &failures);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let timed_out = {
            let mut p = pending.lock().expect("lock");
            let before = p.len();
            p.retain(|_, (_, s)| *s != index);
            (before - p.len()) as u64
        };
        let after = scrape_all(&http, &scraped).await;
        let step_elapsed = began.elapsed() - step_began;
        let samples = seen.lock().expect("lock")[index].clone();
        let failed_by_kind = failures.lock().expect("lock").clone();
        let failed: u64 = failed_by_kind.values().sum();
        let finalized = samples.len() as u64;
        let mut per_second: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for (at, latency) in &samples {
            per_second
                .entry(at.saturating_sub(step_began).as_secs())
                .or_default()
                .push(*latency);
        }
        let secs = step_elapsed.as_secs_f64().max(1e-9);
        let node_bytes = scraped
            .iter()
            .zip(before.iter().zip(after.iter()))
            .map(|(url, (b, a))| (url.clone(), a.zip(*b).map(|(a, b)| a.minus(b))))
            .collect();
        if !args.quiet {
            eprintln!();
        }
        steps.push(Step {
            offered_tx_per_s: rate,
            offered_bytes_per_s: rate * mean_size,
            duration_s: args.duration,
            submitted: total,
            finalized,
            failed,
            failed_by_kind,
            timed_out,
            achieved_tx_per_s: finalized as f64 / secs,
            achieved_bytes_per_s: bytes_offered as f64 / total as f64 * finalized as f64 / secs,
            latency_ms: percentiles(samples.iter().map(|(_, l)| *l).collect()),
            per_second: per_second
                .into_iter()
                .map(|(t, v)| Second {
                    t,
                    finalized: v.len() as u64,
                    latency_ms: percentiles(v),
                })
                .collect(),
            node_bytes,
        });
    }
    for f in followers {
        f.abort();
    }
    let readers = match readers {
        Some(r) => Some(r.stop().await),
        None => None,
    };
    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        started_unix_ms: crate::now_ms().saturating_sub(began.elapsed().as_millis() as u64),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        urls: args.urls.clone(),
        metrics_urls: args.metrics_urls.clone(),
        sizes: if sizes.max > sizes.min {
            format!("uniform {}..={} bytes", sizes.min, sizes.max)
        } else {
            format!("{} bytes", sizes.min)
        },
        namespaces: args.namespaces,
        submitted: steps.iter().map(|s| s.submitted).sum(),
        finalized: steps.iter().map(|s| s.finalized).sum(),
        failed: steps.iter().map(|s| s.failed).sum(),
        timed_out: steps.iter().map(|s| s.timed_out).sum(),
        steps,
        readers,
    };
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(out) = &args.out {
        std::fs::write(out, &json).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, svg(&report))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if report.timed_out > 0 {
        eprintln!(
            "{} of {} transactions were not seen final within {} s",
            report.timed_out, report.submitted, args.finality_timeout
        );
    }
    Ok(())
}

/// The progress line: step, rate, a bar, counts and the step's p50 so far.
fn progress(
    step: usize,
    steps: usize,
    rate: f64,
    (submitted, total): (u64, u64),
    seen: &Seen,
    failures: &Failures,
) {
    let (finalized, p50) = {
        let seen = seen.lock().expect("lock");
        let latencies: Vec<f64> = seen[step].iter().map(|(_, l)| *l).collect();
        (latencies.len(), percentiles(latencies).p50)
    };
    let failed: u64 = failures.lock().expect("lock").values().sum();
    let width = 24usize;
    let filled = (submitted as usize * width) / (total.max(1) as usize);
    eprint!(
        "\rstep {}/{steps} {rate:.0} tx/s [{}{}] submitted {submitted}/{total} finalized {finalized} failed {failed} p50 {p50:.0} ms   ",
        step + 1,
        "#".repeat(filled),
        ".".repeat(width - filled),
    );
}

/// Colours of the lines.
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

/// One line of a chart: label, colour, dashed, points.
type Series<'a> = (String, &'a str, bool, Vec<(f64, f64)>);

/// Draws one chart in the box `(x0, y0, w, h)`: axes with five ticks each, labels, a legend.
fn chart(
    out: &mut String,
    (x0, y0, w, h): (f64, f64, f64, f64),
    title: &str,
    x_label: &str,
    series: &[Series],
) {
    let points = series.iter().flat_map(|s| s.3.iter());
    let x_max = points.clone().map(|p| p.0).fold(0.0, f64::max).max(1.0);
    let y_max = points.map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
    let px = |x: f64| x0 + x / x_max * w;
    let py = |y: f64| y0 + h - y / y_max * h;
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="14" text-anchor="middle">{title}</text>"#,
        x0 + w / 2.0,
        y0 - 10.0
    );
    let _ = write!(
        out,
        r##"<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#444"/>"##
    );
    for i in 0..=5 {
        let (fx, fy) = (x_max * i as f64 / 5.0, y_max * i as f64 / 5.0);
        let _ = write!(
            out,
            r##"<line x1="{:.1}" y1="{y0:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{fx:.0}</text><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{fy:.0}</text>"##,
            px(fx),
            px(fx),
            y0 + h,
            px(fx),
            y0 + h + 14.0,
            x0 - 4.0,
            py(fy) + 4.0
        );
    }
    let (lx, ly) = (x0 - 40.0, y0 + h / 2.0);
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{x_label}</text><text x="{lx:.1}" y="{ly:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 {lx:.1} {ly:.1})">latency (ms)</text>"#,
        x0 + w / 2.0,
        y0 + h + 32.0,
    );
    for (i, (label, colour, dashed, pts)) in series.iter().enumerate() {
        if pts.is_empty() {
            continue;
        }
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let dash = if *dashed {
            r#" stroke-dasharray="5,3""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>"#,
            path.join(" ")
        );
        for (x, y) in pts {
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{colour}"/>"#,
                px(*x),
                py(*y)
            );
        }
        let ly = y0 + 14.0 + i as f64 * 14.0;
        let _ = write!(
            out,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"{dash}/><text x="{:.1}" y="{ly:.1}" font-size="11">{label}</text>"#,
            x0 + 8.0,
            ly - 4.0,
            x0 + 28.0,
            ly - 4.0,
            x0 + 32.0,
        );
    }
}

/// The SVG of a report: latency p50 (solid) and p99 (dashed) per second of each step; with two
/// or more steps, p50 and p99 against offered load.
fn svg(report: &Report) -> String {
    let sweep = report.steps.len() >= 2;
    let width = if sweep { 1000.0 } else { 520.0 };
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="380" font-family="sans-serif">"#
    );
    let mut series = Vec::new();
    let mut offset = 0.0;
    for (i, step) in report.steps.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let line = |f: fn(&Percentiles) -> f64| -> Vec<(f64, f64)> {
            step.per_second
                .iter()
                .map(|s| (offset + s.t as f64, f(&s.latency_ms)))
                .collect()
        };
        let rate = step.offered_tx_per_s;
        series.push((
            format!("{rate:.0} tx/s p50"),
            colour,
            false,
            line(|p| p.p50),
        ));
        series.push((format!("{rate:.0} tx/s p99"), colour, true, line(|p| p.p99)));
        offset += step.per_second.last().map_or(0.0, |s| s.t as f64 + 1.0);
    }
    chart(
        &mut out,
        (70.0, 40.0, 420.0, 280.0),
        "latency per second (submit to final)",
        "time (s, steps back to back)",
        &series,
    );
    if sweep {
        let line = |f: fn(&Percentiles) -> f64| -> Vec<(f64, f64)> {
            report
                .steps
                .iter()
                .map(|s| (s.offered_tx_per_s, f(&s.latency_ms)))
                .collect()
        };
        chart(
            &mut out,
            (560.0, 40.0, 420.0, 280.0),
            "latency vs offered load",
            "offered load (tx/s)",
            &[
                ("p50".to_string(), COLOURS[0], false, line(|p| p.p50)),
                ("p99".to_string(), COLOURS[1], true, line(|p| p.p99)),
            ],
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_sums_match_names_exactly() {
        let text = "# HELP p2p_sent_bytes_total x\np2p_sent_bytes_total{channel=\"a\"} 10\np2p_sent_bytes_total{channel=\"b\"} 5\np2p_sent_bytes_total_other 99\nmempool_bytes 7\n# EOF\n";
        assert_eq!(metric_sum(text, "p2p_sent_bytes_total"), 15.0);
        assert_eq!(metric_sum(text, "mempool_bytes"), 7.0);
        assert_eq!(metric_sum(text, "missing"), 0.0);
    }

    #[test]
    fn sizes_stay_in_range() {
        let mut s = Sizes {
            min: 10,
            max: 20,
            state: 1,
        };
        let drawn: Vec<usize> = (0..1000).map(|_| s.next()).collect();
        assert!(drawn.iter().all(|d| (10..=20).contains(d)));
        assert!(drawn.contains(&10) && drawn.contains(&20));
        let mut fixed = Sizes {
            min: 7,
            max: 7,
            state: 1,
        };
        assert_eq!(fixed.next(), 7);
    }

    #[test]
    fn failure_kinds() {
        let e = anyhow::anyhow!("http://x answered 503 Service Unavailable: full");
        assert_eq!(failure_kind(&e), "503 Service Unavailable");
        let e = anyhow::anyhow!("cannot reach http://x: refused");
        assert_eq!(failure_kind(&e), "unreachable");
    }
}
