//! A circuit breaker in front of the store on the request path.
//!
//! A database that is down does not answer "no": it makes every query wait
//! for the pool's acquire timeout. Without a breaker each request that
//! needs the store holds one of the server's in-flight permits for that
//! long, and a burst of them starves everything else. So: after
//! `failures` consecutive failed or timed-out reads the breaker opens, and
//! for `open_for` every read fails at once ([`BreakerError::Open`]); then
//! one read is let through as a probe (half-open) while the others still
//! fail at once. The probe's success closes the breaker, its failure opens
//! it again.
//!
//! The state machine takes the time as an input (`now`) and is tested with
//! a virtual clock; [`Breaker::call`] is the thin async edge that applies
//! the timeout.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Settings of a [`Breaker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker (at least 1).
    pub failures: u32,
    /// How long it stays open before a probe.
    pub open_for: Duration,
    /// A read slower than this counts as failed.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// A probe is in flight since `since`.
    HalfOpen {
        since: Instant,
    },
}

/// Whether a read may go to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: go ahead.
    Allowed,
    /// The one read that decides whether the store is back.
    Probe,
    /// Open, or a probe is already in flight: fail at once.
    Refused,
}

/// Why a read through the breaker failed.
#[derive(Debug, thiserror::Error)]
pub enum BreakerError<E> {
    #[error("store unavailable (circuit open after repeated failures)")]
    Open,
    #[error("store read timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Store(E),
}

pub struct Breaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("settings", &self.settings)
            .field("state", &*crate::sync::lock(&self.state))
            .finish()
    }
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Breaker {
        Breaker {
            settings: BreakerSettings {
                failures: settings.failures.max(1),
                ..settings
            },
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// May a read start at `now`?
    pub fn admit(&self, now: Instant) -> Admission {
        let mut state = crate::sync::lock(&self.state);
        match *state {
            State::Closed { .. } => Admission::Allowed,
            State::Open { until } if now < until => Admission::Refused,
            // A probe that never reported (its task was cancelled) must not
            // keep the breaker half-open for ever.
            State::HalfOpen { since }
                if now.saturating_duration_since(since) < self.probe_limit() =>
            {
                Admission::Refused
            }
            State::Open { .. } | State::HalfOpen { .. } => {
                *state = State::HalfOpen { since: now };
                Admission::Probe
            }
        }
    }

    fn probe_limit(&self) -> Duration {
        self.settings.timeout.max(self.settings.open_for)
    }

    /// A read admitted earlier finished at `now`.
    pub fn record(&self, ok: bool, now: Instant) {
        let mut state = crate::sync::lock(&self.state);
        *state = match (*state, ok) {
            // Any read that worked shows the store is back.
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.settings.failures => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            // Already open: a late failure does not extend it.
            (open @ State::Open { .. }, false) => open,
            (State::Closed { .. } | State::HalfOpen { .. }, false) => State::Open {
                until: now + self.settings.open_for,
            },
        };
    }

    /// Whether reads are currently refused.
    pub fn is_open(&self, now: Instant) -> bool {
        matches!(*crate::sync::lock(&self.state), State::Open { until } if now < until)
    }

    /// Runs `read` unless the breaker refuses it, bounded by the timeout,
    /// and records the outcome. `now` is the time of the request.
    pub async fn call<T, E>(
        &self,
        now: Instant,
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<T, BreakerError<E>> {
        if self.admit(now) == Admission::Refused {
            return Err(BreakerError::Open);
        }
        let result = match tokio::time::timeout(self.settings.timeout, read).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(BreakerError::Store(e)),
            Err(_) => Err(BreakerError::Timeout(self.settings.timeout)),
        };
        self.record(result.is_ok(), Instant::now());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerSettings {
            failures: 3,
            open_for: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
        })
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let b = breaker();
        let t0 = Instant::now();
        b.record(false, t0);
        b.record(false, t0);
        // A success in between resets the count.
        b.record(true, t0);
        b.record(false, t0);
        b.record(false, t0);
        assert_eq!(b.admit(t0), Admission::Allowed);
        assert!(!b.is_open(t0));
        b.record(false, t0);
        assert!(b.is_open(t0));
        assert_eq!(b.admit(t0 + Duration::from_secs(9)), Admission::Refused);
    }

    #[test]
    fn half_open_lets_one_probe_through() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.record(false, t0);
        }
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.admit(t1), Admission::Probe);
        // Others still fail fast while the probe runs.
        assert_eq!(b.admit(t1), Admission::Refused);
        // The probe fails: open for another period.
        b.record(false, t1);
        assert_eq!(b.admit(t1 + Duration::from_secs(9)), Admission::Refused);
        let t2 = t1 + Duration::from_secs(10);
        assert_eq!(b.admit(t2), Admission::Probe);
        // The probe succeeds: closed, everyone goes.
        b.record(true, t2);
        assert_eq!(b.admit(t2), Admission::Allowed);
        assert_eq!(b.admit(t2), Admission::Allowed);
    }

    #[test]
    fn a_lost_probe_does_not_keep_it_half_open() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.record(false, t0);
        }
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.admit(t1), Admission::Probe);
        assert_eq!(b.admit(t1 + Duration::from_secs(9)), Admission::Refused);
        // The probe never reported: after the probe limit, another one.
        assert_eq!(b.admit(t1 + Duration::from_secs(10)), Admission::Probe);
    }

    #[test]
    fn a_late_failure_does_not_extend_the_open_period() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.record(false, t0);
        }
        b.record(false, t0 + Duration::from_secs(5));
        assert_eq!(b.admit(t0 + Duration::from_secs(10)), Admission::Probe);
    }

    #[tokio::test]
    async fn call_fails_fast_when_open_and_counts_timeouts() {
        let b = Breaker::new(BreakerSettings {
            failures: 2,
            open_for: Duration::from_secs(60),
            timeout: Duration::from_millis(20),
        });
        let now = Instant::now();
        let ok: Result<u8, BreakerError<&str>> = b.call(now, async { Ok(1) }).await;
        assert_eq!(ok.unwrap(), 1);
        let err = b.call(now, async { Err::<u8, _>("down") }).await;
        assert!(matches!(err, Err(BreakerError::Store("down"))));
        let slow = b
            .call(now, async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<u8, &str>(2)
            })
            .await;
        assert!(matches!(slow, Err(BreakerError::Timeout(_))), "{slow:?}");
        // Two failures in a row: open; the next read is not even started.
        let mut started = false;
        let refused = b
            .call(Instant::now(), async {
                started = true;
                Ok::<u8, &str>(3)
            })
            .await;
        assert!(matches!(refused, Err(BreakerError::Open)));
        assert!(!started);
    }
}
