//! `fourway-sim status-load`: Status-Server load (RFC 5997) against a RADIUS
//! server, and with `--server-pid` the server's CPU time per answer.
//!
//! `senders` threads, each with its own socket and one request in flight,
//! send Status-Server (with Message-Authenticator, RFC 5997 §3) with a fresh
//! random Request Authenticator each, so every one is a new request. With
//! `--repeat` each sender sends the very same bytes again and again: a
//! server that keeps Status-Server in its duplicate cache (RFC 5080
//! §2.2.2) answers every one after the first from there. (authd does not:
//! a Status-Server is never retransmitted, RFC 5997 §4.1, and a copy is
//! answered afresh.)
//! With `--rate R` the senders together start R requests per second
//! (paced) instead of as many as they can.
//!
//! With `--poll` one thread keeps the `senders` requests in flight, on as
//! many non-blocking sockets, and polls them without ever sleeping. Over
//! loopback the kernel delivers a reply in the sender's system call, and a
//! receiver asleep in `recvfrom` is woken from there: with blocking senders
//! that wake-up of the load tool is charged to the server's CPU, which a
//! NAS on another host would not cost it. A polling receiver is never
//! asleep, so the server's figure leaves that out.
//!
//! The server's CPU time is the sum of `/proc/PID/task/*/schedstat` (run
//! time in nanoseconds, every thread) read before and after the run: a
//! finer clock than the 10 ms ticks of `/proc/PID/stat`.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;
use radius_proto::{Code, Packet, PacketBuilder, dict};

#[derive(Args)]
pub struct StatusLoadArgs {
    /// Server address (authentication or accounting port).
    #[arg(long, default_value = "127.0.0.1:1812")]
    server: SocketAddr,
    /// Shared secret.
    #[arg(long, default_value = "testing123")]
    secret: String,
    /// Concurrent senders (each one request in flight).
    #[arg(long, default_value_t = 4)]
    senders: usize,
    /// Requests to send, in total.
    #[arg(long, default_value_t = 100_000)]
    requests: usize,
    /// Requests started per second by all senders together (default: as
    /// many as they can).
    #[arg(long)]
    rate: Option<f64>,
    /// Send the same request again and again (a server's duplicate cache,
    /// if it keeps Status-Server there).
    #[arg(long)]
    repeat: bool,
    /// The server's process id: its CPU time per answered request is
    /// reported.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Per-attempt timeout, milliseconds.
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// One thread polls non-blocking sockets, never sleeping: the server is
    /// not charged for waking the load tool (see the module's doc).
    #[arg(long, conflicts_with = "rate")]
    poll: bool,
}

fn request(id: u8, secret: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::StatusServer, id);
    b.add(dict::NAS_IDENTIFIER, b"status-load")
        .expect("attribute fits");
    b.encode_request(rand::random(), secret)
        .expect("request encodes")
}

/// Run time of every thread of `pid`, nanoseconds.
fn cpu_ns(pid: u32) -> Result<u64, String> {
    let dir = format!("/proc/{pid}/task");
    let mut total = 0u64;
    for task in std::fs::read_dir(&dir).map_err(|e| format!("{dir}: {e}"))? {
        let path = task.map_err(|e| e.to_string())?.path().join("schedstat");
        // A thread that ended meanwhile is not an error.
        if let Ok(s) = std::fs::read_to_string(&path) {
            total += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}

/// Whether `reply` is a verified answer to `req`.
fn answers(reply: &[u8], req: &[u8], secret: &[u8]) -> bool {
    let (Ok(sent), Ok(reply)) = (Packet::new_checked(req), Packet::new_checked(reply)) else {
        return false;
    };
    reply.identifier() == sent.identifier()
        && matches!(reply.code(), Code::AccessAccept | Code::AccountingResponse)
        && radius_proto::verify_response(&reply, sent.authenticator(), secret).is_ok()
}

/// One exchange: true when a verified answer to `req` came.
fn exchange(sock: &UdpSocket, to: SocketAddr, req: &[u8], secret: &[u8]) -> bool {
    let mut buf = [0u8; 4096];
    if sock.send_to(req, to).is_err() {
        return false;
    }
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        if answers(&buf[..n], req, secret) {
            return true;
        }
    }
    false
}

fn bind_for(to: SocketAddr) -> Result<UdpSocket, String> {
    UdpSocket::bind(if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })
        .map_err(|e| format!("bind: {e}"))
}

/// `--poll`: one thread, `senders` non-blocking sockets with one request in
/// flight each, polled in turn without sleeping. (answered, lost).
fn poll_run(a: &StatusLoadArgs, secret: &[u8]) -> Result<(usize, usize), String> {
    struct InFlight {
        sock: UdpSocket,
        req: Vec<u8>,
        sent_at: Instant,
        id: u8,
    }
    let timeout = Duration::from_millis(a.timeout_ms.max(1));
    let mut flights = Vec::new();
    let (mut started, mut answered, mut lost) = (0usize, 0usize, 0usize);
    for s in 0..a.senders.max(1).min(a.requests) {
        let sock = bind_for(a.server)?;
        sock.set_nonblocking(true).map_err(|e| e.to_string())?;
        let id = s as u8;
        let req = request(id, secret);
        let _ = sock.send_to(&req, a.server);
        started += 1;
        flights.push(InFlight {
            sock,
            req,
            sent_at: Instant::now(),
            id,
        });
    }
    let mut buf = [0u8; 4096];
    while answered + lost < started {
        for f in flights.iter_mut() {
            if f.req.is_empty() {
                continue;
            }
            let done = match f.sock.recv_from(&mut buf) {
                Ok((n, _)) if answers(&buf[..n], &f.req, secret) => {
                    answered += 1;
                    true
                }
                Ok(_) => false,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if f.sent_at.elapsed() >= timeout {
                        lost += 1;
                        true
                    } else {
                        std::hint::spin_loop();
                        false
                    }
                }
                Err(_) => false,
            };
            if done {
                if started < a.requests {
                    if !a.repeat {
                        f.id = f.id.wrapping_add(1);
                        f.req = request(f.id, secret);
                    }
                    let _ = f.sock.send_to(&f.req, a.server);
                    f.sent_at = Instant::now();
                    started += 1;
                } else {
                    f.req.clear();
                }
            }
        }
    }
    Ok((answered, lost))
}

pub fn status_load_cmd(a: &StatusLoadArgs) -> Result<std::process::ExitCode, String> {
    let secret = Arc::new(a.secret.clone().into_bytes());
    let cpu0 = a.server_pid.map(cpu_ns).transpose()?;
    let started = Instant::now();
    let (answered, lost) = if a.poll {
        poll_run(a, &secret)?
    } else {
        threads_run(a, &secret)?
    };
    report(a, answered, lost, started, cpu0)
}

/// Blocking senders, one thread each. (answered, lost).
fn threads_run(a: &StatusLoadArgs, secret: &Arc<Vec<u8>>) -> Result<(usize, usize), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let senders = a.senders.max(1);
    // Each sender's interval between starts, when paced.
    let interval = a
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(senders as f64 / r));
    let mut threads = Vec::new();
    for s in 0..senders {
        let (secret, next) = (secret.clone(), next.clone());
        let (to, total, repeat) = (a.server, a.requests, a.repeat);
        let sock = bind_for(to)?;
        sock.set_read_timeout(Some(Duration::from_millis(a.timeout_ms.max(1))))
            .map_err(|e| e.to_string())?;
        threads.push(thread::spawn(move || {
            let (mut answered, mut lost) = (0usize, 0usize);
            let mut id = s as u8;
            let fixed = request(id, &secret);
            // Senders start spread over one interval.
            let mut due = interval.map(|i| Instant::now() + i.mul_f64(s as f64 / senders as f64));
            loop {
                if next.fetch_add(1, Ordering::Relaxed) >= total {
                    break;
                }
                if let (Some(at), Some(i)) = (due.as_mut(), interval) {
                    let now = Instant::now();
                    if *at > now {
                        thread::sleep(*at - now);
                    }
                    *at += i;
                }
                let req = if repeat {
                    fixed.clone()
                } else {
                    id = id.wrapping_add(1);
                    request(id, &secret)
                };
                if exchange(&sock, to, &req, &secret) {
                    answered += 1;
                } else {
                    lost += 1;
                }
            }
            (answered, lost)
        }));
    }
    let (mut answered, mut lost) = (0, 0);
    for t in threads {
        let (a, l) = t.join().map_err(|_| "sender panicked".to_owned())?;
        answered += a;
        lost += l;
    }
    Ok((answered, lost))
}

fn report(
    a: &StatusLoadArgs,
    answered: usize,
    lost: usize,
    started: Instant,
    cpu0: Option<u64>,
) -> Result<std::process::ExitCode, String> {
    let elapsed = started.elapsed();
    let cpu = match (a.server_pid, cpu0) {
        (Some(pid), Some(c0)) => {
            let c1 = cpu_ns(pid)?;
            format!(
                " server_cpu_ms={:.1} server_cpu_us_per_answer={:.2}",
                (c1 - c0) as f64 / 1e6,
                (c1 - c0) as f64 / 1e3 / answered.max(1) as f64
            )
        }
        _ => String::new(),
    };
    println!(
        "status-load: senders={} poll={} repeat={} requests={} answered={} lost={} elapsed_s={:.2} answered_per_s={:.0}{cpu}",
        a.senders.max(1),
        a.poll,
        a.repeat,
        answered + lost,
        answered,
        lost,
        elapsed.as_secs_f64(),
        answered as f64 / elapsed.as_secs_f64().max(1e-9),
    );
    Ok(if lost == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}
