//! Counters: every packet the server drops or rejects is counted under a
//! stable reason label, so an operator can tell a misconfigured secret from a
//! flood from a revoked certificate without reading every log line.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub mod client;
pub mod exposition;
pub mod latency;
pub mod radsec;
pub mod render;
pub mod verify_cache;

pub use client::ClientCounters;
pub use latency::AuthMethod;

#[derive(Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub accepts: AtomicU64,
    pub rejects: AtomicU64,
    pub challenges: AtomicU64,
    pub duplicates_replayed: AtomicU64,
    pub duplicates_in_progress: AtomicU64,
    pub sessions_evicted: AtomicU64,
    pub sessions_expired: AtomicU64,
    /// Accounting-Requests recorded in the store and acknowledged.
    pub accounting_written: AtomicU64,
    /// Accounting-Requests left unanswered because the store could not
    /// record them (the NAS retransmits).
    pub accounting_write_failures: AtomicU64,
    /// Status-Server requests answered (RFC 5997), on either port.
    pub status_server_answered: AtomicU64,
    /// Status-Server requests left unanswered because the store is
    /// unusable: the health signal a NAS or proxy watches.
    pub status_server_unanswered: AtomicU64,
    /// Authentication latency by method (the Prometheus histogram).
    pub latency: latency::Latency,
    /// The last poll of the store's change generation worked.
    pub store_changes_readable: AtomicBool,
    /// The RadSec listener's counters and its clients' packet counters.
    pub radsec: radsec::RadsecMetrics,
    /// The client certificate chain verification caches' counters, kept
    /// across reloads (`metrics/verify_cache.rs`).
    pub chain_cache: verify_cache::ChainCacheMetrics,
    drops: Mutex<BTreeMap<&'static str, u64>>,
    reject_reasons: Mutex<BTreeMap<&'static str, u64>>,
    /// Disconnect-Request outcomes (RFC 5176): "ack", "nak", "timeout",
    /// "error" (could not be sent).
    disconnect_results: Mutex<BTreeMap<&'static str, u64>>,
}

fn bump(map: &Mutex<BTreeMap<&'static str, u64>>, label: &'static str) {
    let mut m = crate::sync::lock(map);
    *m.entry(label).or_insert(0) += 1;
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A packet dropped without an answer, by reason.
    pub fn drop_reason(&self, label: &'static str) {
        bump(&self.drops, label);
    }

    /// An Access-Reject, by reason.
    pub fn reject_reason(&self, label: &'static str) {
        Self::inc(&self.rejects);
        bump(&self.reject_reasons, label);
    }

    /// A conversation of `method` that started at `started` ended now
    /// with an Access-Accept or Access-Reject.
    pub fn auth_finished(&self, method: Option<AuthMethod>, started: Instant) {
        if let Some(method) = method {
            self.latency
                .observe(method, Instant::now().saturating_duration_since(started));
        }
    }

    /// A Disconnect-Request finished, by outcome.
    pub fn disconnect_result(&self, label: &'static str) {
        bump(&self.disconnect_results, label);
    }

    pub fn disconnect_results(&self) -> BTreeMap<&'static str, u64> {
        crate::sync::lock(&self.disconnect_results).clone()
    }

    pub fn drops(&self) -> BTreeMap<&'static str, u64> {
        crate::sync::lock(&self.drops).clone()
    }

    pub fn rejects(&self) -> BTreeMap<&'static str, u64> {
        crate::sync::lock(&self.reject_reasons).clone()
    }

    /// One line summary for the logs.
    pub fn summary(&self) -> String {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "requests={} accepts={} rejects={} challenges={} duplicates_replayed={} duplicates_in_progress={} sessions_evicted={} sessions_expired={} accounting_written={} accounting_write_failures={} status_server_answered={} status_server_unanswered={} drops={:?} reject_reasons={:?} disconnect_results={:?}",
            l(&self.requests),
            l(&self.accepts),
            l(&self.rejects),
            l(&self.challenges),
            l(&self.duplicates_replayed),
            l(&self.duplicates_in_progress),
            l(&self.sessions_evicted),
            l(&self.sessions_expired),
            l(&self.accounting_written),
            l(&self.accounting_write_failures),
            l(&self.status_server_answered),
            l(&self.status_server_unanswered),
            self.drops(),
            self.rejects(),
            self.disconnect_results(),
        )
    }
}

/// Lets a log line through at most once per interval, counting what it held
/// back, so a flood from an unknown source cannot flood the logs too.
pub struct RateLimitedLog {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl RateLimitedLog {
    pub fn new(interval: Duration) -> Self {
        RateLimitedLog {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// `Some(suppressed)` when a line may be logged now, with the number of
    /// lines held back since the last one.
    pub fn allow(&self, now: Instant) -> Option<u64> {
        let mut s = crate::sync::lock(&self.state);
        match s.0 {
            Some(last) if now.saturating_duration_since(last) < self.interval => {
                s.1 += 1;
                None
            }
            _ => {
                let suppressed = s.1;
                *s = (Some(now), 0);
                Some(suppressed)
            }
        }
    }
}

/// Lets up to `per_window` lines per key through in each `window`,
/// counting what it held back per key; the next line let through for that
/// key reports the count. For Access-Reject lines keyed by (NAS client,
/// reason): a station failing in a loop costs a few lines a second, and
/// one noisy client does not silence another's rejects.
///
/// At most `max_keys` keys are tracked (keys whose window ended with
/// nothing held back are forgotten first); past that, the keys not tracked
/// share one window, whose next line reports what it held back.
pub struct KeyedRateLimit<K> {
    per_window: u32,
    window: Duration,
    max_keys: usize,
    state: Mutex<KeyedState<K>>,
}

struct KeyedState<K> {
    keys: HashMap<K, LogWindow>,
    /// Shared by the keys past `max_keys`.
    overflow: Option<LogWindow>,
}

struct LogWindow {
    start: Instant,
    let_through: u32,
    suppressed: u64,
}

impl LogWindow {
    fn new(now: Instant) -> LogWindow {
        LogWindow {
            start: now,
            let_through: 0,
            suppressed: 0,
        }
    }

    /// `Some(held back since the last line let through)`, or `None`.
    fn allow(&mut self, now: Instant, per_window: u32, window: Duration) -> Option<u64> {
        if now.saturating_duration_since(self.start) >= window {
            self.start = now;
            self.let_through = 0;
        }
        if self.let_through < per_window {
            self.let_through += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

impl<K: Hash + Eq> KeyedRateLimit<K> {
    pub fn new(per_window: u32, window: Duration, max_keys: usize) -> Self {
        KeyedRateLimit {
            per_window,
            window,
            max_keys,
            state: Mutex::new(KeyedState {
                keys: HashMap::new(),
                overflow: None,
            }),
        }
    }

    /// `Some(suppressed)` when a line for `key` may be logged now, with the
    /// number of lines for that key held back since its last one.
    pub fn allow(&self, key: K, now: Instant) -> Option<u64> {
        let (per_window, window) = (self.per_window, self.window);
        let mut s = crate::sync::lock(&self.state);
        if let Some(w) = s.keys.get_mut(&key) {
            return w.allow(now, per_window, window);
        }
        if s.keys.len() >= self.max_keys {
            s.keys
                .retain(|_, w| w.suppressed > 0 || now.saturating_duration_since(w.start) < window);
        }
        if s.keys.len() >= self.max_keys {
            return s
                .overflow
                .get_or_insert_with(|| LogWindow::new(now))
                .allow(now, per_window, window);
        }
        s.keys
            .entry(key)
            .or_insert_with(|| LogWindow::new(now))
            .allow(now, per_window, window)
    }

    /// Keys tracked now (at most `max_keys`).
    pub fn tracked(&self) -> usize {
        crate::sync::lock(&self.state).keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_counts_suppressed() {
        let r = RateLimitedLog::new(Duration::from_secs(1));
        let t = Instant::now();
        assert_eq!(r.allow(t), Some(0));
        assert_eq!(r.allow(t + Duration::from_millis(10)), None);
        assert_eq!(r.allow(t + Duration::from_millis(20)), None);
        assert_eq!(r.allow(t + Duration::from_millis(1001)), Some(2));
    }

    #[test]
    fn reasons_are_counted() {
        let m = Metrics::default();
        m.drop_reason("unknown_client");
        m.drop_reason("unknown_client");
        m.reject_reason("certificate_revoked");
        assert_eq!(m.drops()["unknown_client"], 2);
        assert_eq!(m.rejects()["certificate_revoked"], 1);
        assert_eq!(m.rejects.load(Ordering::Relaxed), 1);
    }
    #[test]
    fn keyed_limit_lets_n_per_window_and_reports_suppressed() {
        let r = KeyedRateLimit::new(3, Duration::from_secs(1), 16);
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        let key = ("ap1".to_owned(), "certificate_revoked");
        for i in 0..3 {
            assert_eq!(r.allow(key.clone(), ms(i)), Some(0), "line {i}");
        }
        for i in 3..10 {
            assert_eq!(r.allow(key.clone(), ms(i)), None, "line {i}");
        }
        // Another reason of the same client, and the same reason of another
        // client, have their own budget.
        assert_eq!(r.allow(("ap1".to_owned(), "unknown_user"), ms(11)), Some(0));
        assert_eq!(
            r.allow(("ap2".to_owned(), "certificate_revoked"), ms(12)),
            Some(0)
        );
        // Still within the window: held back.
        assert_eq!(r.allow(key.clone(), ms(999)), None);
        // The next window: the first line reports the 8 held back, the
        // next ones none.
        assert_eq!(r.allow(key.clone(), ms(1000)), Some(8));
        assert_eq!(r.allow(key.clone(), ms(1001)), Some(0));
    }

    #[test]
    fn keyed_limit_is_bounded() {
        let r = KeyedRateLimit::new(1, Duration::from_secs(1), 4);
        let t = Instant::now();
        for i in 0..4 {
            assert_eq!(r.allow(i, t), Some(0));
        }
        // Full: keys past the bound share one window.
        assert_eq!(r.allow(100, t), Some(0));
        assert_eq!(r.allow(101, t), None);
        assert_eq!(r.allow(102, t), None);
        assert_eq!(r.tracked(), 4);
        // Positive control: a tracked key keeps its own window.
        assert_eq!(r.allow(0, t), None);
        let half = t + Duration::from_millis(500);
        // Still full (every window is young): the shared window's next line
        // reports what it held back.
        assert_eq!(r.allow(103, half), None);
        let next = t + Duration::from_secs(1);
        assert_eq!(r.allow(0, next), Some(1));
        // Keys 1..3: window over, nothing held back: forgotten, so a new
        // key is tracked again.
        assert_eq!(r.allow(200, next), Some(0));
        assert_eq!(r.tracked(), 2);
        assert_eq!(r.allow(200, next), None);
        assert_eq!(r.allow(200, next + Duration::from_secs(1)), Some(1));
    }

    #[test]
    fn keyed_limit_shared_window_reports_suppressed() {
        let r = KeyedRateLimit::new(1, Duration::from_secs(1), 1);
        let t = Instant::now();
        assert_eq!(r.allow("a", t), Some(0));
        assert_eq!(r.allow("b", t), Some(0));
        assert_eq!(r.allow("c", t), None);
        assert_eq!(r.allow("a", t), None);
        // "a" held one back, so it stays tracked; "b" and "c" share.
        let next = t + Duration::from_secs(1);
        assert_eq!(r.allow("c", next), Some(1));
        assert_eq!(r.allow("a", next), Some(1));
    }
}
