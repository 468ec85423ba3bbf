//! The API's own runtime: clients are answered on a few threads of their own, at a lower
//! scheduling priority than the rest of the node.
//!
//! A public API node serves whoever asks: a thousand SSE subscribers, range readers, a
//! submission flood. Every byte it renders or copies for them is CPU that voting, dispersal
//! and the finalizer need to keep finality fast. So the node runs its API on a separate tokio
//! runtime of [`ApiLimits::threads`] threads (its blocking threads included), each
//! [`ApiLimits::nice`] steps below the node's own priority (a nice value that much higher,
//! at most 19):
//!
//! - however many clients there are, they keep at most `threads` cores busy;
//! - when the machine is busy, the kernel runs consensus first (at nice 10 a runnable thread
//!   weighs about a ninth of one at nice 0 in Linux's fair scheduler) and clients get what is
//!   left, instead of clients slowing every vote down;
//! - when the machine is idle, clients get all of those threads' time: a nice value only
//!   matters under contention.
//!
//! The SQLite connections the API reads through are opened on these threads and inherit
//! their priority. Nice values are per thread on Linux; elsewhere the threads keep the
//! node's priority, and a warning says so.

use crate::{ApiLimits, limits::NICE_MAX};
use std::io;
use tracing::warn;

/// Name of every thread of the API runtime (as `/proc/<pid>/task/*/comm` shows it).
pub const THREAD_NAME: &str = "cortado-api";

/// Builds the API runtime (see the module docs). Dropping it from async code panics: stop
/// it with `shutdown_background` or `shutdown_timeout` once [`crate::serve`] has returned.
pub fn runtime(limits: &ApiLimits) -> io::Result<tokio::runtime::Runtime> {
    lowered_runtime(THREAD_NAME, limits.threads, limits.nice)
}

/// A multi-threaded tokio runtime of `threads` threads named `name`, each `nice` steps below
/// the caller's priority (capped at the lowest): the API's, and the one `cortado bench` runs
/// its simulated readers on.
pub fn lowered_runtime(
    name: &str,
    threads: usize,
    nice: u8,
) -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .on_thread_start(move || lower_priority(nice))
        .enable_all()
        .build()
}

/// Adds `nice` to the calling thread's nice value, up to the lowest priority (Linux only;
/// lowering a priority needs no privilege).
fn lower_priority(nice: u8) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let tid = Some(rustix::thread::gettid());
        let lowered = getpriority_process(tid).and_then(|own| {
            setpriority_process(tid, (own + i32::from(nice)).min(i32::from(NICE_MAX)))
        });
        if let Err(err) = lowered {
            warn!(%err, nice, "cannot lower the priority of an API thread; it keeps the node's");
        }
    }
    #[cfg(not(target_os = "linux"))]
    warn!(
        nice,
        "per-thread nice values exist on Linux only: API threads keep the node's priority"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value of the calling thread, read back from the kernel.
    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
    }

    /// The nice values of a worker and of a blocking thread of an API runtime at `nice`.
    #[cfg(target_os = "linux")]
    fn runtime_nice(nice: u8) -> (i32, i32) {
        let limits = ApiLimits {
            threads: 1,
            nice,
            ..ApiLimits::default()
        };
        let rt = runtime(&limits).unwrap();
        let found = rt.block_on(async {
            let worker = tokio::spawn(async { own_nice() }).await.unwrap();
            let blocking = tokio::task::spawn_blocking(own_nice).await.unwrap();
            (worker, blocking)
        });
        rt.shutdown_background();
        found
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn api_threads_run_at_the_configured_nice_value_and_the_rest_do_not() {
        let before = own_nice();
        let (worker, blocking) = runtime_nice(7);
        let expected = (before + 7).min(19);
        assert_eq!(worker, expected);
        assert_eq!(blocking, expected);
        assert_eq!(own_nice(), before, "the caller's thread keeps its priority");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn nice_zero_leaves_the_priority_alone() {
        let before = own_nice();
        assert_eq!(runtime_nice(0).0, before);
    }

    #[test]
    fn nice_above_19_is_refused_by_name() {
        let limits = ApiLimits {
            nice: 20,
            ..ApiLimits::default()
        };
        let err = limits.check().unwrap_err();
        assert!(err.contains("[api] nice is 20"), "{err}");
        let zero = ApiLimits {
            threads: 0,
            ..ApiLimits::default()
        };
        assert_eq!(
            zero.check().unwrap_err(),
            "[api] threads must be at least 1"
        );
    }
}
