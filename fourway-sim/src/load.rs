//! Load generator: many simulated stations authenticating at once against
//! any RADIUS server, with full EAP-TLS (optionally resumed) or plain
//! Access-Requests (the RADIUS fast path).
//!
//! Each worker owns one UDP socket and runs one authentication at a time, so
//! `concurrency` is the number of conversations in flight.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eap_methods::peer::PeerConfig;
use radius_proto::{Code, Packet, PacketBuilder, dict};
use serde::Serialize;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::ap::NasConfig;
use crate::radius_client::{Retransmit, Transport, TransportError};
use crate::station::{StationError, authenticate_on};

/// What each simulated station does.
#[derive(Clone)]
pub enum Mode {
    /// Full EAP-TLS (resumed when the peer configuration keeps sessions).
    EapTls(Arc<PeerConfig>),
    /// Access-Request with User-Name and User-Password (RFC 2865 §5.2).
    Pap {
        user: String,
        password: Zeroizing<Vec<u8>>,
    },
}

pub struct LoadOptions {
    pub server: SocketAddr,
    pub nas: NasConfig,
    pub mode: Mode,
    pub concurrency: usize,
    /// Stop after this long...
    pub duration: Option<Duration>,
    /// ...or after this many authentications (whichever comes first).
    pub count: Option<u64>,
    pub retransmit: Retransmit,
    /// Print a progress line to stderr every second.
    pub progress: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct LoadReport {
    pub mode: String,
    pub concurrency: usize,
    pub completed: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub failures: BTreeMap<String, u64>,
    pub resumed: u64,
    pub elapsed_s: f64,
    pub auths_per_s: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p90: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    pub round_trips_mean: f64,
    pub retransmits: u64,
    pub timeouts: u64,
}

#[derive(Default)]
struct Shared {
    latencies_us: Vec<u32>,
    failures: BTreeMap<String, u64>,
    round_trips: u64,
    resumed: u64,
    retransmits: u64,
    timeouts: u64,
}

fn failure_label(e: &StationError) -> String {
    match e {
        StationError::Transport(TransportError::Timeout { .. }) => "timeout".into(),
        StationError::Rejected(_) => "access_reject".into(),
        StationError::Eap(m) => format!("eap: {m}"),
        other => other.to_string(),
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)] as f64 / 1000.0
}

/// One plain Access-Request / Access-Accept exchange.
async fn pap_once(
    transport: &mut Transport,
    nas: &NasConfig,
    user: &str,
    password: &[u8],
    identifier: u8,
) -> Result<u32, StationError> {
    let authenticator: [u8; 16] = rand::random();
    let hidden = radius_proto::encrypt_user_password(password, &nas.secret, &authenticator)?;
    let mut b = PacketBuilder::new(Code::AccessRequest, identifier);
    b.add(dict::USER_NAME, user.as_bytes())?;
    b.add(dict::USER_PASSWORD, &hidden)?;
    b.add(dict::NAS_IDENTIFIER, nas.nas_identifier.as_bytes())?;
    let request = b.encode_request(authenticator, &nas.secret)?;
    let reply = transport.exchange(&request, identifier).await?;
    let packet = Packet::new_checked(&reply[..])
        .map_err(|e| StationError::Radius(crate::ap::ApError::Malformed(e)))?;
    radius_proto::verify_response(&packet, &authenticator, &nas.secret)
        .map_err(|e| StationError::Radius(crate::ap::ApError::BadAuthenticator(e)))?;
    match packet.code() {
        Code::AccessAccept => Ok(1),
        _ => Err(StationError::Rejected(None)),
    }
}

/// Run the load and report.
pub async fn run_load(opts: LoadOptions) -> LoadReport {
    let start = Instant::now();
    let deadline = opts.duration.map(|d| start + d);
    let issued = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Mutex::new(Shared::default()));
    let stop = Arc::new(AtomicBool::new(false));

    let progress = if opts.progress {
        let done = done.clone();
        let ok = ok.clone();
        let stop = stop.clone();
        Some(tokio::spawn(async move {
            let mut last = 0u64;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let d = done.load(Ordering::Relaxed);
                eprintln!(
                    "[{:>5.1}s] completed {d} ({} ok), {}/s",
                    start.elapsed().as_secs_f64(),
                    ok.load(Ordering::Relaxed),
                    d - last
                );
                last = d;
            }
        }))
    } else {
        None
    };

    let mut workers = Vec::new();
    for w in 0..opts.concurrency.max(1) {
        let issued = issued.clone();
        let done = done.clone();
        let ok = ok.clone();
        let shared = shared.clone();
        let mode = opts.mode.clone();
        let nas = opts.nas.clone();
        let server = opts.server;
        let count = opts.count;
        let retransmit = opts.retransmit;
        workers.push(tokio::spawn(async move {
            let mut transport = match Transport::connect(server, retransmit).await {
                Ok(t) => t,
                Err(e) => {
                    let mut s = shared.lock().await;
                    *s.failures.entry(format!("socket: {e}")).or_insert(0) += 1;
                    return;
                }
            };
            let mut local = Shared::default();
            let mut identifier: u8 = (w as u8).wrapping_mul(37);
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if count.is_some_and(|c| n >= c) {
                    break;
                }
                // Distinct, locally administered station MACs.
                let mac = [
                    0x02,
                    0x00,
                    (n >> 24) as u8,
                    (n >> 16) as u8,
                    (n >> 8) as u8,
                    n as u8,
                ];
                let t0 = Instant::now();
                let retransmits_before = transport.retransmits;
                let result = match &mode {
                    Mode::EapTls(peer) => {
                        authenticate_on(&mut transport, nas.clone(), mac, peer.clone())
                            .await
                            .map(|a| {
                                if a.resumed {
                                    local.resumed += 1;
                                }
                                a.round_trips
                            })
                    }
                    Mode::Pap { user, password } => {
                        identifier = identifier.wrapping_add(1);
                        pap_once(&mut transport, &nas, user, password, identifier).await
                    }
                };
                let elapsed = t0.elapsed();
                local.retransmits += transport.retransmits - retransmits_before;
                match result {
                    Ok(rt) => {
                        local.round_trips += rt as u64;
                        local
                            .latencies_us
                            .push(elapsed.as_micros().min(u32::MAX as u128) as u32);
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        if matches!(e, StationError::Transport(TransportError::Timeout { .. })) {
                            local.timeouts += 1;
                        }
                        *local.failures.entry(failure_label(&e)).or_insert(0) += 1;
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            let mut s = shared.lock().await;
            s.latencies_us.extend(local.latencies_us);
            for (k, v) in local.failures {
                *s.failures.entry(k).or_insert(0) += v;
            }
            s.round_trips += local.round_trips;
            s.resumed += local.resumed;
            s.retransmits += local.retransmits;
            s.timeouts += local.timeouts;
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        p.abort();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut s = shared.lock().await;
    s.latencies_us.sort_unstable();
    let succeeded = ok.load(Ordering::Relaxed);
    let completed = done.load(Ordering::Relaxed);
    LoadReport {
        mode: match &opts.mode {
            Mode::EapTls(_) => "eap-tls".into(),
            Mode::Pap { .. } => "pap".into(),
        },
        concurrency: opts.concurrency,
        completed,
        succeeded,
        failed: completed - succeeded,
        failures: std::mem::take(&mut s.failures),
        resumed: s.resumed,
        elapsed_s: elapsed,
        auths_per_s: if elapsed > 0.0 {
            succeeded as f64 / elapsed
        } else {
            0.0
        },
        latency_ms_p50: percentile(&s.latencies_us, 0.50),
        latency_ms_p90: percentile(&s.latencies_us, 0.90),
        latency_ms_p99: percentile(&s.latencies_us, 0.99),
        latency_ms_max: s.latencies_us.last().map_or(0.0, |v| *v as f64 / 1000.0),
        round_trips_mean: if succeeded > 0 {
            s.round_trips as f64 / succeeded as f64
        } else {
            0.0
        },
        retransmits: s.retransmits,
        timeouts: s.timeouts,
    }
}

impl LoadReport {
    /// Human summary, a few lines.
    pub fn human(&self) -> String {
        let mut s = format!(
            "{} x{}: {} completed, {} ok, {} failed in {:.2}s: {:.1} auth/s\n\
             latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}\n\
             round trips/auth {:.2}  resumed {}  retransmits {}  timeouts {}",
            self.mode,
            self.concurrency,
            self.completed,
            self.succeeded,
            self.failed,
            self.elapsed_s,
            self.auths_per_s,
            self.latency_ms_p50,
            self.latency_ms_p90,
            self.latency_ms_p99,
            self.latency_ms_max,
            self.round_trips_mean,
            self.resumed,
            self.retransmits,
            self.timeouts
        );
        for (reason, n) in &self.failures {
            s.push_str(&format!("\nfailure: {n} x {reason}"));
        }
        s
    }
}
