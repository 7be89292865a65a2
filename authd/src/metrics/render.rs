//! Everything the handler counts, as one Prometheus scrape (text format
//! 0.0.4). Names follow the Prometheus conventions: the `authd_` prefix,
//! `_total` on counters, base units (`_seconds`).
//!
//! Cardinality is bounded by the configuration, never by the network: the
//! `client` label names a configured NAS client (a packet from an unknown
//! address is counted as the drop reason `unknown_client`, never by its
//! address), and `reason`, `code`, `method` and `result` take the
//! program's fixed labels.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use super::Metrics;
use super::client::Direction;
use super::exposition::{Exposition, Kind, float};
use super::latency::{BUCKETS, METHODS};
use crate::handler::AuthHandler;

/// The Disconnect-Request outcomes, rendered (at 0) before any happened.
const DISCONNECT_RESULTS: [&str; 4] = ["ack", "nak", "timeout", "error"];

/// What does not come from the handler.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    pub started: SystemTime,
}

fn n(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

pub fn render(handler: &AuthHandler, process: Process, now: Instant) -> String {
    let m: &Metrics = &handler.metrics;
    let mut e = Exposition::default();

    e.family(
        "authd_build_info",
        Kind::Gauge,
        "Always 1; the version label names the running build.",
    );
    e.int(
        "authd_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    e.family(
        "authd_start_time_seconds",
        Kind::Gauge,
        "When authd started, seconds since the Unix epoch.",
    );
    let started = process
        .started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    e.sample("authd_start_time_seconds", &[], &float(started));

    // Per NAS client, by code. A client appears once it sent a request
    // that passed admission (100,000 configured clients that never spoke
    // cost nothing here).
    let clients = handler.clients();
    for (family, dir, help) in [
        (
            "authd_requests_total",
            Direction::Request,
            "Requests that passed admission, by NAS client and RADIUS code (retransmissions included).",
        ),
        (
            "authd_responses_total",
            Direction::Response,
            "Responses sent, by NAS client and RADIUS code (replays from the duplicate cache included).",
        ),
    ] {
        e.family(family, Kind::Counter, help);
        for c in clients.iter().filter(|c| c.counters.any_request()) {
            for (code, d, count) in c.counters.read() {
                if d == dir {
                    e.int(family, &[("client", &c.name), ("code", code)], count);
                }
            }
        }
        // RadSec clients (named by certificate, not in the UDP table;
        // a name is one `[[client]]`, so it never repeats a UDP client's).
        for (name, counters) in m.radsec.clients() {
            for (code, d, count) in counters.read() {
                if d == dir {
                    e.int(family, &[("client", &name), ("code", code)], count);
                }
            }
        }
    }

    e.family(
        "authd_drops_total",
        Kind::Counter,
        "Packets dropped without an answer, by reason.",
    );
    for (reason, count) in m.drops() {
        e.int("authd_drops_total", &[("reason", reason)], count);
    }
    e.family(
        "authd_rejects_total",
        Kind::Counter,
        "Access-Rejects sent, by reason.",
    );
    for (reason, count) in m.rejects() {
        e.int("authd_rejects_total", &[("reason", reason)], count);
    }
    e.family(
        "authd_duplicates_total",
        Kind::Counter,
        "Retransmitted requests: answered from the duplicate cache (replayed) or dropped while the first copy is worked on (in_progress).",
    );
    e.int(
        "authd_duplicates_total",
        &[("outcome", "replayed")],
        n(&m.duplicates_replayed),
    );
    e.int(
        "authd_duplicates_total",
        &[("outcome", "in_progress")],
        n(&m.duplicates_in_progress),
    );

    e.single(
        "authd_eap_conversations",
        Kind::Gauge,
        "EAP conversations in progress (a State issued, no Accept or Reject yet).",
        handler.sessions_in_progress() as u64,
    );
    e.single(
        "authd_eap_conversations_evicted_total",
        Kind::Counter,
        "EAP conversations evicted because the table was full.",
        n(&m.sessions_evicted),
    );
    e.single(
        "authd_eap_conversations_expired_total",
        Kind::Counter,
        "EAP conversations dropped after the idle timeout.",
        n(&m.sessions_expired),
    );

    e.family(
        "authd_auth_duration_seconds",
        Kind::Histogram,
        "From the first Access-Request of a conversation to its Access-Accept or Access-Reject, by method.",
    );
    for method in METHODS {
        let h = m.latency.read(method);
        let label = method.label();
        for (le, count) in BUCKETS.iter().zip(&h.cumulative) {
            e.int(
                "authd_auth_duration_seconds_bucket",
                &[("method", label), ("le", &float(*le))],
                *count,
            );
        }
        e.int(
            "authd_auth_duration_seconds_bucket",
            &[("method", label), ("le", "+Inf")],
            h.count,
        );
        e.sample(
            "authd_auth_duration_seconds_sum",
            &[("method", label)],
            &float(h.sum_seconds),
        );
        e.int(
            "authd_auth_duration_seconds_count",
            &[("method", label)],
            h.count,
        );
    }

    e.single(
        "authd_accounting_writes_total",
        Kind::Counter,
        "Accounting-Requests recorded in the store and acknowledged.",
        n(&m.accounting_written),
    );
    e.single(
        "authd_accounting_write_failures_total",
        Kind::Counter,
        "Accounting-Requests left unanswered because the store could not record them.",
        n(&m.accounting_write_failures),
    );
    e.family(
        "authd_status_server_total",
        Kind::Counter,
        "Status-Server requests (RFC 5997): answered, or unanswered because the store is unusable.",
    );
    e.int(
        "authd_status_server_total",
        &[("result", "answered")],
        n(&m.status_server_answered),
    );
    e.int(
        "authd_status_server_total",
        &[("result", "unanswered")],
        n(&m.status_server_unanswered),
    );
    e.family(
        "authd_disconnect_results_total",
        Kind::Counter,
        "Disconnect-Requests (RFC 5176) finished, by result: ack, nak, timeout, error (could not be sent).",
    );
    let mut results = m.disconnect_results();
    for r in DISCONNECT_RESULTS {
        results.entry(r).or_insert(0);
    }
    for (result, count) in results {
        e.int(
            "authd_disconnect_results_total",
            &[("result", result)],
            count,
        );
    }

    m.radsec.render(&mut e);
    m.chain_cache.render(&mut e);

    let store = handler.store_health(now);
    e.single(
        "authd_store_configured",
        Kind::Gauge,
        "1 when a [database] is configured.",
        u64::from(store.configured),
    );
    e.single(
        "authd_store_breaker_open",
        Kind::Gauge,
        "1 while the store's circuit breaker refuses reads after repeated failures (authentications needing the store are rejected).",
        u64::from(store.breaker_open),
    );
    e.single(
        "authd_store_changes_readable",
        Kind::Gauge,
        "1 when the last poll of the store's change generation worked (0 without a store).",
        u64::from(store.changes_readable),
    );
    e.finish()
}
