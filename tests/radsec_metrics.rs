//! RadSec in `/metrics`, and accounting over RADIUS/1.1 (RFC 9765).
//!
//! A raw rustls client with a NAS certificate from the test PKI talks to
//! an authd with a SQLite store, a RadSec listener and the metrics
//! endpoint: a scrape before anything happened (every RadSec family at
//! zero, the RadSec client absent), then one classic RadSec connection
//! (Status-Server, PAP) and one RADIUS/1.1 connection (PAP, an
//! Accounting-Request Start with a Token, whose Accounting-Response
//! echoes it and whose row `authd session list` shows), one handshake
//! that fails, and scrapes that must show exactly those counts, first
//! with both connections open and then after both closed. A second authd
//! without a store answers a RADIUS/1.1 Accounting-Request it cannot
//! record with a Protocol-Error carrying Error-Cause 506 (RFC 9765 §6.1),
//! while a classic RadSec connection gets no answer to the same request.
//! And a thousand idle connections: what each costs in RSS, within the
//! bound the README states, and shown in `authd_radsec_connections_open`.

mod common;
#[path = "common/prom.rs"]
mod prom;
#[path = "common/scrape.rs"]
mod scrape;

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use authd::config::Config;
use common::admin_cli;
use prom::value;
use radius_proto::v11::{ALPN_RADIUS_1_0, ALPN_RADIUS_1_1};
use radius_proto::{Code, Packet, PacketBuilder, dict};
use scrape::{metrics_addr, scrape};

use common::radsec::{NAS_NAME, RadsecServer, Tls, classic_exchange, read_packet, v11_request};

const RADSEC: &[u8] = b"radsec";
const PASSWORD: &str = "pat-password";

/// authd with a RadSec listener, client "radsec-nas" and the metrics
/// endpoint on a free port; with `store`, a SQLite store holding user
/// `pat` with [`PASSWORD`]; then `more`.
fn setup(name: &str, store: bool, more: impl FnOnce(&mut Config) + 'static) -> RadsecServer {
    let builder = RadsecServer::builder(name)
        .client("radsec-nas", NAS_NAME)
        .config(|c| c.metrics.listen = Some("127.0.0.1:0".parse().unwrap()))
        .config(more);
    if store {
        builder.user("pat", Some(PASSWORD)).start()
    } else {
        builder.start()
    }
}

/// A TLS 1.3 connection with the NAS certificate offering `alpn`.
fn connect(f: &RadsecServer, alpn: &[&[u8]]) -> Result<Tls, String> {
    f.connect(Some(&[&rustls::version::TLS13]), alpn)
}

/// Sends a RADIUS/1.1 request and returns the reply, its header checked
/// (RFC 9765 §4.1: Reserved-1 zero, the Token echoed, Reserved-2 zero;
/// §5.2: no Message-Authenticator).
fn v11_exchange(tls: &mut Tls, request: &[u8]) -> Vec<u8> {
    tls.write_all(request).unwrap();
    let reply = read_packet(tls).expect("an answer");
    assert_eq!(reply[1], 0, "Reserved-1");
    assert_eq!(&reply[4..8], &request[4..8], "the Token is echoed");
    assert_eq!(&reply[8..20], &[0u8; 12], "Reserved-2");
    let p = Packet::new_checked(&reply[..]).unwrap();
    assert!(p.attr(dict::MESSAGE_AUTHENTICATOR).is_none());
    reply
}

fn acct_attrs(session: &'static [u8]) -> Vec<(u8, Vec<u8>)> {
    vec![
        (
            dict::ACCT_STATUS_TYPE,
            dict::ACCT_STATUS_TYPE_START.to_be_bytes().to_vec(),
        ),
        (dict::ACCT_SESSION_ID, session.to_vec()),
        (dict::USER_NAME, b"pat".to_vec()),
        (dict::CALLING_STATION_ID, b"02-00-00-00-00-11".to_vec()),
        (dict::NAS_IDENTIFIER, b"radsec-nas".to_vec()),
    ]
}

fn v11_accounting(token: [u8; 4], session: &'static [u8]) -> Vec<u8> {
    let attrs = acct_attrs(session);
    let refs: Vec<(u8, &[u8])> = attrs.iter().map(|(t, v)| (*t, &v[..])).collect();
    v11_request(Code::AccountingRequest, token, &refs)
}

fn classic_accounting(id: u8, session: &'static [u8]) -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::AccountingRequest, id);
    for (t, v) in acct_attrs(session) {
        b.add(t, &v).unwrap();
    }
    b.encode_request([0; 16], RADSEC).unwrap()
}

fn v(samples: &[prom::Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    value(samples, name, labels)
}

fn requests(s: &[prom::Sample], code: &str) -> Option<f64> {
    v(
        s,
        "authd_requests_total",
        &[("client", "radsec-nas"), ("code", code)],
    )
}

fn responses(s: &[prom::Sample], code: &str) -> Option<f64> {
    v(
        s,
        "authd_responses_total",
        &[("client", "radsec-nas"), ("code", code)],
    )
}

/// Scrapes until `ok` holds (connections close asynchronously), at most
/// ten seconds; the last scrape either way.
fn scrape_until(
    addr: SocketAddr,
    ok: impl Fn(&[prom::Sample]) -> bool,
) -> (String, Vec<prom::Sample>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (body, samples) = scrape(addr);
        if ok(&samples) || Instant::now() > deadline {
            return (body, samples);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn radsec_counters_and_radsec_clients_as_scraped() {
    let f = setup("radsec-metrics", true, |_| {});
    let addr = metrics_addr(&f.server);

    // Before anything: every RadSec family present at zero, the budget
    // shown, and no RadSec client yet.
    let (body, s) = scrape(addr);
    for (name, labels) in [
        (
            "authd_radsec_connections_total",
            &[("protocol", "radius/1.0")][..],
        ),
        (
            "authd_radsec_connections_total",
            &[("protocol", "radius/1.1")],
        ),
        ("authd_radsec_connections_open", &[]),
        (
            "authd_radsec_connections_refused_total",
            &[("reason", "handshake_failed")],
        ),
        (
            "authd_radsec_connections_closed_total",
            &[("reason", "peer")],
        ),
        ("authd_radsec_requests_total", &[]),
        ("authd_radsec_buffered_bytes", &[]),
    ] {
        assert_eq!(v(&s, name, labels), Some(0.0), "{name}{labels:?}\n{body}");
    }
    assert_eq!(
        v(&s, "authd_radsec_buffer_budget_bytes", &[]),
        Some(f64::from(32u32 << 20)),
        "{body}"
    );
    assert!(body.contains("# TYPE authd_radsec_connections_open gauge"));
    assert!(body.contains("# HELP authd_radsec_connections_refused_total "));
    assert_eq!(requests(&s, "Access-Request"), None, "{body}");

    // Classic RadSec: Status-Server, then PAP.
    let mut classic = connect(&f, &[ALPN_RADIUS_1_0]).unwrap();
    let status = PacketBuilder::new(Code::StatusServer, 0)
        .encode_request([7; 16], RADSEC)
        .unwrap();
    let reply = classic_exchange(&mut classic, &status);
    assert_eq!(reply[0], u8::from(Code::AccessAccept));
    let pap = common::radius::pap_request(1, "pat", PASSWORD, RADSEC);
    let reply = classic_exchange(&mut classic, &pap);
    assert_eq!(reply[0], u8::from(Code::AccessAccept), "{}", f.server.log());

    // RADIUS/1.1: PAP with the password in clear, then accounting.
    let mut v11 = connect(&f, &[ALPN_RADIUS_1_1]).unwrap();
    assert_eq!(v11.conn.alpn_protocol(), Some(ALPN_RADIUS_1_1));
    let reply = v11_exchange(
        &mut v11,
        &v11_request(
            Code::AccessRequest,
            [0x10, 0x20, 0x30, 0x40],
            &[
                (dict::USER_NAME, b"pat"),
                (dict::USER_PASSWORD, PASSWORD.as_bytes()),
            ],
        ),
    );
    assert_eq!(reply[0], u8::from(Code::AccessAccept), "{}", f.server.log());
    let reply = v11_exchange(
        &mut v11,
        &v11_accounting([0x10, 0x20, 0x30, 0x41], b"V11-0001"),
    );
    assert_eq!(
        reply[0],
        u8::from(Code::AccountingResponse),
        "{}",
        f.server.log()
    );
    assert_eq!(reply.len(), 20, "an Accounting-Response carries nothing");

    // The row the Accounting-Request made.
    let online = admin_cli(&f.config, &["session", "list", "--online", "--json"], "");
    let online: serde_json::Value = serde_json::from_str(&online).unwrap();
    assert_eq!(online.as_array().unwrap().len(), 1, "{online}");
    assert_eq!(online[0]["acct_session_id"], "V11-0001");
    assert_eq!(online[0]["nas_name"], "radsec-nas");
    assert_eq!(online[0]["user_name"], "pat");

    // A handshake that fails: an ALPN list naming neither protocol.
    let Err(e) = connect(&f, &[b"h2"]) else {
        panic!("the handshake succeeded");
    };
    assert!(e.contains("NoApplicationProtocol"), "{e}");

    // Both connections open: exact counts.
    let (body, s) = scrape_until(addr, |s| {
        v(
            s,
            "authd_radsec_connections_refused_total",
            &[("reason", "handshake_failed")],
        ) == Some(1.0)
    });
    let want = [
        (
            "authd_radsec_connections_total",
            &[("protocol", "radius/1.0")][..],
            1.0,
        ),
        (
            "authd_radsec_connections_total",
            &[("protocol", "radius/1.1")],
            1.0,
        ),
        ("authd_radsec_connections_open", &[], 2.0),
        (
            "authd_radsec_connections_refused_total",
            &[("reason", "handshake_failed")],
            1.0,
        ),
        (
            "authd_radsec_connections_refused_total",
            &[("reason", "unknown_certificate")],
            0.0,
        ),
        (
            "authd_radsec_connections_closed_total",
            &[("reason", "peer")],
            0.0,
        ),
        ("authd_radsec_requests_total", &[], 4.0),
        ("authd_radsec_status_server_answered_total", &[], 1.0),
        ("authd_radsec_buffered_bytes", &[], 0.0),
    ];
    for (name, labels, want) in want {
        assert_eq!(v(&s, name, labels), Some(want), "{name}{labels:?}\n{body}");
    }
    // The RadSec client's own counters, like a UDP client's.
    assert_eq!(requests(&s, "Access-Request"), Some(2.0), "{body}");
    assert_eq!(requests(&s, "Status-Server"), Some(1.0), "{body}");
    assert_eq!(requests(&s, "Accounting-Request"), Some(1.0), "{body}");
    assert_eq!(responses(&s, "Access-Accept"), Some(3.0), "{body}");
    assert_eq!(responses(&s, "Accounting-Response"), Some(1.0), "{body}");
    assert_eq!(responses(&s, "Access-Reject"), Some(0.0), "{body}");

    // Both closed by the client: open back to 0, two closes by the peer.
    drop(classic);
    v11.conn.send_close_notify();
    let _ = v11.flush();
    drop(v11);
    let (body, s) = scrape_until(addr, |s| {
        v(s, "authd_radsec_connections_open", &[]) == Some(0.0)
    });
    assert_eq!(
        v(&s, "authd_radsec_connections_open", &[]),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        v(
            &s,
            "authd_radsec_connections_closed_total",
            &[("reason", "peer")]
        ),
        Some(2.0),
        "{body}\n{}",
        f.server.log()
    );
    assert_eq!(
        v(
            &s,
            "authd_radsec_connections_closed_total",
            &[("reason", "packet")]
        ),
        Some(0.0),
        "{body}"
    );
}

#[test]
fn radius_1_1_accounting_without_a_store_gets_protocol_error() {
    let f = setup("radsec-v11-noacct", false, |_| {});
    // Classic RadSec: RFC 2866 §4.1, no answer to what is not recorded.
    let mut classic = connect(&f, &[ALPN_RADIUS_1_0]).unwrap();
    classic
        .sock
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    classic
        .write_all(&classic_accounting(5, b"CLASSIC-1"))
        .unwrap();
    assert_eq!(
        read_packet(&mut classic),
        None,
        "no answer on classic RadSec"
    );

    // RADIUS/1.1: a Protocol-Error with Error-Cause 506 and the Token.
    let mut v11 = connect(&f, &[ALPN_RADIUS_1_1]).unwrap();
    let reply = v11_exchange(
        &mut v11,
        &v11_accounting([0xca, 0xfe, 0, 1], b"V11-NOSTORE"),
    );
    let p = Packet::new_checked(&reply[..]).unwrap();
    assert_eq!(reply[0], radius_proto::v11::PROTOCOL_ERROR, "{reply:02x?}");
    assert_eq!(
        p.attr(radius_proto::v11::ERROR_CAUSE),
        Some(&506u32.to_be_bytes()[..]),
        "Error-Cause 506, Resources Unavailable"
    );
    // Positive control on both connections: Status-Server is answered,
    // so the silence above was the accounting request's.
    let status = v11_exchange(
        &mut v11,
        &v11_request(Code::StatusServer, [0xca, 0xfe, 0, 2], &[]),
    );
    assert_eq!(status[0], u8::from(Code::AccessAccept));
    let classic_status = PacketBuilder::new(Code::StatusServer, 6)
        .encode_request([6; 16], RADSEC)
        .unwrap();
    let reply = classic_exchange(&mut classic, &classic_status);
    assert_eq!(reply[0], u8::from(Code::AccessAccept), "{}", f.server.log());
}

#[test]
fn a_thousand_idle_connections_within_the_stated_bound() {
    const N: usize = 1000;
    let f = setup("radsec-thousand", false, |c| {
        c.radsec.max_connections = 1024;
        c.radsec.max_connections_per_client = N + 1;
        c.log.level = "info".into();
    });
    let addr = metrics_addr(&f.server);
    let mut warm = connect(&f, &[ALPN_RADIUS_1_0]).unwrap();
    let status = PacketBuilder::new(Code::StatusServer, 0)
        .encode_request([1; 16], RADSEC)
        .unwrap();
    classic_exchange(&mut warm, &status);
    std::thread::sleep(Duration::from_millis(500));
    let before = f.server.rss();
    let started = Instant::now();
    let mut open: Vec<Tls> = (0..N)
        .map(|i| {
            connect(&f, &[ALPN_RADIUS_1_1])
                .unwrap_or_else(|e| panic!("connection {i}: {e}\n{}", f.server.log()))
        })
        .collect();
    // One request on each, so every connection is past identification.
    for (i, t) in open.iter_mut().enumerate() {
        let token = (i as u32).to_be_bytes();
        let reply = v11_exchange(t, &v11_request(Code::StatusServer, token, &[]));
        assert_eq!(reply[0], u8::from(Code::AccessAccept));
    }
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let after = f.server.rss();
    let per = after.saturating_sub(before) / N;
    println!(
        "RSS {before} -> {after} bytes with {N} more idle RadSec connections (RADIUS/1.1, TLS 1.3): {per} bytes each; opened in {took:?}"
    );
    let (body, s) = scrape(addr);
    assert_eq!(
        v(&s, "authd_radsec_connections_open", &[]),
        Some((N + 1) as f64),
        "{body}"
    );
    assert_eq!(
        v(
            &s,
            "authd_radsec_connections_total",
            &[("protocol", "radius/1.1")]
        ),
        Some(N as f64),
        "{body}"
    );
    assert!(per > 0, "no memory measured for {N} connections");
    // The README's bound for a connection's fixed buffers: 64 KiB.
    assert!(per < 64 * 1024, "{per} bytes per idle connection");
}
