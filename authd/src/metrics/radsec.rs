//! The RadSec listener's counters (`radsec/`), held by [`super::Metrics`]
//! so that the scrape endpoint, which only sees the handler, renders
//! them; and the per-client packet counters of RadSec clients, which live
//! in a table of their own (RadSec clients are not in the UDP client
//! table).
//!
//! Cardinality is bounded by the configuration: a `client` label names a
//! `[[client]]` with `certificate_name` (the table keeps only the names
//! of the current configuration, [`RadsecMetrics::client_counters`]);
//! every other label takes the program's fixed values.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::ClientCounters;
use super::exposition::{Exposition, Kind};

/// Why a RadSec connection was refused (before it carried a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `[radsec] max_connections` connections were open.
    MaxConnections,
    /// The client held `max_connections_per_client`.
    MaxConnectionsPerClient,
    /// The TLS handshake failed (untrusted or missing certificate,
    /// protocol error, ALPN mismatch) or did not end in time.
    Handshake,
    /// A trusted certificate that names no `[[client]]`, or one fenced to
    /// other addresses.
    UnknownCertificate,
    /// The negotiated protocol is refused (RFC 9765 §3.3, §3.4):
    /// RADIUS/1.1 over TLS 1.2, or no "radius/1.1" under `require`.
    Protocol,
}

impl Refused {
    pub const ALL: [Refused; 5] = [
        Refused::MaxConnections,
        Refused::MaxConnectionsPerClient,
        Refused::Handshake,
        Refused::UnknownCertificate,
        Refused::Protocol,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Refused::MaxConnections => "max_connections",
            Refused::MaxConnectionsPerClient => "max_connections_per_client",
            Refused::Handshake => "handshake_failed",
            Refused::UnknownCertificate => "unknown_certificate",
            Refused::Protocol => "protocol",
        }
    }
}

/// Why an identified RadSec connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The peer closed it (with or without close_notify).
    Peer,
    /// No request for `idle_timeout_secs`.
    Idle,
    /// A packet closed it (malformed, refused by admission, Identifier or
    /// Token reused while outstanding, client gone on reload; RFC 6613
    /// §2.6.4).
    Packet,
    /// A reply could not be written within the idle timeout, or a read
    /// failed (reset, TLS error).
    Error,
    /// authd is stopping.
    Shutdown,
}

impl Closed {
    pub const ALL: [Closed; 5] = [
        Closed::Peer,
        Closed::Idle,
        Closed::Packet,
        Closed::Error,
        Closed::Shutdown,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Closed::Peer => "peer",
            Closed::Idle => "idle",
            Closed::Packet => "packet",
            Closed::Error => "error",
            Closed::Shutdown => "shutdown",
        }
    }
}

/// Counters of the RadSec listener.
#[derive(Debug, Default)]
pub struct RadsecMetrics {
    /// TLS handshakes completed with a certificate that named a client.
    pub connections: AtomicU64,
    /// Of those, the connections that negotiated RADIUS/1.1.
    pub radius_1_1_connections: AtomicU64,
    /// Identified connections open now.
    pub open: AtomicU64,
    refused: [AtomicU64; Refused::ALL.len()],
    closed: [AtomicU64; Closed::ALL.len()],
    /// Requests handed to the request path.
    pub requests: AtomicU64,
    /// Status-Server requests answered (the peer's watchdog, RFC 5997).
    pub status_server_answered: AtomicU64,
    /// Times a connection's reader waited because 256 of its requests
    /// were in progress (RFC 6613 §2.6.5).
    pub outstanding_limit_waits: AtomicU64,
    /// Times a connection's reader waited for the shared byte budget
    /// (`[radsec] max_buffered_bytes`).
    pub budget_waits: AtomicU64,
    /// Octets of the budget held now by requests in progress and their
    /// replies not yet written.
    pub buffered_bytes: AtomicU64,
    /// The budget itself, `[radsec] max_buffered_bytes`.
    pub budget_bytes: AtomicU64,
    /// Packet counters of RadSec clients, by `[[client]]` name.
    clients: Mutex<BTreeMap<String, Arc<ClientCounters>>>,
}

fn n(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl RadsecMetrics {
    pub fn refused(&self, why: Refused) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn refused_count(&self, why: Refused) -> u64 {
        n(&self.refused[why as usize])
    }

    pub fn closed(&self, why: Closed) {
        self.closed[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn closed_count(&self, why: Closed) -> u64 {
        n(&self.closed[why as usize])
    }

    /// The counters of each RadSec client in `names` (a configuration's
    /// `[[client]]` names with `certificate_name`): an existing entry of the
    /// same name keeps counting (a reload does not reset it), and names no
    /// longer configured are dropped, so the table never holds more
    /// entries than the configuration has clients.
    pub fn client_counters<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> BTreeMap<String, Arc<ClientCounters>> {
        let mut table = crate::sync::lock(&self.clients);
        let mut next = BTreeMap::new();
        for name in names {
            let c = table.remove(name).unwrap_or_default();
            next.insert(name.to_owned(), c);
        }
        table.clone_from(&next);
        next
    }

    /// The RadSec clients that sent a request, with their counters.
    pub fn clients(&self) -> Vec<(String, Arc<ClientCounters>)> {
        crate::sync::lock(&self.clients)
            .iter()
            .filter(|(_, c)| c.any_request())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// One line for the logs.
    pub fn summary(&self) -> String {
        let refused: Vec<String> = Refused::ALL
            .iter()
            .map(|r| format!("{}={}", r.label(), self.refused_count(*r)))
            .collect();
        let closed: Vec<String> = Closed::ALL
            .iter()
            .map(|c| format!("{}={}", c.label(), self.closed_count(*c)))
            .collect();
        format!(
            "connections={} radius_1_1_connections={} open={} refused=[{}] closed=[{}] requests={} status_server_answered={} outstanding_limit_waits={} budget_waits={}",
            n(&self.connections),
            n(&self.radius_1_1_connections),
            n(&self.open),
            refused.join(" "),
            closed.join(" "),
            n(&self.requests),
            n(&self.status_server_answered),
            n(&self.outstanding_limit_waits),
            n(&self.budget_waits),
        )
    }

    /// The `authd_radsec_*` families (rendered, at zero, whether or not a
    /// RadSec listener runs: a dashboard need not guess).
    pub fn render(&self, e: &mut Exposition) {
        let all = n(&self.connections);
        let v11 = n(&self.radius_1_1_connections);
        e.family(
            "authd_radsec_connections_total",
            Kind::Counter,
            "RadSec connections identified by their certificate, by protocol (ALPN, RFC 9765): radius/1.0 (classic RadSec, or no ALPN) or radius/1.1.",
        );
        e.int(
            "authd_radsec_connections_total",
            &[("protocol", "radius/1.0")],
            all.saturating_sub(v11),
        );
        e.int(
            "authd_radsec_connections_total",
            &[("protocol", "radius/1.1")],
            v11,
        );
        e.single(
            "authd_radsec_connections_open",
            Kind::Gauge,
            "RadSec connections open now (identified; handshakes in progress not included).",
            n(&self.open),
        );
        e.family(
            "authd_radsec_connections_refused_total",
            Kind::Counter,
            "RadSec connections refused before any request, by reason.",
        );
        for r in Refused::ALL {
            e.int(
                "authd_radsec_connections_refused_total",
                &[("reason", r.label())],
                self.refused_count(r),
            );
        }
        e.family(
            "authd_radsec_connections_closed_total",
            Kind::Counter,
            "Identified RadSec connections that ended, by reason.",
        );
        for c in Closed::ALL {
            e.int(
                "authd_radsec_connections_closed_total",
                &[("reason", c.label())],
                self.closed_count(c),
            );
        }
        e.single(
            "authd_radsec_requests_total",
            Kind::Counter,
            "Requests read from RadSec connections and handed to the request path.",
            n(&self.requests),
        );
        e.single(
            "authd_radsec_status_server_answered_total",
            Kind::Counter,
            "Status-Server requests answered on RadSec connections (the peer's watchdog).",
            n(&self.status_server_answered),
        );
        e.single(
            "authd_radsec_outstanding_limit_waits_total",
            Kind::Counter,
            "Times a RadSec connection stopped reading because 256 of its requests were in progress.",
            n(&self.outstanding_limit_waits),
        );
        e.single(
            "authd_radsec_budget_waits_total",
            Kind::Counter,
            "Times a RadSec connection stopped reading until the shared buffer budget ([radsec] max_buffered_bytes) had room.",
            n(&self.budget_waits),
        );
        e.single(
            "authd_radsec_buffered_bytes",
            Kind::Gauge,
            "Octets of the RadSec buffer budget held now by requests in progress and replies not yet written.",
            n(&self.buffered_bytes),
        );
        e.single(
            "authd_radsec_buffer_budget_bytes",
            Kind::Gauge,
            "The RadSec buffer budget, [radsec] max_buffered_bytes (0 without a RadSec listener).",
            n(&self.budget_bytes),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use radius_proto::Code;

    #[test]
    fn client_counters_survive_a_reload_and_follow_the_configuration() {
        let m = RadsecMetrics::default();
        let first = m.client_counters(["proxy-a", "proxy-b"]);
        first["proxy-a"].count(Code::AccessRequest);
        assert_eq!(m.clients().len(), 1, "only a client that sent something");
        let second = m.client_counters(["proxy-a", "proxy-c"]);
        assert!(Arc::ptr_eq(&first["proxy-a"], &second["proxy-a"]));
        assert!(second["proxy-a"].any_request());
        assert!(!second["proxy-c"].any_request());
        // proxy-b left the configuration: its entry is gone.
        assert_eq!(crate::sync::lock(&m.clients).len(), 2);
        assert!(!crate::sync::lock(&m.clients).contains_key("proxy-b"));
    }

    #[test]
    fn renders_every_reason_at_zero_then_counts() {
        let m = RadsecMetrics::default();
        let mut e = Exposition::default();
        m.render(&mut e);
        let text = e.finish();
        assert!(text.contains("authd_radsec_connections_refused_total{reason=\"protocol\"} 0"));
        assert!(text.contains("authd_radsec_connections_closed_total{reason=\"idle\"} 0"));
        assert!(text.contains("# TYPE authd_radsec_connections_open gauge"));
        m.refused(Refused::Protocol);
        m.closed(Closed::Idle);
        m.connections.fetch_add(3, Ordering::Relaxed);
        m.radius_1_1_connections.fetch_add(1, Ordering::Relaxed);
        let mut e = Exposition::default();
        m.render(&mut e);
        let text = e.finish();
        assert!(text.contains("authd_radsec_connections_refused_total{reason=\"protocol\"} 1"));
        assert!(text.contains("authd_radsec_connections_closed_total{reason=\"idle\"} 1"));
        assert!(text.contains("authd_radsec_connections_total{protocol=\"radius/1.0\"} 2"));
        assert!(text.contains("authd_radsec_connections_total{protocol=\"radius/1.1\"} 1"));
    }
}
