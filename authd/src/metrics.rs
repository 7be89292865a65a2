//! Counters: every packet the server drops or rejects is counted under a
//! stable reason label, so an operator can tell a misconfigured secret from a
//! flood from a revoked certificate without reading every log line.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    pub accounting: AtomicU64,
    drops: Mutex<BTreeMap<&'static str, u64>>,
    reject_reasons: Mutex<BTreeMap<&'static str, u64>>,
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
            "requests={} accepts={} rejects={} challenges={} duplicates_replayed={} duplicates_in_progress={} sessions_evicted={} sessions_expired={} accounting={} drops={:?} reject_reasons={:?}",
            l(&self.requests),
            l(&self.accepts),
            l(&self.rejects),
            l(&self.challenges),
            l(&self.duplicates_replayed),
            l(&self.duplicates_in_progress),
            l(&self.sessions_evicted),
            l(&self.sessions_expired),
            l(&self.accounting),
            self.drops(),
            self.rejects(),
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
}
