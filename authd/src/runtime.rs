//! The tokio runtime `authd serve` runs on.
//!
//! With one CPU to run on (`std::thread::available_parallelism`: the
//! process's CPU affinity, `taskset`, and its cgroup CPU quota), a
//! current-thread runtime: every task on the main thread, which sleeps in
//! one `epoll_wait` between requests. The multi-thread runtime with its
//! single worker costs more at low load for nothing: each wake-up goes
//! through the worker's park and unpark, and it polls the I/O driver a
//! second time (`epoll_wait` with a zero timeout) before sleeping. In
//! bench/compare.sh (authd pinned to one CPU) the current-thread runtime
//! took about 12 % less CPU per EAP-TLS 1.3 authentication paced at 100 per
//! second, and the same at saturation (BENCHMARKS.md).
//!
//! With more CPUs, the multi-thread runtime, one worker per CPU
//! (`TOKIO_WORKER_THREADS` overrides the count, as tokio documents).
//! Blocking work (`spawn_blocking`) has its own thread pool in both.

use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Runtime};

/// Which runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The runtime for `cpus` usable CPUs.
pub fn flavor_for(cpus: NonZeroUsize) -> Flavor {
    if cpus.get() == 1 {
        Flavor::CurrentThread
    } else {
        Flavor::MultiThread
    }
}

/// Builds the runtime for the CPUs this process may use, and says which
/// (for the start-up log line).
pub fn build() -> std::io::Result<(Runtime, String)> {
    // Unknown (an error) counts as several: the multi-thread runtime is
    // right everywhere, only less thrifty on one CPU.
    let cpus = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN.saturating_add(1));
    let (mut builder, what) = match flavor_for(cpus) {
        Flavor::CurrentThread => (
            Builder::new_current_thread(),
            "current-thread (1 CPU available)".to_string(),
        ),
        Flavor::MultiThread => {
            let mut b = Builder::new_multi_thread();
            b.thread_name("authd-worker");
            (b, format!("multi-thread ({cpus} CPUs available)"))
        }
    };
    Ok((builder.enable_all().build()?, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cpu_one_thread() {
        assert_eq!(flavor_for(NonZeroUsize::MIN), Flavor::CurrentThread);
        assert_eq!(
            flavor_for(NonZeroUsize::new(2).unwrap()),
            Flavor::MultiThread
        );
        // A runtime of either kind builds and runs a task.
        let (rt, what) = build().unwrap();
        assert!(what.contains("CPU"), "{what}");
        assert_eq!(
            rt.block_on(async { tokio::spawn(async { 7 }).await.unwrap() }),
            7
        );
    }
}
