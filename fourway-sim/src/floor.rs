//! The floor of a full EAP-TLS authentication: the mutual TLS handshake
//! with rustls alone, in memory, no EAP, no RADIUS, no sockets.
//!
//! Two threads exchange the TLS records over channels: the server thread
//! runs the server side of every handshake, the client thread the client
//! side, `in_flight` handshakes interleaved so the server thread is not
//! parked waiting for one peer. Each thread can be pinned to its own CPU
//! (`taskset -p`, the thread's id from `/proc/thread-self`). The figure is
//! the server thread's CPU time, read by the thread itself from
//! `/proc/thread-self/schedstat` (the scheduler's run time in ns, the sum
//! the kernel also splits into utime and stime of `/proc/PID/stat`, which
//! bench/compare.sh reads for the servers) and, as a cross-check, from
//! `/proc/thread-self/stat` in clock ticks.
//!
//! The server side is configured as authd configures EAP-TLS by default:
//! the aws-lc-rs default provider with authd's server cipher-suite order
//! (`eap_methods::tls_common::server_provider`, chosen by the server's
//! order) and its key exchange groups, the server chain and key, a
//! mandatory client certificate verified against the CA
//! (`WebPkiClientVerifier`), one TLS version, one
//! TLS 1.3 ticket sealed per full handshake (authd's resumption default)
//! and the in-memory session cache. The client side is the load tool's
//! station ([`crate::station::client_config`]), resumption off: every
//! handshake is a fresh, full one.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use serde::Serialize;

use crate::station::{StationTls, TlsChoice, client_config, default_server_name};

/// What to measure.
#[derive(Debug, Clone)]
pub struct FloorOptions {
    /// Server chain, key and the CA that verifies client certificates.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub ca: PathBuf,
    /// The station's certificate and key.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub version: TlsChoice,
    /// Handshakes measured: stop after this many...
    pub handshakes: Option<u64>,
    /// ...or once this long has passed (whichever first).
    pub duration: Option<Duration>,
    /// Handshakes run first and not counted.
    pub warmup: u64,
    /// Handshakes interleaved.
    pub in_flight: usize,
    /// Measured handshakes started at this many per second (open loop,
    /// the threads sleep in between, as a server does at low load); None:
    /// as fast as `in_flight` allows.
    pub rate: Option<f64>,
    /// `taskset -c` lists for the two threads (None: not pinned).
    pub server_cpu: Option<String>,
    pub client_cpu: Option<String>,
}

/// The measurement.
#[derive(Debug, Clone, Serialize)]
pub struct FloorReport {
    pub mode: String,
    pub tls: TlsChoice,
    pub handshakes: u64,
    pub in_flight: usize,
    /// Handshakes started per second when paced (None: as fast as possible).
    pub rate: Option<f64>,
    pub elapsed_s: f64,
    /// Server thread's CPU time over the measured handshakes, ns
    /// (`/proc/thread-self/schedstat`).
    pub server_cpu_ns: u64,
    /// The same from `/proc/thread-self/stat`, utime + stime, clock ticks.
    pub server_cpu_ticks: u64,
    pub server_ms_per_handshake: f64,
    /// The client thread's (not part of the floor; for comparison).
    pub client_cpu_ns: u64,
    pub client_ms_per_handshake: f64,
    /// Share of the elapsed time the server thread was on a CPU.
    pub server_busy: f64,
    pub server_cpu: Option<String>,
    pub client_cpu: Option<String>,
    pub warmup: u64,
}

/// utime + stime (fields 14 and 15, proc(5)) of a /proc stat line.
fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    tick(11).zip(tick(12)).map(|(u, s)| u + s)
}

/// This process's CPU time, all threads: utime + stime of
/// /proc/self/stat, in clock ticks (as bench/compare.sh reads a server's).
pub fn process_cpu_ticks() -> Option<u64> {
    stat_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// A thread's CPU time: (schedstat ns, utime + stime ticks).
pub(crate) fn thread_cpu() -> Result<(u64, u64), String> {
    let sched = std::fs::read_to_string("/proc/thread-self/schedstat")
        .map_err(|e| format!("/proc/thread-self/schedstat: {e}"))?;
    let ns = sched
        .split_whitespace()
        .next()
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or("/proc/thread-self/schedstat: no run time")?;
    let stat = std::fs::read_to_string("/proc/thread-self/stat")
        .map_err(|e| format!("/proc/thread-self/stat: {e}"))?;
    let ticks = stat_ticks(&stat).ok_or("/proc/thread-self/stat: no utime/stime")?;
    Ok((ns, ticks))
}

/// Pin the calling thread to `cpus` (a `taskset -c` list).
pub(crate) fn pin_this_thread(cpus: &str) -> Result<(), String> {
    let link =
        std::fs::read_link("/proc/thread-self").map_err(|e| format!("/proc/thread-self: {e}"))?;
    let tid = link
        .file_name()
        .and_then(|t| t.to_str())
        .ok_or("/proc/thread-self: no thread id")?
        .to_string();
    let status = std::process::Command::new("taskset")
        .args(["-p", "-c", cpus, &tid])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    if !status.success() {
        return Err(format!("taskset -p -c {cpus} {tid}: {status}"));
    }
    Ok(())
}

fn load_chain(path: &PathBuf) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate found", path.display()));
    }
    Ok(chain)
}

/// The server configuration, as authd's `build_server_tls` makes it for the
/// bench's `[tls]` (no CRL, resumption on, one version).
pub fn server_config(o: &FloorOptions) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(eap_methods::tls_common::server_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in load_chain(&o.ca)? {
        roots
            .add(c)
            .map_err(|e| format!("{}: {e}", o.ca.display()))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("client verifier: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(&o.server_key)
        .map_err(|e| format!("{}: {e}", o.server_key.display()))?;
    let version: &'static rustls::SupportedProtocolVersion = match o.version {
        TlsChoice::Tls12 => &rustls::version::TLS12,
        TlsChoice::Tls13 => &rustls::version::TLS13,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_chain(&o.server_cert)?, key)
        .map_err(|e| format!("server certificate: {e}"))?;
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new().map_err(|e| e.to_string())?;
    config.send_tls13_tickets = 1;
    // authd's suite order (AES-128-GCM-SHA256 first) decides, as in
    // authd's `build_server_tls`.
    eap_methods::tls_common::choose_by_server_order(&mut config);
    config.send_half_rtt_data = false;
    config.enable_secret_extraction = true;
    Ok(Arc::new(config))
}

/// Client to server.
enum Up {
    /// TLS records of handshake `id` (a new one when the id is new).
    Records(u32, Vec<u8>),
    /// The warm-up is over: start counting.
    Mark,
    /// Done: report the CPU time since `Mark`.
    End,
}

/// Server to client: the records answering handshake `id`, and whether the
/// server side of it is complete (client certificate verified).
enum Down {
    Records(u32, Vec<u8>, bool),
    Failed(u32, String),
    Cpu(u64, u64),
}

/// The server thread: serves until `End`, returns nothing; reports its CPU
/// over `Down::Cpu`.
fn serve(
    config: Arc<rustls::ServerConfig>,
    pin: Option<String>,
    rx: mpsc::Receiver<Up>,
    tx: mpsc::Sender<Down>,
) -> Result<(), String> {
    if let Some(cpus) = &pin {
        pin_this_thread(cpus)?;
    }
    let mut conns: std::collections::HashMap<u32, rustls::ServerConnection> =
        std::collections::HashMap::new();
    let mut mark = thread_cpu()?;
    let mut out = Vec::with_capacity(4096);
    while let Ok(msg) = rx.recv() {
        match msg {
            Up::Mark => mark = thread_cpu()?,
            Up::End => {
                let now = thread_cpu()?;
                let _ = tx.send(Down::Cpu(now.0 - mark.0, now.1 - mark.1));
                return Ok(());
            }
            Up::Records(id, data) => {
                let conn = match conns.entry(id) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => v.insert(
                        rustls::ServerConnection::new(config.clone()).map_err(|e| e.to_string())?,
                    ),
                };
                let step = (|| {
                    let mut rd = &data[..];
                    while !rd.is_empty() {
                        conn.read_tls(&mut rd).map_err(|e| e.to_string())?;
                        conn.process_new_packets().map_err(|e| e.to_string())?;
                    }
                    out.clear();
                    while conn.wants_write() {
                        conn.write_tls(&mut out).map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(())
                })();
                let done = !conn.is_handshaking();
                if let Err(e) = step {
                    conns.remove(&id);
                    let _ = tx.send(Down::Failed(id, e));
                    continue;
                }
                if done {
                    // The floor counts only handshakes in which the
                    // client's chain was verified.
                    let verified = conn.peer_certificates().is_some_and(|c| !c.is_empty());
                    conns.remove(&id);
                    if !verified {
                        let _ = tx.send(Down::Failed(id, "no client certificate".into()));
                        continue;
                    }
                }
                if tx.send(Down::Records(id, out.clone(), done)).is_err() {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Run the measurement.
pub fn run_floor(o: &FloorOptions) -> Result<FloorReport, String> {
    if o.handshakes.is_none() && o.duration.is_none() {
        return Err("the floor needs a handshake count or a duration".into());
    }
    let server = server_config(o)?;
    let client = client_config(&StationTls {
        cert: &o.client_cert,
        key: &o.client_key,
        ca: &o.ca,
        version: Some(o.version),
        server_name: None,
        resumption: false,
        verify_signature: true,
    })
    .map_err(|e| e.to_string())?;
    let name = default_server_name(None);
    let (up_tx, up_rx) = mpsc::channel::<Up>();
    let (down_tx, down_rx) = mpsc::channel::<Down>();
    let pin = o.server_cpu.clone();
    let server_thread = thread::Builder::new()
        .name("floor-server".into())
        .spawn(move || serve(server, pin, up_rx, down_tx))
        .map_err(|e| e.to_string())?;
    if let Some(cpus) = &o.client_cpu {
        pin_this_thread(cpus)?;
    }
    let in_flight = o.in_flight.max(1);
    let mut conns: std::collections::HashMap<u32, rustls::ClientConnection> =
        std::collections::HashMap::new();
    let mut next_id: u32 = 0;
    let mut started: u64 = 0;
    let mut completed: u64 = 0;
    let mut measuring = o.warmup == 0;
    let mut start = Instant::now();
    let mut client_mark = thread_cpu()?;
    let mut buf = Vec::with_capacity(4096);
    let mut failure: Option<String> = None;
    // Whether another handshake may start.
    let more = |started: u64, measuring: bool, start: Instant| -> bool {
        if !measuring {
            return started < o.warmup;
        }
        o.handshakes.is_none_or(|n| started < o.warmup + n)
            && o.duration.is_none_or(|d| start.elapsed() < d)
    };
    // Paced: when the next measured handshake is due (None: now).
    let due = |started: u64, measuring: bool, start: Instant| -> Option<Instant> {
        let rate = o.rate.filter(|r| *r > 0.0)?;
        if !measuring {
            return None;
        }
        let k = started.saturating_sub(o.warmup) as f64;
        let at = start + Duration::from_secs_f64(k / rate);
        (at > Instant::now()).then_some(at)
    };
    loop {
        if failure.is_none()
            && conns.is_empty()
            && more(started, measuring, start)
            && let Some(at) = due(started, measuring, start)
        {
            thread::sleep(at.saturating_duration_since(Instant::now()));
        }
        while failure.is_none()
            && conns.len() < in_flight
            && more(started, measuring, start)
            && due(started, measuring, start).is_none()
        {
            let mut c = rustls::ClientConnection::new(client.clone(), name.clone())
                .map_err(|e| e.to_string())?;
            buf.clear();
            while c.wants_write() {
                c.write_tls(&mut buf).map_err(|e| e.to_string())?;
            }
            let id = next_id;
            next_id = next_id.wrapping_add(1);
            conns.insert(id, c);
            started += 1;
            if up_tx.send(Up::Records(id, buf.clone())).is_err() {
                break;
            }
        }
        if conns.is_empty() {
            if !measuring && failure.is_none() {
                // Warm-up over: the measured phase starts now.
                measuring = true;
                start = Instant::now();
                client_mark = thread_cpu()?;
                let _ = up_tx.send(Up::Mark);
                continue;
            }
            break;
        }
        let msg = match due(started, measuring, start) {
            // Paced with a start due before the answer: wake up for it.
            Some(at) if more(started, measuring, start) => {
                match down_rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(m) => m,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err("the server thread stopped".into());
                    }
                }
            }
            _ => down_rx
                .recv()
                .map_err(|_| "the server thread stopped".to_string())?,
        };
        match msg {
            Down::Records(id, data, server_done) => {
                let Some(c) = conns.get_mut(&id) else {
                    continue;
                };
                let mut rd = &data[..];
                let step = (|| {
                    while !rd.is_empty() {
                        c.read_tls(&mut rd).map_err(|e| e.to_string())?;
                        c.process_new_packets().map_err(|e| e.to_string())?;
                    }
                    buf.clear();
                    while c.wants_write() {
                        c.write_tls(&mut buf).map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(())
                })();
                if let Err(e) = step {
                    failure.get_or_insert(format!("client: {e}"));
                    conns.remove(&id);
                    continue;
                }
                if server_done {
                    if c.is_handshaking() {
                        failure.get_or_insert("server done, client still handshaking".into());
                    } else if measuring {
                        completed += 1;
                    }
                    conns.remove(&id);
                } else if buf.is_empty() {
                    failure.get_or_insert("handshake stalled".into());
                    conns.remove(&id);
                } else if up_tx.send(Up::Records(id, buf.clone())).is_err() {
                    break;
                }
            }
            Down::Failed(id, e) => {
                failure.get_or_insert(format!("server: {e}"));
                conns.remove(&id);
            }
            Down::Cpu(..) => {}
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let client_now = thread_cpu()?;
    let _ = up_tx.send(Up::End);
    let mut server_cpu = None;
    while let Ok(msg) = down_rx.recv() {
        if let Down::Cpu(ns, ticks) = msg {
            server_cpu = Some((ns, ticks));
        }
    }
    server_thread
        .join()
        .map_err(|_| "the server thread panicked".to_string())??;
    if let Some(f) = failure {
        return Err(f);
    }
    let (ns, ticks) = server_cpu.ok_or("no CPU time from the server thread")?;
    if completed == 0 {
        return Err("no handshake completed".into());
    }
    let client_ns = client_now.0 - client_mark.0;
    let per = |ns: u64| ns as f64 / 1e6 / completed as f64;
    Ok(FloorReport {
        mode: "rustls-floor".into(),
        tls: o.version,
        handshakes: completed,
        in_flight,
        rate: o.rate,
        elapsed_s: elapsed,
        server_cpu_ns: ns,
        server_cpu_ticks: ticks,
        server_ms_per_handshake: per(ns),
        client_cpu_ns: client_ns,
        client_ms_per_handshake: per(client_ns),
        server_busy: if elapsed > 0.0 {
            ns as f64 / 1e9 / elapsed
        } else {
            0.0
        },
        server_cpu: o.server_cpu.clone(),
        client_cpu: o.client_cpu.clone(),
        warmup: o.warmup,
    })
}

impl FloorReport {
    /// Human summary.
    pub fn human(&self) -> String {
        format!(
            "rustls floor, TLS {}: {} full mutual handshakes in {:.2}s ({} in flight)\n\
             server thread {:.3} ms CPU/handshake ({:.0} % busy, {} ticks), \
             client thread {:.3} ms",
            match self.tls {
                TlsChoice::Tls12 => "1.2",
                TlsChoice::Tls13 => "1.3",
            },
            self.handshakes,
            self.elapsed_s,
            self.in_flight,
            self.server_ms_per_handshake,
            self.server_busy * 100.0,
            self.server_cpu_ticks,
            self.client_ms_per_handshake,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{stat_ticks, thread_cpu};

    #[test]
    fn stat_ticks_reads_utime_and_stime() {
        // A command name with a space and a parenthesis, as proc(5) allows.
        let line = "42 (a b) c) S 1 42 42 0 -1 4194560 10 0 0 0 7 5 0 0 20 0 1 0";
        assert_eq!(stat_ticks(line), Some(12));
        assert_eq!(stat_ticks("42 (x) S 1"), None);
    }

    #[test]
    fn thread_cpu_time_grows_with_work() {
        let (ns0, _) = thread_cpu().expect("proc readable");
        // 200 ms of work by the wall clock, whatever the build's speed: the
        // kernel counts in ticks of 10 ms or so, and an optimised build
        // finishes a fixed loop within one tick.
        let start = std::time::Instant::now();
        let mut x: u64 = 1;
        while start.elapsed() < std::time::Duration::from_millis(200) {
            for i in 0..100_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
            }
            x = std::hint::black_box(x);
        }
        let (ns1, _) = thread_cpu().expect("proc readable");
        assert!(ns1 > ns0, "{ns1} <= {ns0}");
    }
}
