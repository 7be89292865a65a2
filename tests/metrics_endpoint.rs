//! The Prometheus endpoint of a running `authd serve`: one EAP-TLS
//! authentication by eapol_test, one request with a bad
//! Message-Authenticator, one from an address that is no NAS client, then
//! a scrape over a plain TCP HTTP/1.1 GET whose every line is checked
//! against the exposition format and whose families carry exactly the
//! values those packets must have produced.

mod common;
#[path = "common/prom.rs"]
mod prom;
#[path = "common/scrape.rs"]
mod scrape;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::radius::{access_request, exchange};
use common::{
    LOG_WAIT, SECRET, Server, TempDir, TestPki, TlsChoice, run_eapol_test, write_eapol_conf,
};
use prom::value;
use radius_proto::Code;
use scrape::{http_from, metrics_addr, scrape};

fn start() -> (TempDir, TestPki, Server, SocketAddr) {
    let dir = TempDir::new("metrics");
    let pki = TestPki::create(dir.path());
    let server = Server::start_with(dir.path(), &pki, "[metrics]\nlisten = \"127.0.0.1:0\"\n");
    let addr = metrics_addr(&server);
    (dir, pki, server, addr)
}

#[test]
fn one_eap_tls_authentication_and_two_drops_as_scraped() {
    let (dir, pki, server, addr) = start();
    let loopback = |code| [("client", "loopback"), ("code", code)];

    // Before any request: the families are there, the client is not yet.
    let (_, before) = scrape(addr);
    assert_eq!(value(&before, "authd_eap_conversations", &[]), Some(0.0));
    assert_eq!(
        value(&before, "authd_requests_total", &loopback("Access-Request")),
        None
    );
    assert_eq!(
        value(
            &before,
            "authd_auth_duration_seconds_count",
            &[("method", "tls")]
        ),
        Some(0.0)
    );
    assert_eq!(value(&before, "authd_store_configured", &[]), Some(0.0));

    let conf = write_eapol_conf(
        dir.path(),
        "tls13",
        &pki.good,
        &pki.ca_cert,
        TlsChoice::Only13,
    );
    let run = run_eapol_test(&conf, server.port, &[]);
    assert!(
        run.success() && run.contains("MPPE keys OK: 1  mismatch: 0"),
        "{}\n----- authd -----\n{}",
        run.output,
        server.log()
    );
    assert!(server.wait_for_log("Access-Accept", LOG_WAIT));
    let log = server.log();
    let accept = log.lines().find(|l| l.contains("Access-Accept")).unwrap();
    let at = accept.find("round_trips=").unwrap() + "round_trips=".len();
    let round_trips: f64 = accept[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(round_trips >= 3.0, "{accept}");

    // A bad Message-Authenticator (another secret) is dropped; the same
    // request with the right secret (the positive control) is answered
    // and leaves one conversation in progress.
    let identity = [2u8, 0, 0, 10, 1, b'a', b'l', b'i', b'c', b'e'];
    let forged = access_request(7, "alice", b"not-the-secret", &identity);
    assert_eq!(exchange(server.port, &forged, SECRET.as_bytes()), None);
    let good = access_request(8, "alice", SECRET.as_bytes(), &identity);
    let (code, _) = exchange(server.port, &good, SECRET.as_bytes()).expect("answered");
    assert_eq!(code, Code::AccessChallenge);

    // From 127.0.0.2: not a NAS client; counted by reason, never by address.
    let stranger = UdpSocket::bind("127.0.0.2:0").unwrap();
    stranger.send_to(&good, ("127.0.0.1", server.port)).unwrap();
    let deadline = Instant::now() + LOG_WAIT;
    let samples = loop {
        let (_, s) = scrape(addr);
        let unknown = value(&s, "authd_drops_total", &[("reason", "unknown_client")]);
        if unknown == Some(1.0) || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (body, _) = scrape(addr);
    assert!(!body.contains("127.0.0.2"), "{body}");

    let v = |name, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert_eq!(
        v("authd_drops_total", &[("reason", "unknown_client")]),
        Some(1.0)
    );
    assert_eq!(
        v(
            "authd_drops_total",
            &[("reason", "bad_message_authenticator")]
        ),
        Some(1.0)
    );
    // eapol_test's round trips and the control request; the forged one
    // never passed admission.
    assert_eq!(
        v("authd_requests_total", &loopback("Access-Request")),
        Some(round_trips + 1.0)
    );
    assert_eq!(
        v("authd_requests_total", &loopback("Status-Server")),
        Some(0.0)
    );
    assert_eq!(
        v("authd_responses_total", &loopback("Access-Accept")),
        Some(1.0)
    );
    assert_eq!(
        v("authd_responses_total", &loopback("Access-Reject")),
        Some(0.0)
    );
    assert_eq!(
        v("authd_responses_total", &loopback("Access-Challenge")),
        Some(round_trips)
    );
    assert_eq!(
        v("authd_auth_duration_seconds_count", &[("method", "tls")]),
        Some(1.0)
    );
    assert_eq!(
        v(
            "authd_auth_duration_seconds_bucket",
            &[("method", "tls"), ("le", "+Inf")]
        ),
        Some(1.0)
    );
    assert!(v("authd_auth_duration_seconds_sum", &[("method", "tls")]).unwrap() > 0.0);
    assert_eq!(
        v("authd_auth_duration_seconds_count", &[("method", "peap")]),
        Some(0.0)
    );
    assert_eq!(v("authd_eap_conversations", &[]), Some(1.0));
    assert_eq!(
        v("authd_rejects_total", &[("reason", "unknown_user")]),
        None
    );
    // Declared by the accounting and Disconnect work; rendered at zero.
    for (name, labels) in [
        ("authd_accounting_writes_total", &[][..]),
        ("authd_accounting_write_failures_total", &[]),
        ("authd_status_server_total", &[("result", "answered")]),
        ("authd_status_server_total", &[("result", "unanswered")]),
        ("authd_disconnect_results_total", &[("result", "ack")]),
        ("authd_disconnect_results_total", &[("result", "timeout")]),
        ("authd_store_breaker_open", &[]),
        ("authd_store_changes_readable", &[]),
    ] {
        assert_eq!(v(name, labels), Some(0.0), "{name} {labels:?}\n{body}");
    }
    assert_eq!(
        v(
            "authd_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    assert!(v("authd_start_time_seconds", &[]).unwrap() > 1.7e9);
}

#[test]
fn only_get_metrics_and_bounded_connections() {
    let (_dir, _pki, server, addr) = start();
    let (a, (status, _, _)) = http_from(addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (b, (status, headers, _)) = http_from(
        addr,
        "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert!(headers.contains("allow: get"), "{headers}");
    // Not HTTP at all: refused, the endpoint goes on.
    let (c, (status, _, _)) = http_from(addr, "\x16\x03\x01 garbage\r\n\r\n");
    assert!(status.starts_with("HTTP/1.1 400"), "{status}");
    // Their slots are free before the idle clients come: the server logs
    // it after releasing a slot (the client's EOF above can come first).
    for peer in [a, b, c] {
        assert!(
            server.wait_for_log(&format!("connection from {peer} closed"), LOG_WAIT),
            "{}",
            server.log()
        );
    }

    // Seventeen idle clients: sixteen hold every slot, the server closes
    // the last one at accept (it logs so). While they hold them, a
    // scrape is closed at once, unanswered.
    let idle: Vec<TcpStream> = (0..17).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let full = "connections open, closing one more";
    assert!(server.wait_for_log(full, LOG_WAIT), "{}", server.log());
    let mut extra = TcpStream::connect(addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(4)))
        .unwrap();
    let _ = extra.write_all(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
    let mut buf = Vec::new();
    let read = extra.read_to_end(&mut buf);
    assert!(
        matches!(read, Ok(0)) || read.is_err() && buf.is_empty(),
        "answered while full: {read:?} {:?}\n{}",
        String::from_utf8_lossy(&buf[..buf.len().min(100)]),
        server.log()
    );
    assert!(
        server.wait_for_log_count(full, 2, LOG_WAIT),
        "{}",
        server.log()
    );
    // They leave: a scrape works again (the positive control).
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let ok = std::panic::catch_unwind(|| scrape(addr)).is_ok();
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no scrape after the idle clients left\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn idle_connection_is_closed_after_the_header_timeout() {
    let (_dir, _pki, _server, addr) = start();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /metr").unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let waited = started.elapsed();
    // Closed by the server (hyper's header timeout, 5 s; the whole
    // connection's limit is 10 s), not by the 20 s read timeout here.
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(12),
        "{waited:?}"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(!text.contains("200 OK"), "{text}");
}

/// PAP against a store: one accept and one reject in the `pap` histogram
/// and the reject reasons, and the store's health gauges at 1 beside the
/// breaker at 0.
#[test]
fn pap_with_a_store_as_scraped() {
    use common::radius::pap_request;
    let dir = TempDir::new("metrics-pap");
    let pki = TestPki::create(dir.path());
    let url = format!("sqlite://{}/authd.db", dir.path().display());
    common::authd_cli(
        &["user", "add", "pat", "--password", "--database", &url],
        "correct horse battery\n",
    );
    let server = Server::start_with(
        dir.path(),
        &pki,
        &format!("[database]\nurl = \"{url}\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n"),
    );
    let addr = metrics_addr(&server);
    let secret = SECRET.as_bytes();
    let ask = |id, password| {
        exchange(
            server.port,
            &pap_request(id, "pat", password, secret),
            secret,
        )
        .unwrap_or_else(|| panic!("no answer:\n{}", server.log()))
        .0
    };
    assert_eq!(ask(1, "correct horse battery"), Code::AccessAccept);
    assert_eq!(ask(2, "wrong"), Code::AccessReject);

    let (body, s) = scrape(addr);
    let v = |name, labels: &[(&str, &str)]| value(&s, name, labels);
    let loopback = |code| [("client", "loopback"), ("code", code)];
    assert_eq!(
        v("authd_auth_duration_seconds_count", &[("method", "pap")]),
        Some(2.0)
    );
    assert_eq!(
        v("authd_auth_duration_seconds_count", &[("method", "tls")]),
        Some(0.0)
    );
    assert_eq!(
        v("authd_rejects_total", &[("reason", "wrong_password")]),
        Some(1.0)
    );
    assert_eq!(
        v("authd_responses_total", &loopback("Access-Accept")),
        Some(1.0)
    );
    assert_eq!(
        v("authd_responses_total", &loopback("Access-Reject")),
        Some(1.0)
    );
    assert_eq!(v("authd_store_configured", &[]), Some(1.0), "{body}");
    assert_eq!(v("authd_store_changes_readable", &[]), Some(1.0), "{body}");
    assert_eq!(v("authd_store_breaker_open", &[]), Some(0.0), "{body}");
}
