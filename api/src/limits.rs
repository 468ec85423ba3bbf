//! Bounds on what a client controls: connections, requests in flight, request rate per
//! address, SSE streams, request and idle time, response bytes.
//!
//! Every API node is public-facing, so each resource a client can make it spend has a limit
//! with a default that keeps a node finalizing under abuse, and every refusal is a JSON error
//! with `Retry-After`:
//!
//! | limit | refusal |
//! |---|---|
//! | [`ApiLimits::connections_max`] open connections | 503 `overloaded`, then the connection is closed |
//! | [`ApiLimits::connections_per_address_max`] from one address | 429 `too_many_connections`, then closed |
//! | [`ApiLimits::requests_in_flight_max`] requests being answered | 503 `overloaded` |
//! | [`ApiLimits::requests_per_second_per_address`] (burst [`ApiLimits::requests_burst_per_address`]) | 429 `rate_limited` |
//! | [`ApiLimits::streams_max`] open SSE streams | 503 `overloaded` |
//! | [`ApiLimits::streams_per_address_max`] from one address | 429 `too_many_streams` |
//! | [`ApiLimits::request_timeout_ms`] to produce a response (an SSE stream's response is its first byte) | 503 `timeout` |
//! | [`ApiLimits::idle_timeout_ms`] to send a request's headers, and idle between requests | the connection is closed |
//! | [`ApiLimits::response_bytes_max`] payload bytes of proofs in one inbox answer | the answer stops early, `next` resumes |
//! | [`ApiLimits::stream_cache_bytes_max`] bytes of events rendered once for the streams at the tip | the oldest heights are dropped; streams behind read the index |
//! | [`ApiLimits::threads`] threads answering clients, [`ApiLimits::nice`] steps below the node's priority | clients share those threads, and get CPU only when consensus leaves it (see `runtime`) |
//!
//! An address is the client's IP address; an IPv6 address counts by its /64 prefix (one host
//! usually holds a whole /64). Behind a reverse proxy every client has the proxy's address:
//! raise the per-address limits there and limit at the proxy. Requests without a peer address
//! (in-process, as in the crate's tests) meet only the node-wide limits.
//!
//! Rate limiting is governor's GCRA keyed by address; the other counts are exact.

use crate::error::{ApiError, code};
use axum::http::StatusCode;
use governor::{Quota, RateLimiter, clock::Clock};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Highest [`ApiLimits::nice`]: the lowest scheduling priority Linux has.
pub const NICE_MAX: u8 = 19;

/// The limits (`[api]` in the node file; every field optional).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiLimits {
    /// Open connections in all (default 4096).
    pub connections_max: usize,
    /// Open connections from one address (default 256).
    pub connections_per_address_max: usize,
    /// Requests being answered at once (default 512); an open SSE stream counts only until
    /// its response starts.
    pub requests_in_flight_max: usize,
    /// Sustained requests per second from one address (default 1000).
    pub requests_per_second_per_address: u32,
    /// Requests one address may send at once above its rate (default 2000).
    pub requests_burst_per_address: u32,
    /// Open SSE streams in all (default 1024). Each may hold one block's namespace in memory
    /// while its client reads slowly.
    pub streams_max: usize,
    /// Open SSE streams from one address (default 64).
    pub streams_per_address_max: usize,
    /// Most milliseconds to produce a response (default 30 000).
    pub request_timeout_ms: u64,
    /// Most milliseconds a connection may take to send a request's headers, or stay idle
    /// between requests (default 30 000).
    pub idle_timeout_ms: u64,
    /// Most payload bytes the proofs of one inbox answer carry (default 32 MiB); at least one
    /// message is always answered.
    pub response_bytes_max: usize,
    /// Most bytes of rendered events kept for the streams at the tip (default 64 MiB): each
    /// of the latest finalized heights is read and rendered once for all of them; a stream
    /// behind what is kept reads the index itself.
    pub stream_cache_bytes_max: usize,
    /// Threads that answer clients (default 2): the API runs on its own runtime, so however
    /// many clients there are, they keep at most this many cores busy.
    pub threads: usize,
    /// How much higher those threads' nice value is than the node's (default 10, 0 to 19;
    /// Linux only): when the machine is busy, consensus and dispersal get the CPU first and
    /// clients what is left.
    pub nice: u8,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            connections_max: 4096,
            connections_per_address_max: 256,
            requests_in_flight_max: 512,
            requests_per_second_per_address: 1000,
            requests_burst_per_address: 2000,
            streams_max: 1024,
            streams_per_address_max: 64,
            request_timeout_ms: 30_000,
            idle_timeout_ms: 30_000,
            response_bytes_max: 32 << 20,
            stream_cache_bytes_max: 64 << 20,
            threads: 2,
            nice: 10,
        }
    }
}

impl ApiLimits {
    /// Checks the values; returns a message naming the broken one.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("connections_max", self.connections_max as u64),
            (
                "connections_per_address_max",
                self.connections_per_address_max as u64,
            ),
            ("requests_in_flight_max", self.requests_in_flight_max as u64),
            (
                "requests_per_second_per_address",
                u64::from(self.requests_per_second_per_address),
            ),
            (
                "requests_burst_per_address",
                u64::from(self.requests_burst_per_address),
            ),
            ("streams_max", self.streams_max as u64),
            (
                "streams_per_address_max",
                self.streams_per_address_max as u64,
            ),
            ("request_timeout_ms", self.request_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("response_bytes_max", self.response_bytes_max as u64),
            ("stream_cache_bytes_max", self.stream_cache_bytes_max as u64),
            ("threads", self.threads as u64),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("[api] {name} must be at least 1"));
        }
        if self.nice > NICE_MAX {
            return Err(format!(
                "[api] nice is {}; it goes from 0 (the node's own priority) to {NICE_MAX} (the lowest)",
                self.nice
            ));
        }
        let at_most = [
            (
                "connections_per_address_max",
                self.connections_per_address_max,
                "connections_max",
                self.connections_max,
            ),
            (
                "streams_per_address_max",
                self.streams_per_address_max,
                "streams_max",
                self.streams_max,
            ),
            (
                "streams_max",
                self.streams_max,
                "connections_max",
                self.connections_max,
            ),
        ];
        for (name, value, bound_name, bound) in at_most {
            if value > bound {
                return Err(format!(
                    "[api] {name} ({value}) is above {bound_name} ({bound}): it could never be reached"
                ));
            }
        }
        Ok(())
    }

    /// [`Self::request_timeout_ms`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// [`Self::idle_timeout_ms`] as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
}

/// What a client counts as: its IP address, an IPv6 one by its /64 prefix.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Which bound a [`Slots::acquire`] met.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// The node-wide count.
    All(usize),
    /// The count of one address.
    Address(usize),
}

/// Counted slots (connections, streams): at most `all` in use, at most `per_address` by one
/// address. The map holds only addresses with a slot in use, so it is bounded by `all`.
#[derive(Debug)]
pub(crate) struct Slots {
    all: usize,
    per_address: usize,
    used: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// A slot in use; given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
    key: Option<IpAddr>,
}

impl Slots {
    pub(crate) fn new(all: usize, per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            all,
            per_address,
            used: Mutex::new((0, HashMap::new())),
        })
    }

    /// Takes a slot for a client at `ip` (`None`: no address, only the node-wide bound).
    pub(crate) fn acquire(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<Slot, Full> {
        let key = ip.map(client_key);
        let mut used = self.used.lock().expect("slots lock");
        if used.0 >= self.all {
            return Err(Full::All(self.all));
        }
        if let Some(key) = key {
            let mine = used.1.entry(key).or_insert(0);
            if *mine >= self.per_address {
                return Err(Full::Address(self.per_address));
            }
            *mine += 1;
        }
        used.0 += 1;
        Ok(Slot {
            slots: self.clone(),
            key,
        })
    }

    /// Slots in use.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.used.lock().expect("slots lock").0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = self.slots.used.lock().expect("slots lock");
        used.0 -= 1;
        if let Some(key) = self.key
            && let Some(mine) = used.1.get_mut(&key)
        {
            *mine -= 1;
            if *mine == 0 {
                used.1.remove(&key);
            }
        }
    }
}

/// How many rate-limited addresses the limiter keeps before it forgets the idle ones.
const RATE_KEYS_SOFT_MAX: usize = 65_536;

/// The per-address request rate limiter.
pub(crate) struct Rate {
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
    /// Requests seen, to forget idle addresses now and then rather than on every request.
    seen: AtomicU64,
}

impl Rate {
    pub(crate) fn new(limits: &ApiLimits) -> Self {
        let rate =
            NonZeroU32::new(limits.requests_per_second_per_address).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.requests_burst_per_address).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            seen: AtomicU64::new(0),
        }
    }

    /// Counts one request from `ip`; `Err(wait)` if it is over its rate.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if self
            .seen
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(1024)
            && self.limiter.len() > RATE_KEYS_SOFT_MAX
        {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client_key(ip))
            .map_err(|not_until| {
                not_until.wait_time_from(governor::clock::DefaultClock::default().now())
            })
    }
}

/// The refusal of a request or connection that met `full` of `what` ("connections", "SSE
/// streams").
pub(crate) fn refusal(full: Full, what: &str, address_code: &'static str) -> ApiError {
    let retry_after = Some(Duration::from_secs(1));
    match full {
        Full::All(n) => ApiError {
            retry_after,
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::OVERLOADED,
                format!(
                    "this node has its most {what} open ({n}); retry later or ask another API node"
                ),
            )
        },
        Full::Address(n) => ApiError {
            retry_after,
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                address_code,
                format!(
                    "your address has the most {what} open that one address may ({n}); close one first"
                ),
            )
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_and_bad_values_are_named() {
        assert!(ApiLimits::default().check().is_ok());
        let bad = ApiLimits {
            streams_max: 0,
            ..ApiLimits::default()
        };
        assert!(bad.check().unwrap_err().contains("streams_max"));
        let bad = ApiLimits {
            streams_per_address_max: 2000,
            ..ApiLimits::default()
        };
        assert!(bad.check().unwrap_err().contains("streams_per_address_max"));
    }

    #[test]
    fn an_ipv6_host_counts_by_its_prefix() {
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client_key(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn slots_bound_each_address_and_all_and_come_back() {
        let slots = Slots::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = slots.acquire(Some(a)).unwrap();
        let _a2 = slots.acquire(Some(a)).unwrap();
        assert_eq!(slots.acquire(Some(a)).unwrap_err(), Full::Address(2));
        let _b1 = slots.acquire(Some(b)).unwrap();
        assert_eq!(slots.acquire(None).unwrap_err(), Full::All(3));
        drop(a1);
        assert_eq!(slots.in_use(), 2);
        let _a3 = slots.acquire(Some(a)).unwrap();
        assert_eq!(slots.acquire(Some(b)).unwrap_err(), Full::All(3));
    }

    #[test]
    fn rate_refuses_above_the_burst_with_a_wait() {
        let rate = Rate::new(&ApiLimits {
            requests_per_second_per_address: 1,
            requests_burst_per_address: 3,
            ..ApiLimits::default()
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(rate.check(a).is_ok());
        }
        let wait = rate.check(a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(rate.check(b).is_ok(), "another address has its own budget");
    }

    #[test]
    fn the_rate_limiter_forgets_idle_addresses_past_its_bound() {
        let rate = Rate::new(&ApiLimits::default());
        let address = |i: usize| IpAddr::from(u32::try_from(i).unwrap().to_be_bytes());
        // 3072 addresses past the bound, one request each; a request is replenished within a
        // millisecond at 1000/s, so after the pause every address is idle and forgettable.
        let many = RATE_KEYS_SOFT_MAX + 2048;
        for i in 0..many {
            assert!(rate.check(address(i)).is_ok());
        }
        std::thread::sleep(Duration::from_millis(20));
        for i in many..many + 1024 {
            assert!(rate.check(address(i)).is_ok());
        }
        // Kept without forgetting: `many + 1024`.
        assert!(
            rate.limiter.len() <= RATE_KEYS_SOFT_MAX + 1024,
            "{} addresses kept",
            rate.limiter.len()
        );
    }
}
