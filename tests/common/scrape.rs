//! The Prometheus endpoint of a test's `authd serve`, scraped: its
//! address from the line authd logs when it binds (the tests ask for port
//! 0), and one GET /metrics whose every line is checked against the
//! exposition format (`prom.rs`). Included with `#[path]` beside
//! `mod common;` and `mod prom;`.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::{LOG_WAIT, Server};
use crate::prom;

/// The endpoint's address, from the line authd logs when it binds.
pub fn metrics_addr(server: &Server) -> SocketAddr {
    assert!(
        server.wait_for_log("metrics endpoint", LOG_WAIT),
        "{}",
        server.log()
    );
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("metrics endpoint"))
        .unwrap();
    let at = line.find("address=").expect("address field") + "address=".len();
    line[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// One HTTP/1.1 request: the client's own address (the peer the server
/// logs), and the status line, the headers (lower case) and the body.
pub fn http_from(addr: SocketAddr, request: &str) -> (SocketAddr, (String, String, String)) {
    let mut s = TcpStream::connect(addr).unwrap();
    let local = s.local_addr().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("header and body");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (
        local,
        (
            status.to_owned(),
            headers.to_ascii_lowercase(),
            body.to_owned(),
        ),
    )
}

/// GET /metrics: the body and its samples (the format checked).
pub fn scrape(addr: SocketAddr) -> (String, Vec<prom::Sample>) {
    let (_, (status, headers, body)) = http_from(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: authd\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, "HTTP/1.1 200 OK", "{headers}\n{body}");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{headers}"
    );
    let samples = prom::check(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    (body, samples)
}
