//! The floor of a RADIUS answer over UDP: what the kernel alone costs a
//! server for one datagram in and one out on loopback, with no work done on
//! it.
//!
//! A server thread answers every datagram with the same bytes
//! (`recv_from`, then `send_to` to the sender: the two system calls every
//! UDP server pays per request, blocking as a server thread does when it
//! waits). The client thread keeps `senders` datagrams in flight on as many
//! non-blocking sockets and polls them, never asleep, as
//! `fourway-sim load --poll` does: over loopback the kernel delivers a
//! datagram inside the sender's `sendto` and wakes a sleeping receiver from
//! there, so a sleeping client would charge its wake-ups to the server
//! thread. The figure is the server thread's run time
//! (`/proc/thread-self/schedstat`, as the TLS floor reads it) over the
//! measured datagrams.
//!
//! bench/compare.sh sets the PAP row beside it: what a server spends per
//! PAP answer above this is its own work (RFC 2865 and RFC 3579's MD5,
//! admission, the answer), below it no UDP server on this machine can go.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::floor::{pin_this_thread, thread_cpu};

/// First octet of a warm-up datagram and of a measured one.
const WARMUP: u8 = 0;
const MEASURED: u8 = 1;
/// The server thread looks at the stop flag at least this often.
const STOP_POLL: Duration = Duration::from_millis(50);
/// No answer at all for this long: the measurement fails.
const STALL: Duration = Duration::from_secs(2);

/// What to measure.
#[derive(Debug, Clone)]
pub struct UdpFloorOptions {
    /// Datagrams in flight (one per client socket).
    pub senders: usize,
    /// Octets of each datagram (and of its answer).
    pub datagram_bytes: usize,
    /// Uncounted datagrams first.
    pub warmup: u64,
    /// How long the measured datagrams are sent.
    pub duration: Duration,
    /// `taskset -c` lists for the two threads (None: not pinned).
    pub server_cpu: Option<String>,
    pub client_cpu: Option<String>,
}

/// The measurement.
#[derive(Debug, Clone, Serialize)]
pub struct UdpFloorReport {
    pub mode: String,
    pub senders: usize,
    pub datagram_bytes: usize,
    /// Datagrams the server thread answered in the measured window.
    pub datagrams: u64,
    pub elapsed_s: f64,
    /// Server thread's run time over them, ns.
    pub server_cpu_ns: u64,
    pub server_us_per_datagram: f64,
    /// The same in ms (the unit of bench/compare.sh's floor column).
    pub server_ms_per_datagram: f64,
    /// Share of the window the server thread was on a CPU.
    pub server_busy: f64,
    /// The client thread's (not part of the floor; for comparison).
    pub client_us_per_datagram: f64,
    pub server_cpu: Option<String>,
    pub client_cpu: Option<String>,
    pub warmup: u64,
}

/// What the server thread counted.
struct Served {
    datagrams: u64,
    cpu_ns: u64,
    elapsed: Duration,
}

/// Answers each datagram with its own bytes until `stop`; the CPU time is
/// counted from the first measured datagram.
fn serve(sock: UdpSocket, pin: Option<String>, stop: Arc<AtomicBool>) -> Result<Served, String> {
    if let Some(cpus) = &pin {
        pin_this_thread(cpus)?;
    }
    sock.set_read_timeout(Some(STOP_POLL))
        .map_err(|e| format!("set_read_timeout: {e}"))?;
    let mut buf = vec![0u8; 65_536];
    let mut mark: Option<(u64, Instant)> = None;
    let mut datagrams = 0u64;
    while !stop.load(Ordering::Relaxed) {
        match sock.recv_from(&mut buf) {
            Ok((len, from)) => {
                if mark.is_none() && buf.first() == Some(&MEASURED) {
                    mark = Some((thread_cpu()?.0, Instant::now()));
                }
                sock.send_to(&buf[..len], from)
                    .map_err(|e| format!("send_to {from}: {e}"))?;
                if mark.is_some() {
                    datagrams += 1;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(format!("recv_from: {e}")),
        }
    }
    let (ns0, t0) = mark.ok_or("no measured datagram reached the server thread")?;
    let ns1 = thread_cpu()?.0;
    Ok(Served {
        datagrams,
        cpu_ns: ns1.saturating_sub(ns0),
        elapsed: t0.elapsed(),
    })
}

/// Runs the measurement: the server thread, and the client on this one.
pub fn run_udp_floor(o: &UdpFloorOptions) -> Result<UdpFloorReport, String> {
    if o.senders == 0 || o.datagram_bytes == 0 {
        return Err("udp floor needs at least one sender and one octet".into());
    }
    let server = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let addr = server
        .local_addr()
        .map_err(|e| format!("local_addr: {e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let (st, pin) = (stop.clone(), o.server_cpu.clone());
    let handle = thread::Builder::new()
        .name("udp-floor-server".into())
        .spawn(move || serve(server, pin, st))
        .map_err(|e| format!("spawn: {e}"))?;
    let client = drive(o, addr, &stop);
    // Whatever the client saw, the server thread is told to stop.
    stop.store(true, Ordering::Relaxed);
    let served = handle
        .join()
        .map_err(|_| "the server thread panicked".to_string())??;
    let client_ns = client?;
    if served.datagrams == 0 {
        return Err("no measured datagram answered".into());
    }
    let elapsed = served.elapsed.as_secs_f64();
    let per_us = |ns: u64| ns as f64 / 1e3 / served.datagrams as f64;
    Ok(UdpFloorReport {
        mode: "udp-echo-floor".into(),
        senders: o.senders,
        datagram_bytes: o.datagram_bytes,
        datagrams: served.datagrams,
        elapsed_s: elapsed,
        server_cpu_ns: served.cpu_ns,
        server_us_per_datagram: per_us(served.cpu_ns),
        server_ms_per_datagram: per_us(served.cpu_ns) / 1e3,
        server_busy: if elapsed > 0.0 {
            served.cpu_ns as f64 / 1e9 / elapsed
        } else {
            0.0
        },
        client_us_per_datagram: per_us(client_ns),
        server_cpu: o.server_cpu.clone(),
        client_cpu: o.client_cpu.clone(),
        warmup: o.warmup,
    })
}

/// The client side: `senders` datagrams in flight, polled; the warm-up,
/// then `duration` of measured ones. Returns its own CPU time (ns) over
/// the measured part.
fn drive(o: &UdpFloorOptions, server: SocketAddr, stop: &AtomicBool) -> Result<u64, String> {
    if let Some(cpus) = &o.client_cpu {
        pin_this_thread(cpus)?;
    }
    let mut socks = Vec::with_capacity(o.senders);
    for _ in 0..o.senders {
        let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        s.connect(server).map_err(|e| format!("connect: {e}"))?;
        s.set_nonblocking(true)
            .map_err(|e| format!("set_nonblocking: {e}"))?;
        socks.push(s);
    }
    let mut payload = vec![0u8; o.datagram_bytes];
    payload[0] = WARMUP;
    for s in &socks {
        s.send(&payload).map_err(|e| format!("send: {e}"))?;
    }
    let mut buf = vec![0u8; o.datagram_bytes];
    let (mut answered, mut measuring) = (0u64, None::<(Instant, u64)>);
    let mut progress = Instant::now();
    loop {
        let mut any = false;
        for s in &socks {
            match s.recv(&mut buf) {
                Ok(_) => {
                    any = true;
                    answered += 1;
                    if measuring.is_none() && answered >= o.warmup {
                        payload[0] = MEASURED;
                        measuring = Some((Instant::now(), thread_cpu()?.0));
                    }
                    if let Some((t0, ns0)) = measuring
                        && t0.elapsed() >= o.duration
                    {
                        stop.store(true, Ordering::Relaxed);
                        return Ok(thread_cpu()?.0.saturating_sub(ns0));
                    }
                    s.send(&payload).map_err(|e| format!("send: {e}"))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("recv: {e}")),
            }
        }
        if any {
            progress = Instant::now();
        } else if progress.elapsed() > STALL {
            return Err(format!("no answer from the server thread for {STALL:?}"));
        }
    }
}

impl UdpFloorReport {
    /// Human summary.
    pub fn human(&self) -> String {
        format!(
            "UDP echo floor: {} datagrams of {} octets in {:.2}s ({} in flight)\n\
             server thread {:.2} µs CPU/datagram ({:.0} % busy), client thread {:.2} µs",
            self.datagrams,
            self.datagram_bytes,
            self.elapsed_s,
            self.senders,
            self.server_us_per_datagram,
            self.server_busy * 100.0,
            self.client_us_per_datagram,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_echo_threads_cpu_per_datagram() {
        let r = run_udp_floor(&UdpFloorOptions {
            senders: 2,
            datagram_bytes: 80,
            warmup: 100,
            duration: Duration::from_millis(300),
            server_cpu: None,
            client_cpu: None,
        })
        .expect("floor runs on loopback");
        // Loopback answers thousands of datagrams in 300 ms on any machine;
        // each costs the server thread some run time, and well under a
        // millisecond.
        assert!(r.datagrams > 100, "{} datagrams", r.datagrams);
        assert!(r.server_cpu_ns > 0);
        assert!(
            r.server_us_per_datagram > 0.0 && r.server_us_per_datagram < 1000.0,
            "{} µs",
            r.server_us_per_datagram
        );
        assert!((r.server_ms_per_datagram * 1e3 - r.server_us_per_datagram).abs() < 1e-9);
        assert!(
            r.server_busy > 0.0 && r.server_busy <= 1.5,
            "{}",
            r.server_busy
        );
    }

    #[test]
    fn refuses_an_empty_measurement() {
        let o = UdpFloorOptions {
            senders: 0,
            datagram_bytes: 80,
            warmup: 0,
            duration: Duration::from_millis(10),
            server_cpu: None,
            client_cpu: None,
        };
        assert!(run_udp_floor(&o).is_err());
    }
}
