//! `fourway-sim acct-load`: Accounting-Request load (RFC 2866) against a
//! RADIUS accounting server, counting what was acknowledged.
//!
//! `senders` threads, each with its own socket and one request in flight,
//! send Accounting-Request Starts for fresh sessions (or, with
//! `--interim`, an Interim-Update per Start). A request unanswered within
//! the timeout is retransmitted unchanged up to `retries` times, then
//! counted as lost. The report: acknowledged per second over the run and
//! the latency of the acknowledged ones.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;
use radius_proto::{Code, Packet, PacketBuilder, dict};

#[derive(Args)]
pub struct AcctLoadArgs {
    /// Accounting server address.
    #[arg(long, default_value = "127.0.0.1:1813")]
    server: SocketAddr,
    /// Shared secret.
    #[arg(long, default_value = "testing123")]
    secret: String,
    /// Concurrent senders (each one request in flight).
    #[arg(long, default_value_t = 16)]
    senders: usize,
    /// Sessions to start, in total.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Follow each Start with an Interim-Update of the same session.
    #[arg(long)]
    interim: bool,
    /// Per-attempt timeout, milliseconds.
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Retransmissions before a request counts as lost.
    #[arg(long, default_value_t = 2)]
    retries: u32,
}

fn request(id: u8, status: u32, session: &str, secret: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::AccountingRequest, id);
    let add = |b: &mut PacketBuilder, t, v: &[u8]| {
        b.add(t, v).expect("attribute fits");
    };
    add(&mut b, dict::ACCT_STATUS_TYPE, &status.to_be_bytes());
    add(&mut b, dict::ACCT_SESSION_ID, session.as_bytes());
    add(&mut b, dict::USER_NAME, b"load-user");
    add(&mut b, dict::CALLING_STATION_ID, b"02-00-00-00-00-01");
    add(&mut b, dict::NAS_PORT, &1u32.to_be_bytes());
    add(&mut b, dict::ACCT_DELAY_TIME, &0u32.to_be_bytes());
    if status == dict::ACCT_STATUS_TYPE_INTERIM_UPDATE {
        add(&mut b, dict::ACCT_SESSION_TIME, &60u32.to_be_bytes());
        add(&mut b, dict::ACCT_INPUT_OCTETS, &1000u32.to_be_bytes());
        add(&mut b, dict::ACCT_OUTPUT_OCTETS, &2000u32.to_be_bytes());
    }
    b.encode_request([0; 16], secret).expect("request encodes")
}

/// Sends `req` until a verified Accounting-Response comes, at most
/// `1 + retries` times.
fn exchange(sock: &UdpSocket, to: SocketAddr, req: &[u8], secret: &[u8], retries: u32) -> bool {
    let Ok(sent) = Packet::new_checked(req) else {
        return false;
    };
    let mut buf = [0u8; 4096];
    for _ in 0..=retries {
        if sock.send_to(req, to).is_err() {
            continue;
        }
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            let Ok(reply) = Packet::new_checked(&buf[..n]) else {
                continue;
            };
            if reply.identifier() == sent.identifier()
                && reply.code() == Code::AccountingResponse
                && radius_proto::verify_response(&reply, sent.authenticator(), secret).is_ok()
            {
                return true;
            }
        }
    }
    false
}

pub fn acct_load_cmd(a: &AcctLoadArgs) -> Result<std::process::ExitCode, String> {
    let secret = Arc::new(a.secret.clone().into_bytes());
    let next = Arc::new(AtomicUsize::new(0));
    let run = format!("{:x}", rand::random::<u32>());
    let started = Instant::now();
    let mut threads = Vec::new();
    for _ in 0..a.senders.max(1) {
        let (secret, next, run) = (secret.clone(), next.clone(), run.clone());
        let (to, total, interim, retries) = (a.server, a.sessions, a.interim, a.retries);
        let sock = UdpSocket::bind(if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })
            .map_err(|e| format!("bind: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_millis(a.timeout_ms.max(1))))
            .map_err(|e| e.to_string())?;
        threads.push(thread::spawn(move || {
            let (mut acked, mut lost, mut latencies) = (0usize, 0usize, Vec::new());
            let mut id: u8 = 0;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let session = format!("{run}-{n}");
                let mut statuses = vec![dict::ACCT_STATUS_TYPE_START];
                if interim {
                    statuses.push(dict::ACCT_STATUS_TYPE_INTERIM_UPDATE);
                }
                for status in statuses {
                    id = id.wrapping_add(1);
                    let req = request(id, status, &session, &secret);
                    let t = Instant::now();
                    if exchange(&sock, to, &req, &secret, retries) {
                        acked += 1;
                        latencies.push(t.elapsed());
                    } else {
                        lost += 1;
                    }
                }
            }
            (acked, lost, latencies)
        }));
    }
    let (mut acked, mut lost, mut latencies) = (0, 0, Vec::new());
    for t in threads {
        let (a, l, mut lat) = t.join().map_err(|_| "sender panicked".to_owned())?;
        acked += a;
        lost += l;
        latencies.append(&mut lat);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "acct-load: senders={} requests={} acknowledged={} lost={} elapsed_s={:.2} acked_per_s={:.0} latency_ms p50={:.2} p99={:.2} max={:.2}",
        a.senders,
        acked + lost,
        acked,
        lost,
        elapsed.as_secs_f64(),
        acked as f64 / elapsed.as_secs_f64().max(1e-9),
        pct(0.5),
        pct(0.99),
        pct(1.0),
    );
    Ok(if lost == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}
