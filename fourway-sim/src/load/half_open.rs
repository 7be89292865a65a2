//! [`run_half_open`]: EAP conversations (TLS, PEAP or TTLS) opened and
//! abandoned right after the server's first TLS flight, to measure the
//! server's memory per conversation in progress.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eap_methods::peer::{PeerConfig, PeerOutcome, PeerSession};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::ap::{ApSession, NasConfig, RadiusOutcome};
use crate::radius_client::{Retransmit, Transport, TransportError};
use crate::station::StationError;

use super::{Shared, failure_label, write_ready_file};

/// Options of [`run_half_open`].
pub struct HalfOpenOptions {
    pub server: SocketAddr,
    /// Source address of the requests (default: chosen by the system).
    pub bind: Option<IpAddr>,
    pub nas: NasConfig,
    pub peer: Arc<PeerConfig>,
    /// Conversations to open.
    pub sessions: usize,
    /// Conversations opened at once (at least one per socket).
    pub concurrency: usize,
    /// How long to hold the conversations once all were opened.
    pub hold: Duration,
    pub retransmit: Retransmit,
    /// Created (with one line) when all conversations were opened, at the
    /// start of the hold.
    pub ready_file: Option<PathBuf>,
    pub progress: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct HalfOpenReport {
    pub mode: String,
    pub requested: usize,
    /// Conversations that got the server's first TLS flight.
    pub reached: u64,
    pub failed: u64,
    pub failures: BTreeMap<String, u64>,
    /// UDP sockets used (each carries at most 256 Identifiers' worth of
    /// requests, so no Identifier is reused while the conversations are held).
    pub sockets: usize,
    /// Access-Requests per conversation to reach that point.
    pub round_trips_mean: f64,
    /// TLS data octets in the first Access-Challenge that carried some.
    pub first_flight_octets_mean: f64,
    pub retransmits: u64,
    pub timeouts: u64,
    /// Time to open all conversations.
    pub open_s: f64,
    /// Time they were held afterwards.
    pub held_s: f64,
}

impl HalfOpenReport {
    /// Human summary.
    pub fn human(&self) -> String {
        let mut s = format!(
            "half-open: {} of {} conversations reached the server's first TLS flight \
             ({} failed) over {} sockets in {:.2}s, held {:.1}s\n\
             round trips {:.2}  first flight {:.0} octets  retransmits {}  timeouts {}",
            self.reached,
            self.requested,
            self.failed,
            self.sockets,
            self.open_s,
            self.held_s,
            self.round_trips_mean,
            self.first_flight_octets_mean,
            self.retransmits,
            self.timeouts
        );
        for (reason, n) in &self.failures {
            s.push_str(&format!("\nfailure: {n} x {reason}"));
        }
        s
    }
}

#[derive(Default)]
struct HalfOpenShared {
    base: Shared,
    reached: u64,
    octets: u64,
}

/// Octets of TLS data in an EAP-Request of EAP-TLS, EAP-TTLS or PEAP (RFC
/// 5216 §3.1, RFC 5281 §9.1: flags, with the version in the low bits for
/// TTLS and PEAP, then the TLS Message Length when L is set); None for any
/// other packet, and 0 for a Start.
fn eap_tls_data_len(eap: &[u8]) -> Option<usize> {
    const EAP_REQUEST: u8 = 1;
    const EAP_TYPES: [u8; 3] = [13, 21, 25]; // TLS, TTLS, PEAP
    const FLAG_L: u8 = 0x80;
    const FLAG_S: u8 = 0x20;
    if eap.len() < 6 || eap[0] != EAP_REQUEST || !EAP_TYPES.contains(&eap[4]) {
        return None;
    }
    let len = (u16::from_be_bytes([eap[2], eap[3]]) as usize).min(eap.len());
    let flags = eap[5];
    if flags & FLAG_S != 0 {
        return Some(0);
    }
    let header = if flags & FLAG_L != 0 { 10 } else { 6 };
    Some(len.saturating_sub(header))
}

/// Run one EAP-TLS conversation up to the server's first Access-Challenge
/// carrying TLS data (the answer to the ClientHello), then abandon it.
/// Returns the round trips and the TLS data octets of that challenge.
async fn half_open_once(
    transport: &mut Transport,
    nas: NasConfig,
    station: [u8; 6],
    peer: Arc<PeerConfig>,
    first_identifier: u8,
) -> (u32, Result<usize, StationError>) {
    let mut peer = PeerSession::new(peer);
    let mut ap = ApSession::new(nas, station, first_identifier);
    // The authenticator opens with EAP-Request/Identity (RFC 3748 §5.1).
    let mut to_peer: Vec<u8> = vec![1, 1, 0, 5, 1];
    let result = loop {
        if ap.round_trips() >= 8 {
            break Err(StationError::Eap(
                "no TLS data from the server after 8 round trips".into(),
            ));
        }
        let response = match peer.handle(&to_peer) {
            PeerOutcome::Response(r) => r,
            PeerOutcome::Failure(reason) => break Err(StationError::Eap(reason.to_string())),
            other => break Err(StationError::Eap(format!("unexpected: {other:?}"))),
        };
        let request = match ap.access_request(&response, rand::random()) {
            Ok(r) => r,
            Err(e) => break Err(e.into()),
        };
        let reply = match transport.exchange(&request, ap.identifier()).await {
            Ok(r) => r,
            Err(e) => break Err(e.into()),
        };
        match ap.handle_response(&reply) {
            Ok(RadiusOutcome::Challenge(eap)) => match eap_tls_data_len(&eap) {
                Some(n) if n > 0 => break Ok(n),
                _ => to_peer = eap,
            },
            Ok(RadiusOutcome::Reject { reply_message, .. }) => {
                break Err(StationError::Rejected(reply_message));
            }
            Ok(RadiusOutcome::Accept(_)) => {
                break Err(StationError::Eap(
                    "Access-Accept before any TLS data".into(),
                ));
            }
            Err(e) => break Err(e.into()),
        }
    };
    (ap.round_trips(), result)
}

/// Open `sessions` EAP-TLS conversations, each abandoned right after the
/// server's first TLS flight, then hold them (send nothing more) for
/// `hold`. Conversation `i` runs on socket `i % sockets`, one at a time per
/// socket, with Identifiers that do not repeat on that socket.
pub async fn run_half_open(opts: HalfOpenOptions) -> HalfOpenReport {
    let start = Instant::now();
    // Two requests (Identity, ClientHello) per conversation in the usual
    // case: 128 conversations per socket keep the Identifiers unique.
    let sockets = opts.concurrency.max(opts.sessions.div_ceil(128)).max(1);
    let shared = Arc::new(Mutex::new(HalfOpenShared::default()));
    let reached = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let progress = if opts.progress {
        let reached = reached.clone();
        let stop = stop.clone();
        let total = opts.sessions;
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                eprintln!(
                    "[{:>5.1}s] half-open {} of {total}",
                    start.elapsed().as_secs_f64(),
                    reached.load(Ordering::Relaxed),
                );
            }
        }))
    } else {
        None
    };
    let mut workers = Vec::new();
    for w in 0..sockets {
        let shared = shared.clone();
        let reached = reached.clone();
        let nas = opts.nas.clone();
        let peer = opts.peer.clone();
        let (server, bind, retransmit, total) =
            (opts.server, opts.bind, opts.retransmit, opts.sessions);
        workers.push(tokio::spawn(async move {
            let mut transport = match Transport::connect_from(server, bind, retransmit).await {
                Ok(t) => t,
                Err(e) => {
                    let mut s = shared.lock().await;
                    *s.base.failures.entry(format!("socket: {e}")).or_insert(0) += 1;
                    return;
                }
            };
            let mut local = Shared::default();
            let (mut ok, mut octets) = (0u64, 0u64);
            let mut identifier: u8 = 0;
            for i in (w..total).step_by(sockets) {
                let mac = [0x02, 0x01, 0x00, (i >> 16) as u8, (i >> 8) as u8, i as u8];
                let (rt, result) =
                    half_open_once(&mut transport, nas.clone(), mac, peer.clone(), identifier)
                        .await;
                identifier = identifier.wrapping_add(rt as u8);
                match result {
                    Ok(n) => {
                        ok += 1;
                        octets += n as u64;
                        local.round_trips += rt as u64;
                        reached.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        if matches!(e, StationError::Transport(TransportError::Timeout { .. })) {
                            local.timeouts += 1;
                        }
                        *local.failures.entry(failure_label(&e)).or_insert(0) += 1;
                    }
                }
            }
            local.retransmits = transport.retransmits;
            let mut s = shared.lock().await;
            for (k, v) in local.failures {
                *s.base.failures.entry(k).or_insert(0) += v;
            }
            s.base.round_trips += local.round_trips;
            s.base.retransmits += local.retransmits;
            s.base.timeouts += local.timeouts;
            s.reached += ok;
            s.octets += octets;
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        p.abort();
    }
    let open_s = start.elapsed().as_secs_f64();
    let mut s = shared.lock().await;
    let ok = s.reached;
    if let Some(path) = &opts.ready_file {
        write_ready_file(path, &format!("holding {ok}")).await;
    }
    if opts.progress {
        eprintln!(
            "half-open: {ok} of {} conversations open, holding them {:.1}s",
            opts.sessions,
            opts.hold.as_secs_f64()
        );
    }
    let held = Instant::now();
    tokio::time::sleep(opts.hold).await;
    let failed: u64 = s.base.failures.values().sum();
    HalfOpenReport {
        mode: "half-open".into(),
        requested: opts.sessions,
        reached: ok,
        failed,
        failures: std::mem::take(&mut s.base.failures),
        sockets,
        round_trips_mean: if ok > 0 {
            s.base.round_trips as f64 / ok as f64
        } else {
            0.0
        },
        first_flight_octets_mean: if ok > 0 {
            s.octets as f64 / ok as f64
        } else {
            0.0
        },
        retransmits: s.base.retransmits,
        timeouts: s.base.timeouts,
        open_s,
        held_s: held.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::eap_tls_data_len;

    #[test]
    fn tls_data_length_of_eap_requests() {
        // EAP-TLS Start: no data.
        assert_eq!(eap_tls_data_len(&[1, 2, 0, 6, 13, 0x20]), Some(0));
        // First fragment with L and M: 4 octets of length, then data.
        let mut p = vec![1, 3, 0, 14, 13, 0xC0, 0, 0, 5, 0, 0x16, 3, 3, 0];
        assert_eq!(eap_tls_data_len(&p), Some(4));
        // No L: data follows the flags.
        p = vec![1, 3, 0, 8, 13, 0x00, 0x16, 3];
        assert_eq!(eap_tls_data_len(&p), Some(2));
        // PEAP and TTLS: the same, with a version in the flags.
        assert_eq!(eap_tls_data_len(&[1, 2, 0, 6, 25, 0x20]), Some(0));
        assert_eq!(eap_tls_data_len(&[1, 2, 0, 6, 21, 0x20]), Some(0));
        assert_eq!(
            eap_tls_data_len(&[1, 3, 0, 14, 21, 0xC0, 0, 0, 5, 0, 0x16, 3, 3, 0]),
            Some(4)
        );
        assert_eq!(eap_tls_data_len(&[1, 3, 0, 8, 25, 0x00, 0x16, 3]), Some(2));
        // Another method (EAP-MSCHAPv2, 26): not a TLS-based packet.
        assert_eq!(eap_tls_data_len(&[1, 3, 0, 8, 26, 0x00, 0x16, 3]), None);
        // Identity request, a response, or a truncated packet: not EAP-TLS.
        assert_eq!(eap_tls_data_len(&[1, 1, 0, 5, 1]), None);
        assert_eq!(eap_tls_data_len(&[2, 3, 0, 6, 13, 0]), None);
        assert_eq!(eap_tls_data_len(&[1, 3, 0]), None);
    }
}
