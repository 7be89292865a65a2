//! Accounting end to end (RFC 2866, RFC 5997):
//!
//! - hostapd (`driver=wired`) with authd as its authentication and
//!   accounting server, wpa_supplicant on the other end of a veth pair:
//!   after PEAP-MSCHAPv2 one online session with hostapd's Acct-Session-Id,
//!   the station's MAC as Calling-Station-Id and authd's Class read back;
//!   after `wpa_cli logoff` the session is closed with a terminate cause;
//! - a retransmission with a new Identifier and Acct-Delay-Time is one row;
//! - authd killed with SIGKILL in a burst of Starts: every acknowledged
//!   one is in the store afterwards;
//! - Status-Server on both ports: answered with a valid
//!   Message-Authenticator, dropped without, unanswered while the
//!   PostgreSQL store is stopped and answered again once it is back.
//!
//! Needs root, `ip`, `hostapd`, `hostapd_cli`, `wpa_supplicant`, `wpa_cli`
//! and PostgreSQL's server binaries: a missing piece fails the test.

mod common;
#[path = "store_suite/mod.rs"]
#[allow(unused)]
mod suite;

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::wired::{
    Daemon, Link, hostapd_conf_with, spawn_supplicant, supplicant_conf, supplicant_status,
};
use common::{PasswordMethod, PasswordPeer, SECRET, Server, TempDir, TestPki, TlsChoice};
use radius_proto::{Code, Packet, PacketBuilder, dict};

const PASSWORD: &str = "accounting password";

/// `authd session ...` as JSON.
fn sessions(config: &Path, args: &[&str]) -> serde_json::Value {
    let out = common::admin_cli(config, &[&["session"], args, &["--json"]].concat(), "");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// A store configuration with the accounting port on; returns it and the
/// two ports.
fn acct_config(
    dir: &Path,
    pki: &TestPki,
    db_url: Option<String>,
) -> (std::path::PathBuf, u16, u16) {
    let port = common::free_udp_port();
    let acct = common::free_udp_port();
    let config = common::write_store_config(dir, pki, port, |c| {
        c.listen.acct = Some(format!("127.0.0.1:{acct}").parse().unwrap());
        if let Some(url) = db_url {
            c.database = Some(authd::config::DatabaseConfig::new(url));
        }
    });
    (config, port, acct)
}

fn start(config: &Path, port: u16) -> Server {
    let server = Server::spawn(config.to_owned(), port);
    server.expect_log("accounting recorded in the store");
    server
}

fn mac_of(link: &Link) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &link.netns, "cat"])
        .arg(format!("/sys/class/net/{}/address", link.inner))
        .output()
        .unwrap();
    // hostapd's Calling-Station-Id format: upper case, dashes
    // (RADIUS_802_1X_ADDR_FORMAT, RFC 3580 section 3.21).
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .to_uppercase()
        .replace(':', "-")
}

fn wait_json(
    limit: Duration,
    mut f: impl FnMut() -> Option<serde_json::Value>,
) -> Option<serde_json::Value> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return Some(v);
        }
        thread::sleep(Duration::from_millis(250));
    }
    None
}

#[test]
fn hostapd_session_online_then_closed_on_logoff() {
    for tool in ["ip", "hostapd", "hostapd_cli", "wpa_supplicant", "wpa_cli"] {
        common::require_tool(tool);
    }
    let dir = TempDir::new("hostapd-acct");
    let pki = TestPki::create(dir.path());
    let (config, port, acct) = acct_config(dir.path(), &pki, None);
    common::admin_cli(
        &config,
        &["user", "add", "bob", "--password"],
        &format!("{PASSWORD}\n"),
    );
    let server = start(&config, port);
    let link = Link::create();
    let mut hostapd = Daemon::spawn(
        "hostapd",
        Command::new("hostapd").args(["-dd", "-K", "-t"]).arg(hostapd_conf_with(
            dir.path(),
            &link.outer,
            port,
            &format!(
                "acct_server_addr=127.0.0.1\nacct_server_port={acct}\nacct_server_shared_secret={SECRET}\n"
            ),
        )),
        dir.path().join("hostapd.log"),
    );
    thread::sleep(Duration::from_millis(500));
    hostapd.assert_running();
    let network = common::password_network_block(
        &PasswordPeer {
            method: PasswordMethod::Peap,
            identity: "bob",
            anonymous: Some("anonymous@example.org"),
            password: PASSWORD,
            tls: TlsChoice::Only12,
        },
        &pki.ca_cert,
    );
    let (conf, ctrl) = supplicant_conf(dir.path(), &network);
    let mut supplicant = spawn_supplicant(&link, &conf, dir.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !supplicant_status(&link, &ctrl).contains("suppPortStatus=Authorized") {
        hostapd.assert_running();
        supplicant.assert_running();
        assert!(
            Instant::now() < deadline,
            "not authorized:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(250));
    }
    // hostapd's Acct-Session-Id for the station (ieee802_1x_get_mib_sta:
    // dot1xAuthSessionId=%016llX, the value accounting.c sends).
    let all_sta = Command::new("hostapd_cli")
        .arg("-p")
        .arg(dir.path().join("hostapd-ctrl"))
        .args(["-i", &link.outer, "all_sta"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap();
    let session_id = all_sta
        .lines()
        .find_map(|l| l.strip_prefix("dot1xAuthSessionId="))
        .unwrap_or_else(|| panic!("no session id in:\n{all_sta}"))
        .to_owned();
    let online = wait_json(Duration::from_secs(10), || {
        let v = sessions(&config, &["list", "--online"]);
        (v.as_array().is_some_and(|a| !a.is_empty())).then_some(v)
    })
    .unwrap_or_else(|| panic!("no online session:\n{}", hostapd.output()));
    let rows = online.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{online:#}");
    let s = &rows[0];
    eprintln!("session after Start: {s:#}");
    assert_eq!(s["acct_session_id"], session_id.as_str());
    assert_eq!(s["calling_station_id"], mac_of(&link).as_str());
    assert_eq!(s["online"], true);
    assert_eq!(s["nas_name"], "loopback");
    assert_eq!(s["nas_identifier"], "authd-e2e");
    // The Class of the Access-Accept came back: the inner identity and
    // the method, although the outer identity was anonymous.
    assert_eq!(s["auth_user"], "bob");
    assert_eq!(s["auth_method"], "peap");
    assert!(
        s["class"].as_str().unwrap().starts_with("authd1;peap;"),
        "{s}"
    );
    let key = s["session_key"].as_str().unwrap().to_owned();

    // Log off: hostapd sends a Stop (Acct-Terminate-Cause User-Request).
    let out = Command::new("ip")
        .args(["netns", "exec", &link.netns, "wpa_cli", "-p"])
        .arg(&ctrl)
        .args(["-i", &link.inner, "logoff"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
    let stopped = wait_json(Duration::from_secs(10), || {
        let v = sessions(&config, &["show", &key]);
        (v["online"] == false).then_some(v)
    })
    .unwrap_or_else(|| panic!("session not closed:\n{}", hostapd.output()));
    eprintln!("session after Stop: {stopped:#}");
    assert!(stopped["stop_time"].as_i64().is_some());
    assert_eq!(stopped["terminate_cause"], 1, "User-Request");
    // The counters hostapd reported (the wired driver has no station
    // statistics, so its octet counts are zero; the fields are there).
    for c in [
        "session_time",
        "input_octets",
        "output_octets",
        "input_packets",
        "output_packets",
    ] {
        assert!(
            stopped[c].as_i64().is_some_and(|n| n >= 0),
            "{c}: {stopped}"
        );
    }
    assert!(
        sessions(&config, &["list", "--online"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    drop(supplicant);
    drop(hostapd);
}

/// Sends `req` to `port` and returns the verified reply, if one comes
/// within `wait`.
fn exchange(port: u16, req: &[u8], wait: Duration) -> Option<Code> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(wait)).unwrap();
    sock.send_to(req, ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    let reply = Packet::new_checked(&buf[..n]).unwrap();
    let request = Packet::new_checked(req).unwrap();
    radius_proto::verify_response_with(&reply, request.authenticator(), SECRET.as_bytes(), false)
        .expect("reply authenticators");
    Some(reply.code())
}

fn accounting_request(id: u8, status: u32, session: &str, delay: u32) -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::AccountingRequest, id);
    b.add_u32(dict::ACCT_STATUS_TYPE, status).unwrap();
    b.add(dict::ACCT_SESSION_ID, session.as_bytes()).unwrap();
    b.add(dict::USER_NAME, b"carol").unwrap();
    b.add(dict::CALLING_STATION_ID, b"02-00-00-00-00-0C")
        .unwrap();
    b.add_u32(dict::ACCT_DELAY_TIME, delay).unwrap();
    b.encode_request([0; 16], SECRET.as_bytes()).unwrap()
}

fn status_server(id: u8) -> Vec<u8> {
    let mut auth = [0u8; 16];
    rand::fill(&mut auth);
    PacketBuilder::new(Code::StatusServer, id)
        .encode_request(auth, SECRET.as_bytes())
        .unwrap()
}

/// A Status-Server without Message-Authenticator (RFC 5997 section 3
/// requires one): code 12, no attributes.
fn status_server_without_ma() -> Vec<u8> {
    let mut p = vec![12, 77, 0, 20];
    p.extend_from_slice(&[0x5a; 16]);
    p
}

const WAIT: Duration = Duration::from_secs(2);

#[test]
fn retransmission_is_one_row_and_status_server_on_both_ports() {
    let dir = TempDir::new("acct-retrans");
    let pki = TestPki::create(dir.path());
    let (config, port, acct) = acct_config(dir.path(), &pki, None);
    let mut server = start(&config, port);

    // Start; then the NAS retransmits with a new Identifier and a larger
    // Acct-Delay-Time (RFC 2866 section 5.2): a new packet, the same row.
    assert_eq!(
        exchange(acct, &accounting_request(1, 1, "R1", 0), WAIT),
        Some(Code::AccountingResponse)
    );
    assert_eq!(
        exchange(acct, &accounting_request(2, 1, "R1", 0), WAIT),
        Some(Code::AccountingResponse)
    );
    thread::sleep(Duration::from_secs(1));
    assert_eq!(
        exchange(acct, &accounting_request(3, 1, "R1", 1), WAIT),
        Some(Code::AccountingResponse)
    );
    let rows = sessions(&config, &["list"]);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows:#}");
    let start_time = rows[0]["start_time"].as_i64().unwrap();
    // An Accounting-Request on the authentication port is dropped; an
    // Access-Request on the accounting port too.
    assert_eq!(
        exchange(port, &accounting_request(4, 3, "R1", 0), WAIT),
        None
    );
    let access = common::radius::pap_request(5, "carol", "x", SECRET.as_bytes());
    assert_eq!(exchange(acct, &access, WAIT), None);
    // Stop with the same session: still one row, closed, start unchanged.
    assert_eq!(
        exchange(acct, &accounting_request(6, 2, "R1", 0), WAIT),
        Some(Code::AccountingResponse)
    );
    let rows = sessions(&config, &["list"]);
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["online"], false);
    assert_eq!(rows[0]["start_time"].as_i64(), Some(start_time));

    // Status-Server: Access-Accept on the authentication port,
    // Accounting-Response on the accounting port; dropped without
    // Message-Authenticator (and the same port answers a valid one right
    // after: the positive control).
    assert_eq!(
        exchange(port, &status_server(7), WAIT),
        Some(Code::AccessAccept)
    );
    assert_eq!(
        exchange(acct, &status_server(8), WAIT),
        Some(Code::AccountingResponse)
    );
    assert_eq!(exchange(port, &status_server_without_ma(), WAIT), None);
    assert_eq!(exchange(acct, &status_server_without_ma(), WAIT), None);
    assert_eq!(
        exchange(acct, &status_server(9), WAIT),
        Some(Code::AccountingResponse)
    );
    server.terminate();
    let log = server.log();
    // Status-Server is not an authentication: no request counted for the
    // two on the authentication port (the only Access-Request went to the
    // accounting port and was dropped).
    assert!(log.contains("requests=0 accepts=0"), "{log}");
    assert!(log.contains("status_server_answered=3"), "{log}");
    assert!(log.contains("accounting_written=4"), "{log}");
}

#[test]
fn sigkill_in_a_burst_loses_no_acknowledged_start() {
    let dir = TempDir::new("acct-kill");
    let pki = TestPki::create(dir.path());
    let (config, port, acct) = acct_config(dir.path(), &pki, None);
    let mut server = start(&config, port);
    const SENDERS: usize = 4;
    const PER_SENDER: usize = 500;
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let mut threads = Vec::new();
    for t in 0..SENDERS {
        let acked = acked.clone();
        threads.push(thread::spawn(move || {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let to: SocketAddr = format!("127.0.0.1:{acct}").parse().unwrap();
            let mut buf = [0u8; 4096];
            let mut misses = 0;
            for i in 0..PER_SENDER {
                let id = format!("K{t}-{i}");
                let req = accounting_request((i % 256) as u8, 1, &id, 0);
                sock.send_to(&req, to).unwrap();
                match sock.recv_from(&mut buf) {
                    Ok((n, _)) => {
                        let reply = Packet::new_checked(&buf[..n]).unwrap();
                        let request = Packet::new_checked(&req[..]).unwrap();
                        if reply.identifier() == request.identifier()
                            && radius_proto::verify_response(
                                &reply,
                                request.authenticator(),
                                SECRET.as_bytes(),
                            )
                            .is_ok()
                        {
                            acked.lock().unwrap().insert(id);
                        }
                    }
                    Err(_) => {
                        misses += 1;
                        if misses > 3 {
                            return;
                        }
                    }
                }
            }
        }));
    }
    // Kill while the senders are in the middle of the burst.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 300 {
        assert!(
            Instant::now() < deadline,
            "too few acknowledged:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() < SENDERS * PER_SENDER,
        "the kill came after the burst"
    );
    let rows = sessions(&config, &["list", "--limit", "0"]);
    let stored: BTreeSet<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["acct_session_id"].as_str().unwrap().to_owned())
        .collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    eprintln!(
        "acknowledged {} of {}, stored {}, lost {}",
        acked.len(),
        SENDERS * PER_SENDER,
        stored.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
}

#[test]
fn status_server_unanswered_while_the_store_is_down() {
    let cluster = suite::PgCluster::start();
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(cluster.create_database("acctdown"));
    let dir = TempDir::new("acct-down");
    let pki = TestPki::create(dir.path());
    let (config, port, acct) = acct_config(dir.path(), &pki, Some(url));
    let server = start(&config, port);
    // Positive control: answered on both ports, accounting recorded.
    assert_eq!(
        exchange(port, &status_server(1), WAIT),
        Some(Code::AccessAccept)
    );
    assert_eq!(
        exchange(acct, &status_server(2), WAIT),
        Some(Code::AccountingResponse)
    );
    assert_eq!(
        exchange(acct, &accounting_request(3, 1, "D1", 0), WAIT),
        Some(Code::AccountingResponse)
    );

    cluster.pause();
    // The change-generation poll (every second) fails: Status-Server is
    // not answered, nor an Accounting-Request that cannot be recorded.
    assert!(server.wait_for_log(
        "cannot read the store's change generation",
        Duration::from_secs(15)
    ));
    assert_eq!(exchange(port, &status_server(4), WAIT), None);
    assert_eq!(exchange(acct, &status_server(5), WAIT), None);
    assert_eq!(
        exchange(
            acct,
            &accounting_request(6, 1, "D2", 0),
            Duration::from_secs(8)
        ),
        None
    );

    cluster.resume();
    // Answered again once the store is back (the poll succeeds, the
    // breaker's probe closes it).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut answered = false;
    while !answered && Instant::now() < deadline {
        answered = exchange(acct, &status_server(7), WAIT) == Some(Code::AccountingResponse);
    }
    assert!(
        answered,
        "Status-Server not answered after the store came back:\n{}",
        server.log()
    );
    assert_eq!(
        exchange(port, &status_server(8), WAIT),
        Some(Code::AccessAccept)
    );
    let mut recorded = false;
    while !recorded && Instant::now() < deadline {
        recorded = exchange(acct, &accounting_request(9, 1, "D2", 3), WAIT)
            == Some(Code::AccountingResponse);
    }
    assert!(recorded, "{}", server.log());
    let rows = sessions(&config, &["list"]);
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows:#}");
    assert!(
        server
            .log()
            .contains("Status-Server not answered: the store is unusable")
    );
}
