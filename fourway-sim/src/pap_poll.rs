//! `fourway-sim load --pap-user USER --poll`: the PAP load from one thread
//! that never sleeps.
//!
//! `concurrency` non-blocking UDP sockets, each with one Access-Request in
//! flight, are polled in turn. Over loopback the kernel delivers a reply
//! inside the server's `sendto` and wakes a receiver asleep in `recvfrom` or
//! `epoll_wait` from there, so with a sleeping load tool that wake-up is
//! charged to the server's CPU; a NAS on another host would not cost the
//! server that. A polling receiver is never asleep.
//!
//! The async tool (one task per worker on the runtime, see
//! [`crate::load`]) costs about as much per PAP request as the server does,
//! so it cannot keep the server busy while polling. This loop does only what
//! a NAS must: hide the password and sign the request (RFC 2865 §5.2,
//! RFC 3579 §3.2, the HMAC keyed once per run), send it, and verify the
//! reply's Response Authenticator and Message-Authenticator. Every request
//! has a fresh random Request Authenticator, so the server sees no
//! duplicates; the password check itself is answered from the server's
//! cache after the first.
//!
//! Latency is counted from a request's scheduled start when paced
//! (`rate`), else from its first transmission; a request unanswered after
//! `retransmit.timeout` is sent again (the same bytes, RFC 5080 §2.2.1) up
//! to `retransmit.attempts` transmissions in all, then counted as a
//! timeout.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use radius_proto::{Code, Packet, SharedSecret};

use crate::load::{LoadOptions, LoadReport, READY_PAUSE, pap_request, percentile};

/// One socket and its request in flight, if any.
struct Slot {
    sock: UdpSocket,
    identifier: u8,
    /// The request in flight: its bytes (empty when idle), Request
    /// Authenticator, start (for latency), last transmission and count.
    request: Vec<u8>,
    authenticator: [u8; 16],
    started: Instant,
    sent_at: Instant,
    transmissions: u32,
}

/// What one phase counted.
#[derive(Default)]
struct Phase {
    completed: u64,
    succeeded: u64,
    latencies_us: Vec<u32>,
    failures: BTreeMap<String, u64>,
    retransmits: u64,
    timeouts: u64,
    elapsed_s: f64,
}

impl Phase {
    fn fail(&mut self, label: &str) {
        self.completed += 1;
        *self.failures.entry(label.to_owned()).or_insert(0) += 1;
    }
}

struct Requests<'a> {
    user: &'a str,
    password: &'a [u8],
    nas_identifier: &'a str,
    secret: &'a SharedSecret,
}

impl Requests<'_> {
    /// A new Access-Request on `slot`, with a fresh Request Authenticator.
    fn fill(&self, slot: &mut Slot) -> Result<(), String> {
        slot.identifier = slot.identifier.wrapping_add(1);
        slot.authenticator = rand::random();
        slot.request = pap_request(
            self.nas_identifier,
            self.user,
            self.password,
            self.secret,
            slot.identifier,
            slot.authenticator,
        )
        .map_err(|e| format!("Access-Request: {e}"))?;
        Ok(())
    }
}

/// The outcome of the datagram `reply` for `slot`'s request: None when it
/// is not an answer to it (another identifier, or not authentic: ignored,
/// as a NAS would).
fn outcome(reply: &[u8], slot: &Slot, secret: &SharedSecret) -> Option<Result<(), &'static str>> {
    let packet = Packet::new_checked(reply).ok()?;
    if packet.identifier() != slot.identifier {
        return None;
    }
    radius_proto::verify_response(&packet, &slot.authenticator, secret).ok()?;
    Some(match packet.code() {
        Code::AccessAccept => Ok(()),
        Code::AccessReject => Err("access_reject"),
        _ => Err("unexpected reply"),
    })
}

/// One phase: until `duration` has passed or `count` requests were started
/// (whichever first), then until every request in flight has ended.
fn phase(
    opts: &LoadOptions,
    slots: &mut [Slot],
    requests: &Requests<'_>,
    duration: Option<Duration>,
    count: Option<u64>,
    rate: Option<f64>,
) -> Result<Phase, String> {
    let rate = rate.filter(|r| r.is_finite() && *r > 0.0);
    let timeout = opts.retransmit.timeout.max(Duration::from_millis(1));
    let attempts = opts.retransmit.attempts.max(1);
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let mut p = Phase::default();
    let mut issued = 0u64;
    let mut in_flight = 0usize;
    let mut buf = [0u8; 4096];
    loop {
        let now = Instant::now();
        let may_issue = deadline.is_none_or(|d| now < d) && count.is_none_or(|c| issued < c);
        if !may_issue && in_flight == 0 {
            break;
        }
        for slot in slots.iter_mut() {
            if slot.request.is_empty() {
                if !may_issue || count.is_some_and(|c| issued >= c) {
                    continue;
                }
                let due = match rate {
                    Some(r) => {
                        let due = start + Duration::from_secs_f64(issued as f64 / r);
                        if deadline.is_some_and(|d| due >= d) || due > now {
                            continue;
                        }
                        due
                    }
                    None => now,
                };
                requests.fill(slot)?;
                issued += 1;
                in_flight += 1;
                slot.started = due;
                slot.sent_at = now;
                slot.transmissions = 1;
                // A failed send is retransmitted on the timeout.
                let _ = slot.sock.send(&slot.request);
                continue;
            }
            let ended = match slot.sock.recv(&mut buf) {
                Ok(n) => match outcome(&buf[..n], slot, requests.secret) {
                    Some(Ok(())) => {
                        p.completed += 1;
                        p.succeeded += 1;
                        let us = slot.started.elapsed().as_micros();
                        p.latencies_us.push(us.min(u32::MAX as u128) as u32);
                        true
                    }
                    Some(Err(label)) => {
                        p.fail(label);
                        true
                    }
                    None => false,
                },
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if now.duration_since(slot.sent_at) < timeout {
                        false
                    } else if slot.transmissions < attempts {
                        let _ = slot.sock.send(&slot.request);
                        slot.sent_at = now;
                        slot.transmissions += 1;
                        p.retransmits += 1;
                        false
                    } else {
                        p.timeouts += 1;
                        p.fail("timeout");
                        true
                    }
                }
                // An ICMP error (no server on the port) reported on the
                // connected socket: the request waits for its timeout.
                Err(_) => false,
            };
            if ended {
                slot.request.clear();
                in_flight -= 1;
            }
        }
        std::hint::spin_loop();
    }
    p.elapsed_s = start.elapsed().as_secs_f64();
    Ok(p)
}

/// The whole PAP load, warm-up and measured phase, as [`crate::load::run_load`]
/// reports it.
pub fn run_pap_polling(
    opts: &LoadOptions,
    user: &str,
    password: &[u8],
) -> Result<LoadReport, String> {
    let secret = SharedSecret::new(&opts.nas.secret);
    let requests = Requests {
        user,
        password,
        nas_identifier: &opts.nas.nas_identifier,
        secret: &secret,
    };
    let mut slots = Vec::new();
    for w in 0..opts.concurrency.max(1) {
        let local: SocketAddr = match (opts.bind, opts.server.is_ipv4()) {
            (Some(ip), _) => SocketAddr::new(ip, 0),
            (None, true) => "0.0.0.0:0".parse().expect("address"),
            (None, false) => "[::]:0".parse().expect("address"),
        };
        let sock = UdpSocket::bind(local).map_err(|e| format!("socket: {e}"))?;
        sock.connect(opts.server)
            .and_then(|()| sock.set_nonblocking(true))
            .map_err(|e| format!("socket: {e}"))?;
        let now = Instant::now();
        slots.push(Slot {
            sock,
            identifier: (w as u8).wrapping_mul(37),
            request: Vec::new(),
            authenticator: [0; 16],
            started: now,
            sent_at: now,
            transmissions: 0,
        });
    }
    let mut report = LoadReport {
        mode: "pap".into(),
        concurrency: opts.concurrency,
        ..LoadReport::default()
    };
    if opts.warmup > 0 {
        let w = phase(opts, &mut slots, &requests, None, Some(opts.warmup), None)?;
        report.warmup_completed = w.completed;
        report.warmup_succeeded = w.succeeded;
    }
    if let Some(path) = &opts.ready_file {
        if let Err(e) = std::fs::write(path, "measuring\n") {
            eprintln!("fourway-sim: {}: {e}", path.display());
        }
        std::thread::sleep(READY_PAUSE);
    }
    let cpu_before = crate::floor::process_cpu_ticks();
    let mut p = phase(
        opts,
        &mut slots,
        &requests,
        opts.duration,
        opts.count,
        opts.rate,
    )?;
    report.tool_cpu_ticks = crate::floor::process_cpu_ticks()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    p.latencies_us.sort_unstable();
    report.offered_rate = opts.rate.filter(|r| r.is_finite() && *r > 0.0);
    report.completed = p.completed;
    report.succeeded = p.succeeded;
    report.failed = p.completed - p.succeeded;
    report.failures = p.failures;
    report.elapsed_s = p.elapsed_s;
    report.auths_per_s = if p.elapsed_s > 0.0 {
        p.succeeded as f64 / p.elapsed_s
    } else {
        0.0
    };
    report.latency_ms_p50 = percentile(&p.latencies_us, 0.50);
    report.latency_ms_p90 = percentile(&p.latencies_us, 0.90);
    report.latency_ms_p99 = percentile(&p.latencies_us, 0.99);
    report.latency_ms_max = p.latencies_us.last().map_or(0.0, |v| *v as f64 / 1000.0);
    report.round_trips_mean = if p.succeeded > 0 { 1.0 } else { 0.0 };
    report.retransmits = p.retransmits;
    report.timeouts = p.timeouts;
    Ok(report)
}
