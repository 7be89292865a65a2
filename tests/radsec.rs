//! The RadSec listener against a raw TLS client (rustls): what a real peer
//! would not send. Status-Server answered with the "radsec" secret
//! (RFC 6614 §2.3) is the positive control of every refusal; a Length
//! outside 20..=4096 and a bad Message-Authenticator close the connection
//! (RFC 6613 §2.6.4); `max_connections_per_client` is enforced; SIGHUP
//! reloads the listener's certificate; and the memory each idle connection
//! holds is measured.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use authd::config::Config;
use radius_proto::{Code, PacketBuilder, dict};

use common::radsec::{
    RadsecServer, Tls, assert_closed, classic_exchange, read_packet, station_line,
};

fn setup(name: &str, edit: impl FnOnce(&mut Config) + 'static) -> RadsecServer {
    RadsecServer::builder(name).config(edit).start()
}

fn connect(f: &RadsecServer) -> Tls {
    f.connect(None, &[]).unwrap()
}

fn status_server(id: u8, secret: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::StatusServer, id);
    b.add(dict::NAS_IDENTIFIER, b"raw-client").unwrap();
    b.encode_request([id ^ 0x5a; 16], secret).unwrap()
}

/// Status-Server over `tls` gets an Access-Accept signed with "radsec".
fn assert_status_answered(tls: &mut Tls, id: u8) {
    let req = status_server(id, b"radsec");
    let reply = classic_exchange(tls, &req);
    assert_eq!(reply[0], u8::from(Code::AccessAccept));
}

#[test]
fn refused_packets_close_the_connection() {
    let f = setup("radsec-raw", |_| {});
    // Positive control, and several requests on one connection.
    let mut tls = connect(&f);
    assert_status_answered(&mut tls, 1);
    assert_status_answered(&mut tls, 2);

    // A Length of 5000: the stream cannot be read on.
    let mut bad = status_server(3, b"radsec");
    bad[2..4].copy_from_slice(&5000u16.to_be_bytes());
    tls.write_all(&bad).unwrap();
    assert_closed(&mut tls);
    f.server.expect_log("malformed packet");

    // Signed with another secret: Message-Authenticator does not verify.
    let mut tls = connect(&f);
    assert_status_answered(&mut tls, 1);
    let wrong = status_server(4, b"not-radsec");
    tls.write_all(&wrong).unwrap();
    assert_closed(&mut tls);
    f.server
        .expect_log("RadSec connection closed: refused packet");
    let log = f.server.log();
    let line = log
        .lines()
        .find(|l| l.contains("RadSec connection closed: refused packet"))
        .unwrap();
    assert!(line.contains("message_authenticator"), "{line}");
}

#[test]
fn connections_per_client_are_bounded_and_memory_per_connection() {
    let f = setup("radsec-limit", |c| c.radsec.max_connections_per_client = 2);
    let mut a = connect(&f);
    let mut b = connect(&f);
    assert_status_answered(&mut a, 1);
    assert_status_answered(&mut b, 1);
    let mut c = connect(&f);
    assert_closed(&mut c);
    f.server.expect_log("max_connections_per_client");
    // Once one closes, a new connection gets its slot.
    drop(a);
    let deadline = std::time::Instant::now() + common::LOG_WAIT;
    loop {
        let mut d = connect(&f);
        let req = status_server(9, b"radsec");
        d.write_all(&req).unwrap();
        if read_packet(&mut d).is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", f.server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    drop((b, c));

    // Memory: idle connections of a client allowed many.
    let f = setup("radsec-memory", |c| {
        c.radsec.max_connections_per_client = 1000;
        c.log.level = "info".into();
    });
    let mut warm = connect(&f);
    assert_status_answered(&mut warm, 1);
    std::thread::sleep(Duration::from_millis(300));
    let before = f.server.rss();
    const N: usize = 200;
    let mut open: Vec<Tls> = (0..N).map(|_| connect(&f)).collect();
    for (i, t) in open.iter_mut().enumerate() {
        assert_status_answered(t, i as u8);
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = f.server.rss();
    let per = after.saturating_sub(before) / N;
    println!(
        "RSS {before} -> {after} bytes with {N} more idle RadSec connections: {per} bytes each"
    );
    assert!(per > 0, "no memory measured for {N} connections");
}

#[test]
fn sighup_reloads_the_listener_certificate() {
    let f = setup("radsec-reload", |_| {});
    let serial = |tls: &Tls| {
        let der = tls.conn.peer_certificates().unwrap()[0].to_vec();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        cert.raw_serial().to_vec()
    };
    let first = serial(&connect(&f));
    // A new server certificate in place of the old one.
    let renewed = f
        .ca()
        .issue_server("authd", &["localhost".into()], 2)
        .unwrap();
    std::fs::remove_file(&f.pki.server.cert).unwrap();
    std::fs::remove_file(&f.pki.server.key).unwrap();
    renewed
        .write(&f.pki.server.cert, &f.pki.server.key)
        .unwrap();
    let kill = std::process::Command::new("kill")
        .args(["-HUP", &f.server.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    f.server
        .expect_log("RadSec certificates and clients reloaded");
    let mut tls = connect(&f);
    assert_eq!(
        serial(&tls),
        renewed.serial,
        "the renewed certificate is served"
    );
    assert_ne!(first, renewed.serial);
    assert_status_answered(&mut tls, 1);
}

/// `fourway-sim run --radsec`: the simulated AP speaks RadSec with its own
/// certificate, the station EAP-TLS with its own; the four-way handshake
/// proves the MPPE keys came through TLS intact. The same AP with a
/// certificate that names no client gets nowhere.
#[test]
fn fourway_sim_over_radsec() {
    let f = setup("radsec-sim", |_| {});
    let (ok, out) = f.run_fourway_sim(&f.nas, &[]);
    let ctx = format!("{out}\n----- authd -----\n{}", f.server.log());
    assert!(ok, "{ctx}");
    station_line(&out, &ctx);
    // The line may reach the log after the answer reached the AP.
    f.server.expect_log("Access-Accept client=nas");

    // Negative control: an AP certificate for no [[client]].
    let (ok, out) = f.run_fourway_sim(&f.pki.good, &[]);
    assert!(!ok, "{out}");
    assert!(!out.contains("ptk=installed"), "{out}");
    f.server.expect_log("match no [[client]]");
}

/// A silent peer cannot hold a connection: one that never starts the TLS
/// handshake is closed after `handshake_timeout_secs`, one that finished
/// it and sends nothing after `idle_timeout_secs`; a peer that keeps
/// sending Status-Server past the idle timeout stays open (the control).
#[test]
fn silent_peers_are_closed_by_the_timeouts() {
    let f = setup("radsec-timeouts", |c| {
        c.radsec.handshake_timeout_secs = 1;
        c.radsec.idle_timeout_secs = 2;
    });
    // TCP only, no ClientHello.
    let mut tcp = TcpStream::connect(("127.0.0.1", f.radsec)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut byte = [0u8; 1];
    assert!(
        matches!(tcp.read(&mut byte), Ok(0) | Err(_)),
        "the server kept a connection without a handshake"
    );
    f.server.expect_log("TLS handshake not finished within 1 s");

    // Control: Status-Server every 500 ms keeps a connection open past
    // the idle timeout.
    let mut busy = connect(&f);
    for id in 0..8 {
        assert_status_answered(&mut busy, id);
        std::thread::sleep(Duration::from_millis(500));
    }
    // Then silence: closed as idle.
    assert_closed(&mut busy);
    f.server.expect_log("idle for 2 s");
}
