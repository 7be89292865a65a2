//! The authentication latency histogram: from the first Access-Request of
//! a conversation to the Access-Accept or Access-Reject that ends it, by
//! method. Fixed buckets and methods, atomics only: recording takes no
//! lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, seconds (`le`). An EAP-TLS conversation on
/// a LAN is a few tens of milliseconds; a NAS gives up after some seconds.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The `method` label values, in the order they are rendered.
pub const METHODS: [AuthMethod; 4] = [
    AuthMethod::Tls,
    AuthMethod::Peap,
    AuthMethod::Ttls,
    AuthMethod::Pap,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Tls,
    Peap,
    Ttls,
    /// RADIUS PAP (User-Password), one request.
    Pap,
}

impl AuthMethod {
    pub fn label(self) -> &'static str {
        match self {
            AuthMethod::Tls => "tls",
            AuthMethod::Peap => "peap",
            AuthMethod::Ttls => "ttls",
            AuthMethod::Pap => "pap",
        }
    }

    /// The outer EAP method; `None` for one this histogram does not follow.
    pub fn of_eap(t: eap_methods::codec::EapType) -> Option<AuthMethod> {
        use eap_methods::codec::EapType;
        match t {
            EapType::Tls => Some(AuthMethod::Tls),
            EapType::Peap => Some(AuthMethod::Peap),
            EapType::Ttls => Some(AuthMethod::Ttls),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default)]
struct Histogram {
    /// Non-cumulative: observations in (BUCKETS[i-1], BUCKETS[i]]; the last
    /// slot holds those above every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// One histogram per method.
#[derive(Debug, Default)]
pub struct Latency {
    by_method: [Histogram; METHODS.len()],
}

/// A histogram as read: cumulative bucket counts (one per bound, then
/// +Inf = count), the sum in seconds and the count.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub cumulative: Vec<u64>,
    pub sum_seconds: f64,
    pub count: u64,
}

impl Latency {
    pub fn observe(&self, method: AuthMethod, elapsed: Duration) {
        let h = &self.by_method[method.index()];
        let secs = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        h.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        h.sum_micros.fetch_add(micros, Ordering::Relaxed);
        h.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn read(&self, method: AuthMethod) -> HistogramSnapshot {
        let h = &self.by_method[method.index()];
        let mut total = 0;
        let mut cumulative: Vec<u64> = h
            .buckets
            .iter()
            .map(|b| {
                total += b.load(Ordering::Relaxed);
                total
            })
            .collect();
        // Read apart from the buckets, the count may be a little ahead or
        // behind; +Inf must equal it and no bucket may exceed it.
        let count = h.count.load(Ordering::Relaxed).max(total);
        if let Some(inf) = cumulative.last_mut() {
            *inf = count;
        }
        HistogramSnapshot {
            cumulative,
            sum_seconds: h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_inf_is_the_count() {
        let l = Latency::default();
        l.observe(AuthMethod::Tls, Duration::from_millis(3));
        l.observe(AuthMethod::Tls, Duration::from_millis(10));
        l.observe(AuthMethod::Tls, Duration::from_secs(60));
        let s = l.read(AuthMethod::Tls);
        assert_eq!(s.count, 3);
        assert_eq!(s.cumulative.len(), BUCKETS.len() + 1);
        assert_eq!(s.cumulative[0], 1); // le=0.005
        assert_eq!(s.cumulative[1], 2); // le=0.01: bounds are inclusive
        assert_eq!(s.cumulative[BUCKETS.len() - 1], 2); // le=30
        assert_eq!(s.cumulative[BUCKETS.len()], 3); // +Inf
        assert!((s.sum_seconds - 60.013).abs() < 1e-9, "{}", s.sum_seconds);
        // Another method saw nothing.
        assert_eq!(l.read(AuthMethod::Pap).count, 0);
        assert!(l.read(AuthMethod::Pap).cumulative.iter().all(|&n| n == 0));
    }
}
