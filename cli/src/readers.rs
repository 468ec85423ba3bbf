//! Heavy readers for `cortado bench --readers N --range-readers M`: `N` SSE subscribers and `M`
//! clients issuing range queries, against the nodes under load, for the whole run.
//!
//! Subscribers are a mix a public node sees: one in ten follows a namespace with payloads (a
//! rollup node), four in ten follow a namespace without payloads (an indexer tracking
//! inclusion), the rest follow headers (light clients). Each reconnects 500 ms after a drop and
//! follows from the tip again (it does not resume with `Last-Event-ID`).
//! Range readers loop: the status, a replay of the last 100 headers over SSE, one block read;
//! as fast as they are answered (closed loops, the most a client can ask), or at
//! `--range-rate` queries per second between them all.
//!
//! The readers stand for clients on other machines, so their own work (TLS-free HTTP, SSE
//! parsing) should not take CPU from the nodes or the load generator on this one: they run on
//! a runtime of their own, one thread at `--readers-nice` (default 10) steps below the load
//! generator's priority. With `--readers-nice 0` they compete on equal terms.
//!
//! A node bounds streams per client address (`streams_per_address_max`, default 64), so
//! against a loopback URL each group of 60 subscribers binds its own source address
//! (`127.0.0.3`, `127.0.0.4`, …; the whole `127.0.0.0/8` is local on Linux), as that many
//! clients on as many hosts would. Against any other host they share this host's address.

use serde::Serialize;
use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::task::JoinSet;

/// Subscribers per source address (below the default 64 streams per address).
const PER_ADDRESS: usize = 60;
/// Headers a range reader replays per query.
const RANGE: u64 = 100;

/// What the readers did, for the report.
#[derive(Serialize, Debug, Default)]
pub struct ReadersReport {
    /// SSE subscribers.
    pub subscribers: usize,
    /// Range-query clients.
    pub range_readers: usize,
    /// Streams opened (first connections and reconnections) that the node accepted.
    pub streams_opened: u64,
    /// SSE `data:` lines received (events) by subscribers.
    pub events: u64,
    /// Bytes received by subscribers.
    pub stream_bytes: u64,
    /// Range queries answered in full (status, header replay and block read).
    pub range_queries: u64,
    /// Bytes received by range readers.
    pub range_bytes: u64,
    /// Refusals by HTTP status (429, 503, …), streams and queries together.
    pub refused_by_status: BTreeMap<u16, u64>,
    /// Connections that failed or broke (not refusals).
    pub errors: u64,
}

#[derive(Default)]
struct Counters {
    opened: AtomicU64,
    events: AtomicU64,
    stream_bytes: AtomicU64,
    ranges: AtomicU64,
    range_bytes: AtomicU64,
    errors: AtomicU64,
    refused: Mutex<BTreeMap<u16, u64>>,
}

impl Counters {
    fn refuse(&self, status: u16) {
        *self
            .refused
            .lock()
            .expect("lock")
            .entry(status)
            .or_default() += 1;
    }
}

/// The running readers; [`Readers::stop`] ends them and reports.
pub struct Readers {
    runtime: tokio::runtime::Runtime,
    tasks: JoinSet<()>,
    counters: Arc<Counters>,
    subscribers: usize,
    range_readers: usize,
}

/// The source address of client group `group` against `url`: a distinct loopback address when
/// the node is on loopback, else the system's choice.
fn source_address(url: &str, group: usize) -> Option<IpAddr> {
    let loopback = url.contains("://127.") || url.contains("://localhost");
    // 127.0.0.3 … 127.0.0.253, then 127.0.1.x: far more than any run needs.
    let n = group + 2;
    loopback.then(|| IpAddr::V4(Ipv4Addr::new(127, 0, (n / 253) as u8, (n % 253 + 1) as u8)))
}

fn client(url: &str, group: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source_address(url, group))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client with a local address")
}

/// Counts `data:` line starts in `chunk`, given the bytes that ended the previous chunk.
fn count_events(carry: &mut Vec<u8>, chunk: &[u8]) -> u64 {
    const NEEDLE: &[u8] = b"\ndata:";
    let mut joined = std::mem::take(carry);
    joined.extend_from_slice(chunk);
    let count = joined
        .windows(NEEDLE.len())
        .filter(|w| *w == NEEDLE)
        .count() as u64;
    let keep = joined.len().min(NEEDLE.len() - 1);
    *carry = joined[joined.len() - keep..].to_vec();
    count
}

/// Reads a stream until it ends, `events_max` events arrive, or `quiet` passes without a chunk;
/// returns the events and bytes read. `Err(status)` if the node refused it.
async fn read_stream(
    http: &reqwest::Client,
    url: &str,
    events_max: Option<u64>,
    counters: &Counters,
) -> Result<(u64, u64), Option<u16>> {
    use futures::StreamExt;
    let response = http.get(url).send().await.map_err(|_| None)?;
    if !response.status().is_success() {
        return Err(Some(response.status().as_u16()));
    }
    counters.opened.fetch_add(1, Ordering::Relaxed);
    let mut body = response.bytes_stream();
    let (mut events, mut bytes, mut carry) = (0u64, 0u64, b"\n".to_vec());
    // An idle stream still gets keep-alives; 30 s of nothing is a broken connection.
    while let Ok(Some(chunk)) = tokio::time::timeout(Duration::from_secs(30), body.next()).await {
        let Ok(chunk) = chunk else {
            return Err(None);
        };
        bytes += chunk.len() as u64;
        let n = count_events(&mut carry, &chunk);
        events += n;
        if events_max.is_none() {
            counters.events.fetch_add(n, Ordering::Relaxed);
            counters
                .stream_bytes
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        if events_max.is_some_and(|max| events >= max) {
            break;
        }
    }
    Ok((events, bytes))
}

async fn subscriber(http: reqwest::Client, url: String, counters: Arc<Counters>) {
    loop {
        match read_stream(&http, &url, None, &counters).await {
            Ok(_) | Err(None) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(Some(status)) => counters.refuse(status),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A range reader: queries in a loop, at most one per `every` if set (a tick missed while a
/// query takes longer is skipped, not made up).
async fn range_reader(
    http: reqwest::Client,
    base: String,
    every: Option<Duration>,
    counters: Arc<Counters>,
) {
    let mut ticker = every.map(|every| {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        ticker
    });
    loop {
        if let Some(ticker) = &mut ticker {
            ticker.tick().await;
        }
        let height = async {
            let status: serde_json::Value = http
                .get(format!("{base}/v1/status"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            status["height"].as_u64()
        }
        .await;
        let Some(height) = height else {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let from = height.saturating_sub(RANGE).max(1);
        let replay = format!("{base}/v1/stream/headers?from={from}");
        let wanted = (height + 1).saturating_sub(from).clamp(1, RANGE);
        match read_stream(&http, &replay, Some(wanted), &counters).await {
            Ok((_, bytes)) => {
                counters.range_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Err(Some(status)) => {
                counters.refuse(status);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(None) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        }
        let block = http.get(format!("{base}/v1/blocks/{from}")).send().await;
        match block {
            Ok(r) if r.status().is_success() => {
                let bytes = r.bytes().await.map_or(0, |b| b.len() as u64);
                counters.range_bytes.fetch_add(bytes, Ordering::Relaxed);
                counters.ranges.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => counters.refuse(r.status().as_u16()),
            Err(_) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Readers {
    /// Starts `subscribers` SSE subscribers and `range_readers` range-query clients over
    /// `urls` (round-robin), following namespaces `namespaces`, on a runtime `nice` steps
    /// below the caller's priority. The range readers ask as fast as they are answered, or
    /// `range_rate` queries per second between them all if set.
    pub fn start(
        urls: &[String],
        subscribers: usize,
        range_readers: usize,
        range_rate: Option<f64>,
        namespaces: std::ops::Range<u64>,
        nice: u8,
    ) -> std::io::Result<Self> {
        let runtime = cortado_api::lowered_runtime("cortado-readers", 1, nice)?;
        // reqwest clients register with the runtime they are built on.
        let entered = runtime.enter();
        let counters = Arc::new(Counters::default());
        let mut tasks = JoinSet::new();
        let spread = namespaces.end.saturating_sub(namespaces.start).max(1);
        let mut clients: BTreeMap<(usize, usize), reqwest::Client> = BTreeMap::new();
        for i in 0..subscribers {
            let node = i % urls.len();
            let base = &urls[node];
            let http = clients
                .entry((node, i / PER_ADDRESS))
                .or_insert_with(|| client(base, i / PER_ADDRESS))
                .clone();
            let ns = namespaces.start + (i as u64 / 10) % spread;
            let url = match i % 10 {
                0 => format!("{base}/v1/stream/namespaces/{ns}"),
                1..=4 => format!("{base}/v1/stream/namespaces/{ns}?payloads=false"),
                _ => format!("{base}/v1/stream/headers"),
            };
            tasks.spawn_on(subscriber(http, url, counters.clone()), runtime.handle());
        }
        // Range readers get source addresses past the subscribers' groups.
        let first_group = subscribers.div_ceil(PER_ADDRESS) + 1;
        // `cortado bench` checked the rate is at least 0.001/s: the period fits a Duration.
        let every = range_rate.map(|rate| Duration::from_secs_f64(range_readers as f64 / rate));
        for j in 0..range_readers {
            let base = urls[j % urls.len()].clone();
            let http = client(&base, first_group + j);
            tasks.spawn_on(
                range_reader(http, base, every, counters.clone()),
                runtime.handle(),
            );
        }
        drop(entered);
        Ok(Self {
            runtime,
            tasks,
            counters,
            subscribers,
            range_readers,
        })
    }

    /// Stops every reader and reports what they did.
    pub async fn stop(mut self) -> ReadersReport {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        self.runtime.shutdown_background();
        let c = &self.counters;
        ReadersReport {
            subscribers: self.subscribers,
            range_readers: self.range_readers,
            streams_opened: c.opened.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
            stream_bytes: c.stream_bytes.load(Ordering::Relaxed),
            range_queries: c.ranges.load(Ordering::Relaxed),
            range_bytes: c.range_bytes.load(Ordering::Relaxed),
            refused_by_status: c.refused.lock().expect("lock").clone(),
            errors: c.errors.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_across_chunk_boundaries() {
        let mut carry = b"\n".to_vec();
        let text = b"event: header\ndata: {}\n\nid: 2\ndata: {\"a\":1}\n\n: keep-alive\n\n";
        let mut total = 0;
        for piece in text.chunks(3) {
            total += count_events(&mut carry, piece);
        }
        assert_eq!(total, 2);
        let mut carry = b"\n".to_vec();
        assert_eq!(count_events(&mut carry, b"data: x\n\ndata: y\n\n"), 2);
    }

    #[test]
    fn loopback_groups_get_distinct_addresses() {
        let a = source_address("http://127.0.0.1:9000", 0);
        let b = source_address("http://127.0.0.1:9000", 1);
        assert_eq!(a, Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))));
        assert_ne!(a, b);
        let far = source_address("http://127.0.0.1:9000", 300);
        assert_eq!(far, Some(IpAddr::V4(Ipv4Addr::new(127, 0, 1, 50))));
        assert_eq!(source_address("http://10.0.0.5:9000", 0), None);
    }
}
