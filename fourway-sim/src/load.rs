//! Load generator: many simulated stations authenticating at once against
//! any RADIUS server, with full EAP-TLS, PEAP or TTLS (optionally resumed)
//! or plain Access-Requests (the RADIUS fast path).
//!
//! Each worker owns one UDP socket and runs one authentication at a time, so
//! `concurrency` is the number of conversations in flight. An optional
//! warm-up runs first (not counted: it fills the session cache for resumed
//! runs and lets the server reach its steady state); a ready file then tells
//! an outside observer (a script reading the server's CPU time) that the
//! measured phase is about to start.
//!
//! [`run_half_open`] opens EAP conversations (TLS, PEAP or TTLS) and
//! abandons each right after the server's first TLS flight, to measure the
//! server's memory per conversation in progress.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eap_methods::peer::PeerConfig;
use radius_proto::{Code, Packet, PacketBuilder, Secret, dict};
use serde::Serialize;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::ap::NasConfig;
use crate::radius_client::{Retransmit, Transport, TransportError};
use crate::station::{StationError, StationMethod, authenticate_on};

mod half_open;
pub use half_open::{HalfOpenOptions, HalfOpenReport, run_half_open};

/// After creating the ready file, the load waits this long before the
/// measured phase, so an observer can take its snapshot while the server is
/// idle.
pub const READY_PAUSE: Duration = Duration::from_millis(500);

/// What each simulated station does.
#[derive(Clone)]
pub enum Mode {
    /// The EAP method of `peer.method`: EAP-TLS, or PEAP or TTLS with a
    /// password (the variant's name is older than those). With `resume`,
    /// each worker keeps its own TLS session store (like a station
    /// reconnecting to the same network) and resumes the session of its
    /// previous authentication.
    EapTls { peer: Arc<PeerConfig>, resume: bool },
    /// Access-Request with User-Name and User-Password (RFC 2865 §5.2).
    Pap {
        user: String,
        password: Zeroizing<Vec<u8>>,
    },
}

pub struct LoadOptions {
    pub server: SocketAddr,
    /// Source address of the requests (default: chosen by the system).
    pub bind: Option<IpAddr>,
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
    /// Authentications run (and discarded) before the measured phase.
    pub warmup: u64,
    /// Created (with one line) after the warm-up, [`READY_PAUSE`] before
    /// the measured phase starts.
    pub ready_file: Option<PathBuf>,
    /// Start authentications at this rate (per second) in the measured
    /// phase instead of as fast as the workers can; each one's latency is
    /// then counted from its scheduled start, so a server that falls behind
    /// shows it in the percentiles (no coordinated omission). `concurrency`
    /// still bounds the authentications in flight.
    pub rate: Option<f64>,
    /// RADIUS over TLS (RFC 6614) instead of UDP: each worker opens one
    /// connection at the start of a phase and runs all its stations over
    /// it, as a proxy would; `nas.secret` must then be "radsec".
    pub radsec: Option<crate::radsec_client::RadsecOptions>,
}

#[derive(Debug, Default, Serialize)]
pub struct LoadReport {
    pub mode: String,
    pub concurrency: usize,
    /// Authentications started per second, when paced (`rate`).
    pub offered_rate: Option<f64>,
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
    /// Warm-up authentications (not counted above).
    pub warmup_completed: u64,
    pub warmup_succeeded: u64,
    /// The load tool's own CPU time over the measured phase (utime + stime
    /// of the process, clock ticks of /proc/self/stat).
    pub tool_cpu_ticks: Option<u64>,
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

pub(crate) fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)] as f64 / 1000.0
}

/// The Access-Request both PAP loads send: User-Name, the User-Password
/// hidden under `authenticator` (RFC 2865 §5.2) and NAS-Identifier, signed
/// with `secret` (Message-Authenticator first, RFC 3579 §3.2).
pub(crate) fn pap_request<S: Secret + ?Sized>(
    nas_identifier: &str,
    user: &str,
    password: &[u8],
    secret: &S,
    identifier: u8,
    authenticator: [u8; 16],
) -> Result<Vec<u8>, radius_proto::Error> {
    let hidden =
        radius_proto::encrypt_user_password(password, secret.secret_bytes(), &authenticator)?;
    let mut b = PacketBuilder::new(Code::AccessRequest, identifier);
    b.add(dict::USER_NAME, user.as_bytes())?;
    b.add(dict::USER_PASSWORD, &hidden)?;
    b.add(dict::NAS_IDENTIFIER, nas_identifier.as_bytes())?;
    b.encode_request(authenticator, secret)
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
    let request = pap_request(
        &nas.nas_identifier,
        user,
        password,
        &nas.secret,
        identifier,
        authenticator,
    )?;
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

/// Create `path` with one line of text.
async fn write_ready_file(path: &std::path::Path, line: &str) {
    if let Err(e) = tokio::fs::write(path, format!("{line}\n")).await {
        eprintln!("fourway-sim: {}: {e}", path.display());
    }
}

/// The mode of each worker: with resumption, a TLS session store of its own
/// (a shared one would hand one station's ticket to another, and rustls
/// keeps only a few TLS 1.3 tickets per server name).
fn worker_modes(mode: &Mode, workers: usize) -> Vec<Mode> {
    (0..workers)
        .map(|_| match mode {
            Mode::EapTls { peer, resume: true } => {
                let mut tls = (*peer.tls).clone();
                tls.resumption = rustls::client::Resumption::in_memory_sessions(8);
                let mut own = (**peer).clone();
                own.tls = Arc::new(tls);
                Mode::EapTls {
                    peer: Arc::new(own),
                    resume: true,
                }
            }
            other => other.clone(),
        })
        .collect()
}

/// A worker's transport: a UDP socket, or one RadSec connection (TLS
/// handshake done here, once per worker and phase).
async fn connect(
    server: SocketAddr,
    bind: Option<IpAddr>,
    retransmit: Retransmit,
    radsec: Option<&crate::radsec_client::RadsecOptions>,
) -> Result<Transport, String> {
    let Some(o) = radsec else {
        return Transport::connect_from(server, bind, retransmit)
            .await
            .map_err(|e| format!("socket: {e}"));
    };
    let link = crate::radsec_client::RadsecLink::connect(o).await?;
    Transport::radsec(link, o.server, retransmit)
        .await
        .map_err(|e| format!("socket: {e}"))
}

/// Run the load (after the warm-up, if any) and report.
pub async fn run_load(opts: LoadOptions) -> LoadReport {
    let modes = worker_modes(&opts.mode, opts.concurrency.max(1));
    let (mut warmup_completed, mut warmup_succeeded) = (0, 0);
    if opts.warmup > 0 {
        let w = run_phase(&opts, &modes, None, Some(opts.warmup), None, false).await;
        warmup_completed = w.completed;
        warmup_succeeded = w.succeeded;
    }
    if let Some(path) = &opts.ready_file {
        write_ready_file(path, "measuring").await;
        tokio::time::sleep(READY_PAUSE).await;
    }
    let cpu_before = crate::floor::process_cpu_ticks();
    let mut report = run_phase(
        &opts,
        &modes,
        opts.duration,
        opts.count,
        opts.rate,
        opts.progress,
    )
    .await;
    report.tool_cpu_ticks = crate::floor::process_cpu_ticks()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    report.warmup_completed = warmup_completed;
    report.warmup_succeeded = warmup_succeeded;
    report
}

/// One phase of the load: `concurrency` workers until `duration` has passed
/// or `count` authentications were started, paced at `rate` if given.
async fn run_phase(
    opts: &LoadOptions,
    modes: &[Mode],
    duration: Option<Duration>,
    count: Option<u64>,
    rate: Option<f64>,
    progress: bool,
) -> LoadReport {
    let rate = rate.filter(|r| r.is_finite() && *r > 0.0);
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let issued = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Mutex::new(Shared::default()));
    let stop = Arc::new(AtomicBool::new(false));

    let progress = if progress {
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
    for (w, mode) in modes.iter().enumerate() {
        let issued = issued.clone();
        let done = done.clone();
        let ok = ok.clone();
        let shared = shared.clone();
        let mode = mode.clone();
        let nas = opts.nas.clone();
        let (server, bind) = (opts.server, opts.bind);
        let retransmit = opts.retransmit;
        let radsec = opts.radsec.clone();
        workers.push(tokio::spawn(async move {
            let mut transport = match connect(server, bind, retransmit, radsec.as_ref()).await {
                Ok(t) => t,
                Err(e) => {
                    let mut s = shared.lock().await;
                    *s.failures.entry(e).or_insert(0) += 1;
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
                let t0 = match rate {
                    Some(r) => {
                        let slot = start + Duration::from_secs_f64(n as f64 / r);
                        if deadline.is_some_and(|d| slot >= d) {
                            break;
                        }
                        tokio::time::sleep_until(slot.into()).await;
                        slot
                    }
                    None => Instant::now(),
                };
                let retransmits_before = transport.retransmits;
                let result = match &mode {
                    Mode::EapTls { peer, .. } => {
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
                        // A RadSec connection that failed is gone (no
                        // reconnection here): the worker stops, counted.
                        if radsec.is_some()
                            && matches!(e, StationError::Transport(TransportError::Io(_)))
                        {
                            done.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
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
            Mode::EapTls { peer, .. } => match StationMethod::of(&peer.method) {
                StationMethod::Tls => "eap-tls".into(),
                other => other.name().into(),
            },
            Mode::Pap { .. } => "pap".into(),
        },
        concurrency: opts.concurrency,
        offered_rate: rate,
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
        warmup_completed: 0,
        warmup_succeeded: 0,
        tool_cpu_ticks: None,
    }
}

impl LoadReport {
    /// Human summary, a few lines.
    pub fn human(&self) -> String {
        let mut s = format!(
            "{} x{}{}: {} completed, {} ok, {} failed in {:.2}s: {:.1} auth/s\n\
             latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}\n\
             round trips/auth {:.2}  resumed {}  retransmits {}  timeouts {}",
            self.mode,
            self.concurrency,
            self.offered_rate
                .map(|r| format!(" at {r}/s"))
                .unwrap_or_default(),
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
        if self.warmup_completed > 0 {
            s.push_str(&format!(
                "\nwarm-up (not counted): {} completed, {} ok",
                self.warmup_completed, self.warmup_succeeded
            ));
        }
        for (reason, n) in &self.failures {
            s.push_str(&format!("\nfailure: {n} x {reason}"));
        }
        s
    }
}
