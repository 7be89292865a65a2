//! The store end to end: a running authd with a `[database]`, eapol_test as
//! the peer, and the admin CLI changing users, certificates and NAS clients
//! while the server keeps running. Then two authd instances sharing one
//! PostgreSQL database.

#[path = "common/mod.rs"]
mod common;
#[path = "store_suite/mod.rs"]
mod suite;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{Creds, Server, TestPki, TlsChoice};

/// `authd serve` with a `[database]` at `database_url`, in its own
/// directory `name` under `dir`.
fn daemon(dir: &Path, name: &str, pki: &TestPki, database_url: &str) -> Server {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    Server::start_with(
        &dir,
        pki,
        &format!("[database]\nurl = \"{database_url}\"\n"),
    )
}

/// Runs the admin CLI against `database_url`; panics unless it succeeds.
fn cli(database_url: &str, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authd"))
        .args(args)
        .arg("--database")
        .arg(database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run authd CLI");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "authd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the admin CLI, then waits until every server in `servers` noticed
/// the change (they poll the store's change generation every second and
/// drop what they cached).
fn cli_seen(database_url: &str, args: &[&str], stdin: &str, servers: &[&Server]) -> String {
    const SEEN: &str = "store changed";
    let before: Vec<usize> = servers
        .iter()
        .map(|s| s.log().matches(SEEN).count())
        .collect();
    let out = cli(database_url, args, stdin);
    for (server, before) in servers.iter().zip(before) {
        assert!(
            server.wait_for_log_count(SEEN, before + 1, common::LOG_WAIT),
            "server did not notice `{args:?}`:\n{}",
            server.log()
        );
    }
    out
}

/// Issues a certificate to `user` with the test CA through the CLI; returns
/// the credentials and the serial.
fn issue(database_url: &str, pki: &TestPki, user: &str, out: &Path) -> (Creds, String) {
    std::fs::create_dir_all(out).unwrap();
    let ca_dir = pki.ca_cert.parent().unwrap();
    let json = cli(
        database_url,
        &[
            "cert",
            "issue",
            user,
            "--out",
            out.to_str().unwrap(),
            "--ca-cert",
            pki.ca_cert.to_str().unwrap(),
            "--ca-key",
            ca_dir.join("ca.key").to_str().unwrap(),
            "--json",
        ],
        "",
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let creds = Creds {
        name: user.to_owned(),
        cert: PathBuf::from(v["certificate"].as_str().unwrap()),
        key: PathBuf::from(v["private_key"].as_str().unwrap()),
    };
    (creds, v["serial"].as_str().unwrap().to_owned())
}

/// eapol_test against `port`; returns whether it authenticated.
fn authenticate(
    dir: &Path,
    label: &str,
    creds: &Creds,
    pki: &TestPki,
    port: u16,
    secret: &str,
) -> common::EapolRun {
    let conf = common::write_eapol_conf(dir, label, creds, &pki.ca_cert, TlsChoice::Only13);
    common::run_eapol_test_with_secret(&conf, port, secret, &[])
}

#[test]
fn one_server_follows_the_store() {
    common::require_tool("eapol_test");
    let dir = common::TempDir::new("store-e2e");
    let pki = TestPki::create(dir.path());
    let url = format!("sqlite://{}/authd.db", dir.path().display());

    // The CLI creates the database before the server starts.
    cli(
        &url,
        &[
            "group",
            "add",
            "staff",
            "--vlan",
            "42",
            "--session-timeout",
            "3600",
        ],
        "",
    );
    cli(&url, &["user", "add", "bob", "--group", "staff"], "");
    let (bob, serial) = issue(&url, &pki, "bob", &dir.path().join("bob"));

    let mut server = daemon(dir.path(), "a", &pki, &url);

    // Accepted, with MPPE keys and the group's VLAN and Session-Timeout.
    let run = authenticate(dir.path(), "ok", &bob, &pki, server.port, common::SECRET);
    assert!(run.success(), "bob should get in:\n{}", run.output);
    assert!(
        run.contains("MPPE keys OK: 1  mismatch: 0"),
        "{}",
        run.output
    );
    // RFC 3580 section 3.31 attributes and Session-Timeout in the Access-Accept.
    for attr in [
        "Attribute 64 (Tunnel-Type)",
        "Attribute 65 (Tunnel-Medium-Type)",
        "Attribute 81 (Tunnel-Private-Group-Id)",
        "Attribute 27 (Session-Timeout)",
    ] {
        assert!(run.contains(attr), "no {attr} in:\n{}", run.output);
    }

    // A user's own VLAN overrides the group's, at the next authentication.
    cli_seen(
        &url,
        &["user", "set", "bob", "--vlan", "77"],
        "",
        &[&server],
    );
    let run = authenticate(dir.path(), "vlan", &bob, &pki, server.port, common::SECRET);
    assert!(run.success(), "{}", run.output);
    server.expect_log("\"77\"");

    // Disabled: rejected, with the reason in the server log.
    cli_seen(&url, &["user", "disable", "bob"], "", &[&server]);
    let run = authenticate(
        dir.path(),
        "disabled",
        &bob,
        &pki,
        server.port,
        common::SECRET,
    );
    assert!(!run.success(), "a disabled user got in:\n{}", run.output);
    assert!(
        run.contains("Access-Reject")
            || run.contains("EAP-Failure")
            || run.contains("CTRL-EVENT-EAP-FAILURE"),
        "{}",
        run.output
    );
    server.expect_log("user_disabled");
    // RFC 9190 §2.5: refused before the protected success indication, with
    // a TLS access_denied alert (OpenSSL's words in wpa_supplicant's log),
    // on TLS 1.3 as here and on TLS 1.2.
    assert!(
        run.contains("fatal:access denied"),
        "no access_denied alert seen by eapol_test:\n{}",
        run.output
    );
    let conf12 = common::write_eapol_conf(
        dir.path(),
        "disabled12",
        &bob,
        &pki.ca_cert,
        TlsChoice::Only12,
    );
    let run12 = common::run_eapol_test_with_secret(&conf12, server.port, common::SECRET, &[]);
    assert!(
        !run12.success(),
        "a disabled user got in:\n{}",
        run12.output
    );
    assert!(
        run12.contains("fatal:access denied"),
        "no access_denied alert on TLS 1.2:\n{}",
        run12.output
    );

    // Enabled again: accepted.
    cli_seen(&url, &["user", "enable", "bob"], "", &[&server]);
    let run = authenticate(
        dir.path(),
        "enabled",
        &bob,
        &pki,
        server.port,
        common::SECRET,
    );
    assert!(
        run.success(),
        "re-enabled bob should get in:\n{}",
        run.output
    );

    // A NAS client added to the store for the same address wins over the
    // config file's, within the refresh interval, without a restart.
    cli(
        &url,
        &["client", "add", "loopback-db", "127.0.0.1"],
        "db-secret\n",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let run = authenticate(dir.path(), "dbclient", &bob, &pki, server.port, "db-secret");
        if run.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "store client not picked up:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(500));
    }
    let run = authenticate(
        dir.path(),
        "oldsecret",
        &bob,
        &pki,
        server.port,
        common::SECRET,
    );
    assert!(
        !run.success(),
        "the config file's secret should be replaced"
    );
    cli(&url, &["client", "remove", "loopback-db"], "");

    // Revoked in the store: rejected.
    cli(
        &url,
        &["cert", "revoke", &serial, "--reason", "keyCompromise"],
        "",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let run = authenticate(
            dir.path(),
            "revoked",
            &bob,
            &pki,
            server.port,
            common::SECRET,
        );
        if !run.success() && server.wait_for_log("certificate_revoked", Duration::from_secs(1)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "revoked certificate still accepted:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(500));
    }
    // A new certificate for bob works.
    let (bob2, _) = issue(&url, &pki, "bob", &dir.path().join("bob2"));
    let run = authenticate(dir.path(), "new", &bob2, &pki, server.port, common::SECRET);
    assert!(run.success(), "{}", run.output);

    // An unknown user with a valid certificate from the trusted CA.
    let run = authenticate(
        dir.path(),
        "unknown",
        &pki.good,
        &pki,
        server.port,
        common::SECRET,
    );
    assert!(!run.success());
    server.expect_log("unknown_user");
    assert!(server.is_running());
}

/// A throwaway PostgreSQL cluster (stopped when dropped) with one database
/// `name`, its URL, and a runtime for the async helpers.
fn postgres_database(name: &str) -> (suite::PgCluster, tokio::runtime::Runtime, String) {
    let cluster = suite::PgCluster::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(cluster.create_database(name));
    (cluster, runtime, url)
}

/// Panics unless `result` is an Access-Reject.
fn expect_rejected(
    result: Result<fourway_sim::station::Authentication, fourway_sim::station::StationError>,
    who: &str,
    server: &Server,
) {
    match result {
        Err(fourway_sim::station::StationError::Rejected(_)) => {}
        Err(e) => panic!("{who} failed otherwise: {e}\n{}", server.log()),
        Ok(r) => panic!("{who} accepted (resumed: {})\n{}", r.resumed, server.log()),
    }
}

#[test]
fn two_servers_share_postgres() {
    common::require_tool("eapol_test");
    let (_cluster, _runtime, url) = postgres_database("shared");
    let dir = common::TempDir::new("store-e2e-pg");
    let pki = TestPki::create(dir.path());

    cli(&url, &["user", "add", "carol", "--vlan", "5"], "");
    let (carol, _) = issue(&url, &pki, "carol", &dir.path().join("carol"));

    let a = daemon(dir.path(), "a", &pki, &url);
    let b = daemon(dir.path(), "b", &pki, &url);
    for (name, d) in [("a", &a), ("b", &b)] {
        let run = authenticate(
            dir.path(),
            &format!("ok-{name}"),
            &carol,
            &pki,
            d.port,
            common::SECRET,
        );
        assert!(run.success(), "carol via {name}:\n{}", run.output);
    }

    // One CLI call; both instances reject at the next authentication.
    cli_seen(&url, &["user", "disable", "carol"], "", &[&a, &b]);
    for (name, d) in [("a", &a), ("b", &b)] {
        let run = authenticate(
            dir.path(),
            &format!("off-{name}"),
            &carol,
            &pki,
            d.port,
            common::SECRET,
        );
        assert!(!run.success(), "disabled carol got in via {name}");
        d.expect_log("user_disabled");
    }
}

/// A simulated station (fourway-sim) for `creds` that keeps its TLS
/// sessions, so a second authentication with the same configuration
/// resumes.
fn resuming_station(
    creds: &Creds,
    pki: &TestPki,
    tls: fourway_sim::station::TlsChoice,
) -> std::sync::Arc<eap_methods::peer::PeerConfig> {
    use fourway_sim::station::{StationTls, client_config, default_server_name};
    let tls = client_config(&StationTls {
        cert: &creds.cert,
        key: &creds.key,
        ca: &pki.ca_cert,
        version: Some(tls),
        server_name: None,
        resumption: true,
        verify_signature: true,
    })
    .expect("station TLS configuration");
    std::sync::Arc::new(eap_methods::peer::PeerConfig {
        identity: creds.name.clone(),
        method: eap_methods::peer::PeerMethod::Tls,
        tls,
        server_name: default_server_name(None),
        fragment_size: 1386,
        max_tls_message_len: 65536,
    })
}

/// One EAP-TLS authentication of `peer` through the simulated AP.
fn station_auth(
    runtime: &tokio::runtime::Runtime,
    port: u16,
    peer: &std::sync::Arc<eap_methods::peer::PeerConfig>,
) -> Result<fourway_sim::station::Authentication, fourway_sim::station::StationError> {
    let nas = fourway_sim::ap::NasConfig {
        secret: zeroize::Zeroizing::new(common::SECRET.as_bytes().to_vec()),
        nas_identifier: "e2e-ap".into(),
        framed_mtu: 1400,
        bssid: [0x02, 0, 0, 0, 0, 0xaa],
        ssid: "e2e".into(),
        request_key_name: false,
    };
    runtime.block_on(fourway_sim::station::authenticate(
        format!("127.0.0.1:{port}").parse().unwrap(),
        nas,
        [0x02, 0, 0, 0, 0, 0x01],
        peer.clone(),
        fourway_sim::radius_client::Retransmit::default(),
    ))
}

/// TLS session tickets (RFC 5077, RFC 8446 section 4.6.1) sealed with keys
/// kept in the shared database: a session established with instance A
/// resumes on instance B. Resumption never bypasses authorization: a
/// certificate revoked, or a user disabled, after the ticket was issued is
/// rejected on the resumed handshake.
#[test]
fn tickets_resume_across_servers_but_not_past_revocation() {
    let (_cluster, runtime, url) = postgres_database("tickets");
    let dir = common::TempDir::new("store-e2e-tickets");
    let pki = TestPki::create(dir.path());
    cli(&url, &["user", "add", "erin"], "");
    cli(&url, &["user", "add", "frank"], "");
    let (erin, erin_serial) = issue(&url, &pki, "erin", &dir.path().join("erin"));
    let (frank, _) = issue(&url, &pki, "frank", &dir.path().join("frank"));

    let a = daemon(dir.path(), "a", &pki, &url);
    let b = daemon(dir.path(), "b", &pki, &url);

    use fourway_sim::station::TlsChoice as V;
    for version in [V::Tls12, V::Tls13] {
        let peer = resuming_station(&erin, &pki, version);
        let full = station_auth(&runtime, a.port, &peer)
            .unwrap_or_else(|e| panic!("{version:?} full handshake on A: {e}\n{}", a.log()));
        assert!(!full.resumed);
        let resumed = station_auth(&runtime, b.port, &peer)
            .unwrap_or_else(|e| panic!("{version:?} resumption on B: {e}\n{}", b.log()));
        assert!(
            resumed.resumed,
            "{version:?}: B did not resume A's ticket:\n{}",
            b.log()
        );
        assert!(resumed.pmk_ap.ct_eq(&resumed.pmk_station));
        assert!(!resumed.pmk_ap.ct_eq(&full.pmk_ap), "fresh keys");
        assert!(resumed.round_trips <= full.round_trips);
        if version == V::Tls12 {
            assert_eq!((full.round_trips, resumed.round_trips), (4, 3));
        }
    }

    // Ticket from A, certificate revoked, resumption on B: rejected.
    let peer = resuming_station(&erin, &pki, V::Tls12);
    station_auth(&runtime, a.port, &peer).expect("erin before revocation");
    cli_seen(
        &url,
        &["cert", "revoke", &erin_serial, "--reason", "keyCompromise"],
        "",
        &[&a, &b],
    );
    expect_rejected(station_auth(&runtime, b.port, &peer), "revoked erin", &b);
    assert!(
        b.wait_for_log("(resumed TLS session)", common::LOG_WAIT)
            && b.log().contains("certificate_revoked"),
        "the rejection should be of a resumed session, for the revocation:\n{}",
        b.log()
    );

    // Ticket from A (TLS 1.3), user disabled, resumption on B: rejected.
    let peer = resuming_station(&frank, &pki, V::Tls13);
    station_auth(&runtime, a.port, &peer).expect("frank before disabling");
    cli_seen(&url, &["user", "disable", "frank"], "", &[&a, &b]);
    expect_rejected(station_auth(&runtime, b.port, &peer), "disabled frank", &b);
    b.expect_log("user_disabled");
    let rejected = b
        .log()
        .lines()
        .filter(|l| l.contains("user_disabled") || l.contains("frank\" is disabled"))
        .any(|l| l.contains("(resumed TLS session)"));
    assert!(
        rejected,
        "frank's rejection was not on resumption:\n{}",
        b.log()
    );
}

/// PAP (RFC 2865 section 5.2) against the store's Argon2id hashes: right
/// password accepted with the group's VLAN, wrong or unknown rejected with a
/// logged reason; a password change or a disabled user takes effect at
/// once even though verified passwords are cached.
#[test]
fn pap_against_the_store() {
    use common::radius::{exchange, pap_request};
    use radius_proto::{Code, Packet, dict};
    let dir = common::TempDir::new("store-e2e-pap");
    let pki = TestPki::create(dir.path());
    let url = format!("sqlite://{}/authd.db", dir.path().display());
    cli(&url, &["group", "add", "printers", "--vlan", "77"], "");
    cli(
        &url,
        &["user", "add", "pat", "--group", "printers", "--password"],
        "correct horse battery\n",
    );
    cli(&url, &["user", "add", "nopass"], "");
    let server = daemon(dir.path(), "pap", &pki, &url);
    let secret = common::SECRET.as_bytes();
    let ask = |id: u8, user: &str, password: &str| {
        exchange(
            server.port,
            &pap_request(id, user, password, secret),
            secret,
        )
        .unwrap_or_else(|| panic!("no answer for {user}:\n{}", server.log()))
    };

    let (code, reply) = ask(1, "pat", "correct horse battery");
    assert_eq!(code, Code::AccessAccept, "{}", server.log());
    let reply = Packet::new_checked(&reply[..]).unwrap();
    assert_eq!(reply.attr(dict::USER_NAME), Some(&b"pat"[..]));
    assert_eq!(reply.attr(dict::TUNNEL_PRIVATE_GROUP_ID), Some(&b"77"[..]));
    // authd's Class, for the accounting to name the user and the method.
    let class = authd::class::parse(reply.attr(dict::CLASS).expect("Class")).unwrap();
    assert_eq!(class.method, authd::class::Method::Pap);
    assert_eq!(class.user.as_deref(), Some("pat"));
    server.expect_log("cached=false");
    // The second time comes from the cache, same answer.
    assert_eq!(ask(2, "pat", "correct horse battery").0, Code::AccessAccept);
    server.expect_log("cached=true");

    assert_eq!(ask(3, "pat", "wrong").0, Code::AccessReject);
    server.expect_log("wrong_password");
    assert_eq!(ask(4, "nobody", "x").0, Code::AccessReject);
    server.expect_log("unknown_user");
    assert_eq!(ask(5, "nopass", "x").0, Code::AccessReject);
    server.expect_log("no_password");

    // New password: the cached old one stops working within the poll
    // interval (one second).
    cli(&url, &["user", "passwd", "pat"], "new secret words\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut id = 10u8;
    while ask(id, "pat", "correct horse battery").0 == Code::AccessAccept {
        assert!(Instant::now() < deadline, "old password still accepted");
        thread::sleep(Duration::from_millis(200));
        id = id.wrapping_add(1);
    }
    assert_eq!(ask(40, "pat", "new secret words").0, Code::AccessAccept);
    assert_eq!(ask(41, "pat", "new secret words").0, Code::AccessAccept);

    cli(&url, &["user", "disable", "pat"], "");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut id = 50u8;
    while ask(id, "pat", "new secret words").0 == Code::AccessAccept {
        assert!(Instant::now() < deadline, "disabled user still accepted");
        thread::sleep(Duration::from_millis(200));
        id = id.wrapping_add(1);
    }
    server.expect_log("user_disabled");
}
/// Most operators already run a CA: a certificate of one that authd did not
/// issue (trusted through `[tls] ca`, with its CRL) is revoked from the CLI
/// by its file, while the server runs, and refused from its next
/// authentication.
#[test]
fn certificate_of_an_outside_ca_revoked_by_file() {
    use authd::pki::{CertificateAuthority, KeyKind};
    common::require_tool("eapol_test");
    let dir = common::TempDir::new("store-e2e-outside");
    let mut pki = TestPki::create(dir.path());
    let outside = CertificateAuthority::generate("Example Corp CA", 2).unwrap();
    let carol = outside
        .issue_client_for_days("carol", KeyKind::EcdsaP256, 1)
        .unwrap();
    let creds = Creds {
        name: "carol".into(),
        cert: dir.path().join("carol.pem"),
        key: dir.path().join("carol.key"),
    };
    carol.write(&creds.cert, &creds.key).unwrap();
    // The outside CA beside the test CA, with its (empty) CRL: with CRLs
    // configured, a CA without one is refused.
    let now = std::time::SystemTime::now();
    let crl = outside
        .crl(
            &[],
            now - Duration::from_secs(60),
            now + Duration::from_secs(86_400),
            1,
        )
        .unwrap();
    let bundle = dir.path().join("cas.pem");
    let test_ca = std::fs::read_to_string(&pki.ca_cert).unwrap();
    std::fs::write(&bundle, format!("{test_ca}{}{crl}", outside.cert_pem())).unwrap();
    pki.ca_cert = bundle;
    let url = format!("sqlite://{}/authd.db", dir.path().display());
    cli(&url, &["user", "add", "carol"], "");
    let server = daemon(dir.path(), "server", &pki, &url);

    // Positive control: accepted before the revocation.
    let run = authenticate(
        dir.path(),
        "before",
        &creds,
        &pki,
        server.port,
        common::SECRET,
    );
    assert!(run.success(), "{}\n{}", run.output, server.log());

    let out = cli_seen(
        &url,
        &[
            "cert",
            "revoke",
            "--cert",
            creds.cert.to_str().unwrap(),
            "--reason",
            "keyCompromise",
        ],
        "",
        &[&server],
    );
    assert!(out.contains("revoked"), "{out}");
    // The server saw the change: the very next authentication is refused,
    // by the store (the outside CA's CRL lists nothing).
    let run = authenticate(
        dir.path(),
        "after",
        &creds,
        &pki,
        server.port,
        common::SECRET,
    );
    assert!(
        !run.success(),
        "revoked certificate accepted:\n{}",
        run.output
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log().contains("certificate_revoked") {
        assert!(
            Instant::now() < deadline,
            "no certificate_revoked:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(50));
    }
    // Listed under its own issuer, not authd's.
    let json = cli(&url, &["cert", "list", "carol", "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["issuer_name"], "CN=Example Corp CA", "{json}");
    assert!(v[0]["revoked_at"].is_i64(), "{json}");
}
