//! End-to-end: fourway-sim's simulated AP and station against the real
//! `authd` binary. The station runs EAP-TLS through the AP (a RADIUS client)
//! to authd; the AP takes the PMK out of the Access-Accept's
//! MS-MPPE-Recv-Key, the station derives its own from the MSK, and both run
//! the four-way and group key handshakes and exchange CCMP frames.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Creds, Server, TempDir, TestPki, fourway_sim_binary};
use eap_methods::peer::PeerConfig;
use fourway_sim::ap::NasConfig;
use fourway_sim::eapol::Akm;
use fourway_sim::frames::MacAddr;
use fourway_sim::radius_client::Retransmit;
use fourway_sim::sim::{SimOptions, run_handshakes};
use fourway_sim::station::{
    Authentication, StationError, StationTls, TlsChoice, authenticate, client_config,
    default_server_name,
};

const AP: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);

fn nas() -> NasConfig {
    NasConfig {
        secret: zeroize::Zeroizing::new(common::SECRET.as_bytes().to_vec()),
        nas_identifier: "fourway-sim-test".into(),
        framed_mtu: 1400,
        bssid: AP.0,
        ssid: "authd-lab".into(),
        request_key_name: true,
    }
}

fn peer(pki: &TestPki, creds: &Creds, tls: TlsChoice) -> Arc<PeerConfig> {
    let config = client_config(&StationTls {
        cert: &creds.cert,
        key: &creds.key,
        ca: &pki.ca_cert,
        version: Some(tls),
        server_name: None,
        resumption: false,
        verify_signature: true,
    })
    .expect("station TLS config");
    Arc::new(PeerConfig {
        identity: creds.name.clone(),
        method: eap_methods::peer::PeerMethod::Tls,
        tls: config,
        server_name: default_server_name(None),
        fragment_size: 1386,
        max_tls_message_len: 65536,
    })
}

fn auth(
    server: &Server,
    pki: &TestPki,
    creds: &Creds,
    tls: TlsChoice,
) -> Result<Authentication, StationError> {
    let addr: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(authenticate(
        addr,
        nas(),
        [0x02, 0, 0x5a, 0, 0, 1],
        peer(pki, creds, tls),
        Retransmit::default(),
    ))
}

fn full_run(tls: TlsChoice, expected: rustls::ProtocolVersion, akm: Akm) {
    let dir = TempDir::new("fourway-sim");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    let a = auth(&server, &pki, &pki.good, tls)
        .unwrap_or_else(|e| panic!("authentication failed: {e}\n{}", server.log()));
    assert_eq!(a.tls_version, Some(expected));
    assert!(a.pmk_ap.ct_eq(&a.pmk_station), "AP and station PMKs differ");
    assert_eq!(
        a.session_id_matches_key_name,
        Some(true),
        "EAP-Key-Name from authd is not the station's Session-Id"
    );
    // The goal from the issue: 4 RADIUS round trips with an ECDSA P-256
    // server certificate and Framed-MTU 1400.
    assert_eq!(a.round_trips, 4, "round trips");
    let opts = SimOptions {
        akm,
        capture: true,
        eap: a.eap.clone(),
        ..SimOptions::default()
    };
    let report = run_handshakes(
        &a.pmk_ap,
        &a.pmk_station,
        AP,
        MacAddr([0x02, 0, 0x5a, 0, 0, 1]),
        &mut rand::rng(),
        Instant::now(),
        &opts,
    );
    assert!(
        report.pmk_match && report.ptk_installed && report.gtk_installed && report.ccmp_ok,
        "handshakes failed: {:?}",
        report.error
    );
    tshark_decrypts(&dir, &report, &a.pmk_station, akm);
}

/// The capture of the run: tshark shows the EAP exchange and, given the PMK
/// as a `wpa-psk` key (what `fourway-sim run --print-key` prints), the
/// four-way handshake and the decrypted CCMP data in both directions and
/// the group frame.
fn tshark_decrypts(
    dir: &TempDir,
    report: &fourway_sim::sim::StationReport,
    pmk: &fourway_sim::keys::Pmk,
    akm: Akm,
) {
    let path = dir.path().join("run.pcap");
    let file = std::fs::File::create(&path).unwrap();
    fourway_sim::pcap::write_capture(file, std::slice::from_ref(report), Duration::from_secs(1))
        .unwrap();
    // The AKM's PMK: the first 256 bits of the MSK for AKM 1 and 5.
    let len = fourway_sim::akm::KeyProfile::for_akm(akm).unwrap().pmk_len;
    let key = format!(
        "uat:80211_keys:\"wpa-psk\",\"{}\"",
        hex::encode(pmk.prefix(len).unwrap())
    );
    let tshark = |filter: &str, field: &str| -> String {
        let out = std::process::Command::new("tshark")
            .args(["-r"])
            .arg(&path)
            .args(["-o", "wlan.enable_decryption:TRUE", "-o", &key])
            .args(["-Y", filter, "-T", "fields", "-e", field])
            .output()
            .expect("tshark is required (Debian package tshark)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let eap_types = tshark("eap", "eap.code");
    assert!(
        eap_types.lines().count() >= 6 && eap_types.lines().last() == Some("3"),
        "{akm}: EAP packets in the capture, ending with EAP-Success: {eap_types:?}"
    );
    let msgnrs: Vec<String> = tshark("eapol.keydes.type", "wlan_rsna_eapol.keydes.msgnr")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(msgnrs, ["1", "2", "3", "4", "1", "2"], "{akm}");
    let texts: Vec<String> = tshark("data", "data.data")
        .lines()
        .map(|l| {
            String::from_utf8_lossy(&hex::decode(l.replace(':', "")).unwrap_or_default())
                .into_owned()
        })
        .collect();
    for want in [
        "fourway-sim data 02:00:5a:00:00:01 -> 02:00:00:00:00:01",
        "fourway-sim data 02:00:00:00:00:01 -> 02:00:5a:00:00:01",
        "fourway-sim group data from 02:00:00:00:00:01",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "{akm}: tshark did not decrypt {want:?}: {texts:?}"
        );
    }
}

#[test]
fn tls12_station_through_ap_to_authd_then_fourway() {
    full_run(
        TlsChoice::Tls12,
        rustls::ProtocolVersion::TLSv1_2,
        Akm::Ieee8021x,
    );
}

#[test]
fn tls13_station_through_ap_to_authd_then_fourway() {
    full_run(
        TlsChoice::Tls13,
        rustls::ProtocolVersion::TLSv1_3,
        Akm::Ieee8021x,
    );
}

// WPA3-Enterprise baseline: AKM 5 (802.1X with SHA-256) from authd's MSK,
// the capture decrypted by tshark.
#[test]
fn tls13_station_through_ap_to_authd_then_akm5_fourway() {
    full_run(
        TlsChoice::Tls13,
        rustls::ProtocolVersion::TLSv1_3,
        Akm::Ieee8021xSha256,
    );
}

// Fast BSS transition: one EAP-TLS authentication through AP1, then the
// roam to AP2 without EAP or RADIUS (AKM 3: XXKey = MSK[32..64]; AKM 13:
// MSK[0..48]); the server sees one authentication.
#[test]
fn ft_roam_after_one_eap_tls_authentication() {
    let dir = TempDir::new("fourway-sim-ft");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    for akm in [Akm::FtIeee8021x, Akm::FtIeee8021xSha384] {
        let a = auth(&server, &pki, &pki.good, TlsChoice::Tls13)
            .unwrap_or_else(|e| panic!("authentication failed: {e}\n{}", server.log()));
        let opts = SimOptions {
            akm,
            ..SimOptions::default()
        };
        let spa = MacAddr([0x02, 0, 0x5a, 0, 0, 1]);
        let (first, roam) = fourway_sim::roam::associate(
            &a.pmk_ap,
            &a.pmk_station,
            AP,
            spa,
            &mut rand::rng(),
            Instant::now(),
            &opts,
        )
        .unwrap();
        assert!(first.success(), "{akm}: {:?}", first.error);
        let roam = roam.expect("an FT AKM roams");
        assert!(roam.success(), "{akm}: {roam:?}");
    }
}

#[test]
fn untrusted_certificate_is_rejected_and_no_pmk() {
    let dir = TempDir::new("fourway-sim-reject");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    match auth(&server, &pki, &pki.untrusted, TlsChoice::Tls13) {
        Err(StationError::Rejected(_)) => {}
        Err(other) => panic!("expected Access-Reject, got {other}\n{}", server.log()),
        Ok(_) => panic!("untrusted certificate accepted"),
    }
    server.expect_log("Access-Reject");
}

// PMKSA caching (IEEE 802.11-2020 §12.6.10.3): after one EAP-TLS
// authentication through authd the station reassociates naming its PMKID
// and the four-way handshake runs on the cached PMKs with no RADIUS round
// trip; a wrong PMKID or an expired PMKSA finds nothing, and the station
// authenticates in full again.
#[test]
fn pmksa_cache_skips_eap_and_wrong_or_expired_pmkid_falls_back() {
    use fourway_sim::akm::KeyProfile;
    use fourway_sim::pmksa::{Pmksa, PmksaCache};
    let dir = TempDir::new("fourway-sim-pmksa");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    let spa = MacAddr([0x02, 0, 0x5a, 0, 0, 1]);
    let akm = Akm::Ieee8021xSha256;
    let profile = KeyProfile::for_akm(akm).unwrap();
    let a = auth(&server, &pki, &pki.good, TlsChoice::Tls13)
        .unwrap_or_else(|e| panic!("authentication failed: {e}\n{}", server.log()));
    let now = Instant::now();
    let lifetime = Duration::from_secs(600);
    let mut ap_cache = PmksaCache::new(16);
    let mut sta_cache = PmksaCache::new(16);
    ap_cache.insert(Pmksa::new(&profile, &a.pmk_ap, AP, spa, now, lifetime).unwrap());
    sta_cache.insert(Pmksa::new(&profile, &a.pmk_station, AP, spa, now, lifetime).unwrap());

    let sta = sta_cache.for_ap(now, AP, spa).unwrap();
    let ap = ap_cache
        .lookup(now, AP, spa, akm, &[sta.pmkid])
        .expect("the AP finds the station's PMKSA");
    let opts = SimOptions {
        akm,
        sta_pmkids: vec![sta.pmkid],
        ..SimOptions::default()
    };
    let report = run_handshakes(&ap.pmk, &sta.pmk, AP, spa, &mut rand::rng(), now, &opts);
    assert!(report.success(), "cached reassociation: {:?}", report.error);

    // A wrong PMKID and an expired PMKSA: no cached PMK, full authentication.
    assert!(ap_cache.lookup(now, AP, spa, akm, &[[0x55; 16]]).is_none());
    assert!(
        ap_cache
            .lookup(now + lifetime, AP, spa, akm, &[sta.pmkid])
            .is_none()
    );
    let again = auth(&server, &pki, &pki.good, TlsChoice::Tls13)
        .unwrap_or_else(|e| panic!("full authentication failed: {e}\n{}", server.log()));
    assert_eq!(again.round_trips, 4);
    assert!(
        !again.pmk_ap.ct_eq(&a.pmk_ap),
        "a new EAP run makes a new PMK"
    );
}

// PMKSA caching with fast BSS transition, as hostapd does it
// (test_ap_ft_pmksa_caching): the PMKSA of the FT initial mobility domain
// association caches XXKey, named with HMAC-SHA-256 (AKM 3) or HMAC-SHA-384
// (AKM 13) of it. `fourway-sim run --roam --pmksa-cache`: one EAP-TLS
// through authd, the initial association and roam, then the station
// reassociates to AP1 naming that PMKID, PMK-R0 comes from the cached
// XXKey, and it roams to AP2 again; no second RADIUS exchange. A PMKID of
// another MSK finds nothing (full authentication).
#[test]
fn ft_pmksa_cache_through_fourway_sim_run() {
    use fourway_sim::akm::KeyProfile;
    use fourway_sim::pmksa::{DEFAULT_PMK_LIFETIME, Pmksa, PmksaCache};
    let dir = TempDir::new("fourway-sim-ft-pmksa");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    for akm in ["3", "13"] {
        let out = std::process::Command::new(fourway_sim_binary())
            .arg("run")
            .arg("--server")
            .arg(format!("127.0.0.1:{}", server.port))
            .args(["--secret", common::SECRET, "--identity", &pki.good.name])
            .arg("--cert")
            .arg(&pki.good.cert)
            .arg("--key")
            .arg(&pki.good.key)
            .arg("--ca")
            .arg(&pki.ca_cert)
            .args(["--akm", akm, "--roam", "--pmksa-cache", "--pmf", "required"])
            .output()
            .expect("run fourway-sim");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "--akm {akm}: {text}\n{}",
            server.log()
        );
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("station 1 "))
            .collect();
        // Full association, its roam, the cached association, its roam.
        assert_eq!(lines.len(), 4, "{text}");
        assert_ne!(field(lines[0], "round-trips"), Some("0"), "{text}");
        assert_eq!(field(lines[2], "pmksa"), Some("cached"), "{text}");
        assert_eq!(field(lines[2], "round-trips"), Some("0"), "{text}");
        for l in [lines[0], lines[2]] {
            assert_eq!(field(l, "ptk"), Some("installed"), "{text}");
            assert_eq!(field(l, "pmf"), Some("ok"), "{text}");
        }
        for l in [lines[1], lines[3]] {
            assert_eq!(field(l, "ft"), Some("ok"), "{text}");
            assert_eq!(field(l, "pmf"), Some("ok"), "{text}");
        }
    }

    // Wrong PMKID: the station's PMKSA of another MSK names nothing the AP
    // holds.
    let a = auth(&server, &pki, &pki.good, TlsChoice::Tls13)
        .unwrap_or_else(|e| panic!("authentication failed: {e}\n{}", server.log()));
    let b = auth(&server, &pki, &pki.good, TlsChoice::Tls13)
        .unwrap_or_else(|e| panic!("authentication failed: {e}\n{}", server.log()));
    let spa = MacAddr([0x02, 0, 0x5a, 0, 0, 1]);
    let profile = KeyProfile::for_akm(Akm::FtIeee8021x).unwrap();
    let now = Instant::now();
    let mut ap_cache = PmksaCache::new(4);
    ap_cache.insert(Pmksa::ft(&profile, &a.pmk_ap, AP, spa, now, DEFAULT_PMK_LIFETIME).unwrap());
    let own = Pmksa::ft(&profile, &a.pmk_station, AP, spa, now, DEFAULT_PMK_LIFETIME).unwrap();
    let other = Pmksa::ft(&profile, &b.pmk_station, AP, spa, now, DEFAULT_PMK_LIFETIME).unwrap();
    let akm = Akm::FtIeee8021x;
    assert!(ap_cache.lookup(now, AP, spa, akm, &[own.pmkid]).is_some());
    assert!(ap_cache.lookup(now, AP, spa, akm, &[other.pmkid]).is_none());
    let expired = now + DEFAULT_PMK_LIFETIME;
    assert!(
        ap_cache
            .lookup(expired, AP, spa, akm, &[own.pmkid])
            .is_none()
    );
    // One Access-Accept per EAP run: two `run`s and two `auth`s make four;
    // the cached associations sent nothing to authd.
    assert!(server.wait_for_log_count("Access-Accept", 4, Duration::from_secs(10)));
    assert_eq!(
        server.log().matches("Access-Accept").count(),
        4,
        "{}",
        server.log()
    );
}

// ------------------------------------------------------------------
// Password users: `fourway-sim run --method peap|ttls-*` against authd with
// a store, the password in an environment variable. The AP's PMK comes from
// the Access-Accept, the station's from its own MSK: "pmk=match" and the
// handshakes and data frames prove that both ends hold the same keys.

/// The password of the store's user (and the variable it travels in).
const PASSWORD: &str = "correct horse 4711";
const PASSWORD_ENV: &str = "FOURWAY_SIM_TEST_PASSWORD";
/// authd's reject line for a wrong password, any inner method.
const WRONG_PASSWORD: &str = "reason=\"wrong_password\"";

/// authd with a SQLite store and a credential key (MS-CHAPv2 needs the NT
/// hash), and the user `bob` added with [`PASSWORD`] through the CLI.
fn password_server(dir: &TempDir, pki: &TestPki) -> Server {
    let url = format!("sqlite://{}/authd.db", dir.path().display());
    let key = dir.path().join("credential.key");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
        .args(["user", "add", "bob", "--password", "--database", &url])
        .arg("--credential-key")
        .arg(&key)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run authd user add");
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        format!("{PASSWORD}\n").as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "authd user add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Positive control for the MS-CHAPv2 rows: the NT hash was stored.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("MS-CHAPv2"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    Server::start_with(
        dir.path(),
        pki,
        &format!(
            "[database]\nurl = \"{url}\"\ncredential_key = \"{}\"\n",
            key.display()
        ),
    )
}

/// What one `fourway-sim run` printed, and whether it exited 0.
struct SimRun {
    success: bool,
    stdout: String,
    stderr: String,
}

/// `fourway-sim run --method METHOD --tls TLS` as `bob` (outer identity
/// anonymous), `password` in the environment (None: variable not set).
fn sim_run(
    server: &Server,
    pki: &TestPki,
    method: &str,
    tls: &str,
    password: Option<&str>,
) -> SimRun {
    let mut cmd = std::process::Command::new(fourway_sim_binary());
    cmd.arg("run")
        .arg("--server")
        .arg(format!("127.0.0.1:{}", server.port))
        .args(["--secret", common::SECRET, "--ca"])
        .arg(&pki.ca_cert)
        .args(["--method", method, "--tls", tls, "--identity", "bob"])
        .args(["--outer-identity", "anonymous@example.org"])
        .args(["--password-env", PASSWORD_ENV])
        .env_remove(PASSWORD_ENV);
    if let Some(p) = password {
        cmd.env(PASSWORD_ENV, p);
    }
    let out = cmd.output().expect("run fourway-sim");
    SimRun {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The value of `key=` in a report line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// One station through `fourway-sim run`: authenticated by authd as the
/// inner identity, keys agreeing on both sides, the handshakes and CCMP
/// data frames done; then the same with a wrong password: Access-Reject,
/// no handshake. Returns the round trips of the success.
fn password_run(server: &Server, pki: &TestPki, method: &str, tls: &str) -> u32 {
    let run = sim_run(server, pki, method, tls, Some(PASSWORD));
    let ctx = format!("{method} TLS {tls}: {}{}", run.stdout, run.stderr);
    assert!(run.success, "{ctx}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("station 1 "))
        .expect(&ctx);
    for (key, want) in [
        ("method", method),
        ("tls", tls),
        ("user", "bob"),
        ("outer-identity", "anonymous@example.org"),
        ("eap-key-name", "match"),
        ("pmk", "match"),
        ("ptk", "installed"),
        ("gtk", "installed"),
        ("ccmp", "ok"),
    ] {
        assert_eq!(field(line, key), Some(want), "{key} in {ctx}");
    }
    let round_trips: u32 = field(line, "round-trips").unwrap().parse().unwrap();

    // Negative control: the same station with a wrong password.
    let rejects = server.log().matches(WRONG_PASSWORD).count();
    let bad = sim_run(server, pki, method, tls, Some("not the password"));
    let ctx = format!(
        "{method} TLS {tls}, wrong password: {}{}",
        bad.stdout, bad.stderr
    );
    assert!(!bad.success, "{ctx}");
    let line = bad
        .stdout
        .lines()
        .find(|l| l.starts_with("station 1 "))
        .expect(&ctx);
    assert_eq!(field(line, "radius"), Some("FAILED"), "{ctx}");
    assert!(line.contains("(Access-Reject)"), "{ctx}");
    assert_eq!(field(line, "ptk"), Some("-"), "{ctx}");
    assert!(!line.contains("pmk="), "{ctx}");
    assert!(
        server.wait_for_log_count(WRONG_PASSWORD, rejects + 1, common::LOG_WAIT),
        "{ctx}\n{}",
        server.log()
    );
    round_trips
}

#[test]
fn password_users_through_fourway_sim_run() {
    let dir = TempDir::new("fourway-sim-password");
    let pki = TestPki::create(dir.path());
    let server = password_server(&dir, &pki);
    // Round trips at Framed-MTU 1400, the Nak included (authd proposes
    // EAP-TLS first): fewer than FreeRADIUS 3.2 takes (10 for PEAP on TLS
    // 1.2, 9 on 1.3, 6 for TTLS-PAP, 7 for TTLS-MSCHAPv2).
    for (method, tls, fewer_than) in [
        ("peap", "1.2", 10),
        ("peap", "1.3", 9),
        ("ttls-pap", "1.2", 6),
        ("ttls-pap", "1.3", 6),
        ("ttls-mschapv2", "1.2", 7),
        ("ttls-mschapv2", "1.3", 7),
    ] {
        let rt = password_run(&server, &pki, method, tls);
        assert!(rt < fewer_than, "{method} TLS {tls}: {rt} round trips");
    }
}

#[test]
fn password_method_without_its_variable_is_an_error() {
    let dir = TempDir::new("fourway-sim-password-env");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    let run = sim_run(&server, &pki, "peap", "1.3", None);
    assert!(!run.success);
    assert!(
        run.stderr.contains(&format!("${PASSWORD_ENV} is not set")),
        "{}",
        run.stderr
    );
    // It stopped before any station ran.
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    // Without --password-env at all: the same kind of error, naming the flag.
    let out = std::process::Command::new(fourway_sim_binary())
        .args(["run", "--method", "ttls-pap", "--identity", "bob"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs --password-env VAR"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `fourway-sim status-load` against authd, with blocking senders and with
/// `--poll`: every Status-Server answered and verified, and the server's
/// CPU per answer reported; with a wrong secret nothing verifies, every
/// request is lost and the exit status says so (the control).
#[test]
fn status_load_blocking_and_polling() {
    let dir = TempDir::new("status-load");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    let load = |secret: &str, requests: &str, extra: &[&str]| {
        let out = std::process::Command::new(fourway_sim_binary())
            .arg("status-load")
            .arg("--server")
            .arg(format!("127.0.0.1:{}", server.port))
            .args(["--secret", secret, "--senders", "4", "--requests", requests])
            .args(["--timeout-ms", "300", "--server-pid"])
            .arg(server.pid().to_string())
            .args(extra)
            .output()
            .expect("run fourway-sim status-load");
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success(), line)
    };
    for extra in [&[][..], &["--poll"][..], &["--poll", "--repeat"][..]] {
        let (ok, line) = load(common::SECRET, "2000", extra);
        assert!(ok, "{extra:?}: {line}");
        assert_eq!(field(&line, "answered"), Some("2000"), "{extra:?}: {line}");
        assert_eq!(field(&line, "lost"), Some("0"), "{extra:?}: {line}");
        assert_eq!(
            field(&line, "poll"),
            Some(if extra.is_empty() { "false" } else { "true" }),
            "{line}"
        );
        let us: f64 = field(&line, "server_cpu_us_per_answer")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        assert!(us > 0.0, "{line}");
    }
    for extra in [&[][..], &["--poll"][..]] {
        let (ok, line) = load("not-the-secret", "4", extra);
        assert!(!ok, "{extra:?}: {line}");
        assert_eq!(field(&line, "answered"), Some("0"), "{extra:?}: {line}");
        assert_eq!(field(&line, "lost"), Some("4"), "{extra:?}: {line}");
    }
}

/// Runs `fourway-sim load ...` (`cmd`) with `--json --quiet`: whether it
/// exited 0, and its report.
fn json_load_report(cmd: &mut std::process::Command) -> (bool, serde_json::Value) {
    let out = cmd
        .args(["--json", "--quiet"])
        .output()
        .expect("run fourway-sim load");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

/// `fourway-sim load --poll` (the runtime that never sleeps, for the paced
/// rows of bench/compare.sh): paced EAP-TLS authentications all succeed and
/// the report says so; the same run with an untrusted certificate fails
/// every one (the control).
#[test]
fn paced_load_with_the_polling_tool() {
    let dir = TempDir::new("load-poll");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    let load = |creds: &Creds| {
        let mut cmd = std::process::Command::new(fourway_sim_binary());
        cmd.arg("load")
            .arg("--server")
            .arg(format!("127.0.0.1:{}", server.port))
            .args(["--secret", common::SECRET, "--ca"])
            .arg(&pki.ca_cert)
            .arg("--cert")
            .arg(&creds.cert)
            .arg("--key")
            .arg(&creds.key)
            .args(["--identity", &creds.name])
            .args([
                "--poll",
                "--rate",
                "50",
                "--count",
                "20",
                "--concurrency",
                "4",
            ]);
        json_load_report(&mut cmd)
    };
    let (ok, report) = load(&pki.good);
    assert!(ok, "{report}");
    assert_eq!(report["succeeded"], 20, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    let (ok, report) = load(&pki.untrusted);
    assert!(!ok, "{report}");
    assert_eq!(report["succeeded"], 0, "{report}");
    assert_eq!(report["failed"], 20, "{report}");
}

/// `fourway-sim load --pap-user --poll` (the polling PAP load of
/// bench/compare.sh --poll-pap): every Access-Request of the right password
/// is accepted, from the cache after the first, and the reply verified; the
/// wrong password is rejected every time (the control: the loop counts what
/// came back, it does not assume success), and so is every request signed
/// with another secret (authd drops them: timeouts, after retransmissions).
#[test]
fn pap_load_with_the_polling_tool() {
    let dir = TempDir::new("pap-poll");
    let pki = TestPki::create(dir.path());
    let server = password_server(&dir, &pki);
    let load = |password: &str, secret: &str, count: &str| {
        let mut cmd = std::process::Command::new(fourway_sim_binary());
        cmd.arg("load")
            .arg("--server")
            .arg(format!("127.0.0.1:{}", server.port))
            .args(["--secret", secret, "--pap-user", "bob"])
            .args(["--pap-password-env", PASSWORD_ENV])
            .env(PASSWORD_ENV, password)
            .args(["--poll", "--count", count, "--concurrency", "4"])
            .args(["--warmup", "8", "--timeout", "0.2", "--attempts", "2"]);
        json_load_report(&mut cmd)
    };
    let (ok, report) = load(PASSWORD, common::SECRET, "500");
    assert!(ok, "{report}");
    assert_eq!(report["mode"], "pap", "{report}");
    assert_eq!(report["succeeded"], 500, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["warmup_succeeded"], 8, "{report}");
    assert!(report["latency_ms_max"].as_f64().unwrap() > 0.0, "{report}");
    let (ok, report) = load("not the password", common::SECRET, "50");
    assert!(!ok, "{report}");
    assert_eq!(report["succeeded"], 0, "{report}");
    assert_eq!(report["failures"]["access_reject"], 50, "{report}");
    let (ok, report) = load(PASSWORD, "another secret", "4");
    assert!(!ok, "{report}");
    assert_eq!(report["succeeded"], 0, "{report}");
    assert_eq!(report["failures"]["timeout"], 4, "{report}");
    assert_eq!(report["retransmits"], 4, "{report}");
}
