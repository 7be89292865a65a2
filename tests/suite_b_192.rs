//! End-to-end: WPA3-Enterprise 192-bit (AKM 00-0F-AC:12). A P-384 PKI made
//! by `authd pki init --p384`, EAP-TLS restricted to the 192-bit suites by
//! `[tls] suite_b_192`, a station offering only those suites (RFC 9190
//! §2.4, RFC 6460), the simulated AP rebuilding the MSK from
//! MS-MPPE-Recv-Key and Send-Key, and the AKM 12 handshakes (384-bit PMK,
//! KDF-SHA-384, HMAC-SHA-384 MIC, AES-256 key wrap, GCMP-256, BIP-GMAC-256)
//! against authd and against FreeRADIUS 3.2 with the same certificates;
//! with FreeRADIUS also the fast BSS transition AKMs 3 and 13 (initial
//! association and roam) on the MSK it delivered. And `fourway-sim run`
//! against FreeRADIUS with P-256 certificates: AKM 1, AKM 5 with PMF
//! required, AKM 5 with PMKSA caching.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use authd::config::{ClientConfig as NasClient, Config, Secret, TlsConfig};
use authd::pki::CertificateAuthority;
use common::{Creds, Server, TempDir, TestPki, fourway_sim_binary};
use eap_methods::peer::{PeerConfig, PeerMethod};
use fourway_sim::ap::NasConfig;
use fourway_sim::eapol::Akm;
use fourway_sim::frames::MacAddr;
use fourway_sim::radius_client::Retransmit;
use fourway_sim::sim::{Pmf, SimOptions, run_handshakes};
use fourway_sim::station::{Authentication, StationError, authenticate, default_server_name};
use rustls::crypto::aws_lc_rs::{cipher_suite, kx_group};

const AP: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
const STA: MacAddr = MacAddr([0x02, 0, 0x5a, 0, 0, 0x12]);

struct Pki {
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    alice: (PathBuf, PathBuf),
    p256: (PathBuf, PathBuf),
}

/// `authd pki init --p384`, then client certificates from its CA: alice's
/// P-384 (the CA's kind) and a P-256 one.
fn p384_pki(dir: &Path) -> Pki {
    let pki = dir.join("pki");
    let out = Command::new(env!("CARGO_BIN_EXE_authd"))
        .args([
            "pki",
            "init",
            "--p384",
            "--server-name",
            "authd.local",
            "--dir",
        ])
        .arg(&pki)
        .output()
        .expect("run authd pki init");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = CertificateAuthority::load(&pki.join("ca.pem"), &pki.join("ca.key")).unwrap();
    let write = |name: &str, kind| {
        let issued = ca.issue_client_for_days(name, kind, 1).unwrap();
        let paths = (
            pki.join(format!("{name}.pem")),
            pki.join(format!("{name}.key")),
        );
        issued.write(&paths.0, &paths.1).unwrap();
        paths
    };
    Pki {
        ca: pki.join("ca.pem"),
        server: (pki.join("server.pem"), pki.join("server.key")),
        alice: write("alice", ca.key_kind()),
        p256: write("p256", authd::pki::KeyKind::EcdsaP256),
    }
}

fn start_authd(dir: &Path, pki: &Pki) -> Server {
    let port = common::free_udp_port();
    let mut tls = TlsConfig::new(&pki.server.0, &pki.server.1, &pki.ca);
    tls.suite_b_192 = true;
    let mut config = Config::new(tls);
    config.listen.auth = format!("127.0.0.1:{port}").parse().unwrap();
    config.clients.push(NasClient {
        name: "loopback".into(),
        address: "127.0.0.1/32".parse().unwrap(),
        secret: Secret::new(common::SECRET).unwrap(),
        certificate_name: None,
        require_message_authenticator: true,
        limit_proxy_state: true,
        das_port: 3799,
    });
    let path = dir.join("authd.toml");
    std::fs::write(&path, config.to_toml()).unwrap();
    Config::load(&path).expect("generated config parses");
    Server::spawn(path, port)
}

/// A WPA3-Enterprise 192-bit station's TLS: only the two 192-bit suites,
/// P-384 key exchange, the given client certificate.
fn station(pki: &Pki, creds: &(PathBuf, PathBuf), tls13: bool) -> Arc<PeerConfig> {
    let base = rustls::crypto::aws_lc_rs::default_provider();
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ],
        kx_groups: vec![kx_group::SECP384R1],
        ..base
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in authd::tls::load_certificates(&pki.ca).unwrap() {
        roots.add(c).unwrap();
    }
    let version = if tls13 {
        &rustls::version::TLS13
    } else {
        &rustls::version::TLS12
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            authd::tls::load_certificates(&creds.0).unwrap(),
            authd::tls::load_private_key(&creds.1).unwrap(),
        )
        .unwrap();
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(PeerConfig {
        identity: "alice".into(),
        method: PeerMethod::Tls,
        tls: Arc::new(config),
        server_name: default_server_name(Some("authd.local")),
        fragment_size: 1386,
        max_tls_message_len: 65536,
    })
}

fn authenticate_to(port: u16, peer: Arc<PeerConfig>) -> Result<Authentication, StationError> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let nas = NasConfig {
        secret: zeroize::Zeroizing::new(common::SECRET.as_bytes().to_vec()),
        nas_identifier: "fourway-sim-suite-b".into(),
        framed_mtu: 1400,
        bssid: AP.0,
        ssid: "authd-192".into(),
        request_key_name: false,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(authenticate(addr, nas, STA.0, peer, Retransmit::default()))
}

/// The AKM 12 handshakes on the keys of one authentication: the AP's PMK
/// from the MS-MPPE keys, the station's from its MSK; GCMP-256 data and a
/// BIP-GMAC-256 deauthentication (PMF required).
fn akm12(a: &Authentication, who: &str) {
    assert!(
        a.pmk_ap.ct_eq(&a.pmk_station),
        "{who}: AP and station PMKs differ"
    );
    assert_eq!(
        a.pmk_ap.as_bytes().len(),
        64,
        "{who}: the AP rebuilt the MSK"
    );
    let opts = SimOptions {
        akm: Akm::Ieee8021xSuiteB192,
        pmf: Pmf::Required,
        ..SimOptions::default()
    };
    let r = run_handshakes(
        &a.pmk_ap,
        &a.pmk_station,
        AP,
        STA,
        &mut rand::rng(),
        Instant::now(),
        &opts,
    );
    assert!(r.success(), "{who}: {r:?}");
    assert_eq!(r.pmf_ok, Some(true), "{who}");
}

#[test]
fn akm12_against_authd_with_suite_b_192() {
    let dir = TempDir::new("suite-b-authd");
    let pki = p384_pki(dir.path());
    let server = start_authd(dir.path(), &pki);
    for (tls13, version) in [
        (true, rustls::ProtocolVersion::TLSv1_3),
        (false, rustls::ProtocolVersion::TLSv1_2),
    ] {
        let a = authenticate_to(server.port, station(&pki, &pki.alice, tls13))
            .unwrap_or_else(|e| panic!("authentication failed: {e}\n{}", server.log()));
        assert_eq!(a.tls_version, Some(version));
        assert_eq!(a.user_name.as_deref(), Some("alice"));
        akm12(&a, &format!("authd {version:?}"));
    }
    // A P-256 client key cannot sign with ECDSA P-384/SHA-384: refused.
    let refused = authenticate_to(server.port, station(&pki, &pki.p256, true));
    assert!(refused.is_err(), "a P-256 client got in");
}

/// FreeRADIUS 3.2 from a private copy of the Debian configuration (as
/// bench/compare.sh makes it); with [`Suites::B192`] its EAP module is
/// restricted to the 192-bit suite and P-384 (`cipher_list`, `ecdh_curve`).
struct FreeRadius {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The TLS suites FreeRADIUS offers.
#[derive(Clone, Copy)]
enum Suites {
    /// The FreeRADIUS default (`cipher_list = "DEFAULT"`, OpenSSL's curves).
    Default,
    /// ECDHE-ECDSA-AES256-GCM-SHA384 on secp384r1 only.
    B192,
}

/// The server certificate, its key and the CA of FreeRADIUS's EAP module
/// (the CA also verifies the client certificates).
struct ServerFiles<'a> {
    cert: &'a Path,
    key: &'a Path,
    ca: &'a Path,
}

fn start_freeradius(dir: &Path, files: &ServerFiles, suites: Suites) -> FreeRadius {
    let binary = common::require_tool("freeradius");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let raddb = dir.join("raddb");
    let port = common::free_udp_port();
    // An accounting port of its own: with 0, FreeRADIUS binds 1813, and
    // two instances (the tests of this file run in parallel) collide.
    let acct_port = loop {
        let p = common::free_udp_port();
        if p != port {
            break p;
        }
    };
    let (restrict, check) = match suites {
        Suites::Default => (String::new(), String::new()),
        Suites::B192 => (
            concat!(
                r#"-e 's|cipher_list = "DEFAULT"|cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384"|' "#,
                r#"-e 's|ecdh_curve = ""|ecdh_curve = "secp384r1"|'"#
            )
            .to_owned(),
            format!(
                r#"grep -q 'ecdh_curve = "secp384r1"' "{}/mods-available/eap""#,
                raddb.display()
            ),
        ),
    };
    let sh = format!(
        r#"set -e
cp -a /etc/freeradius/3.0 "{raddb}"
mkdir -p "{dir}/fr-log" "{dir}/fr-run" "{dir}/fr-cache"
sed -i -e "s|^raddbdir = .*|raddbdir = {raddb}|" -e "s|^logdir = .*|logdir = {dir}/fr-log|" \
    -e "s|^run_dir = .*|run_dir = {dir}/fr-run|" \
    -e 's/^\([[:space:]]*\)\(user\|group\) = freerad/\1# \2 = freerad/' \
    -e 's|^proxy_requests  *= yes|proxy_requests = no|' "{raddb}/radiusd.conf"
rm -f "{raddb}"/sites-enabled/* "{raddb}"/mods-enabled/*
for m in eap pap files; do ln -s "../mods-available/$m" "{raddb}/mods-enabled/$m"; done
sed -e "s|@AUTH_PORT@|{port}|" -e "s|@ACCT_PORT@|{acct_port}|" "{repo}/bench/freeradius/site" >"{raddb}/sites-enabled/bench"
sed -e "s|@SECRET@|{secret}|" "{repo}/bench/freeradius/clients.conf" >"{raddb}/clients.conf"
: >"{raddb}/mods-config/files/authorize"
sed -e "s|@KEY@|{key}|" -e "s|@CERT@|{cert}|" -e "s|@CA@|{ca}|" -e "s|@CA_PATH@|{ca_dir}|" \
    -e "s|@TLS_MIN@|1.2|" -e "s|@TLS_MAX@|1.3|" -e "s|@CACHE@|no|" -e "s|@FRAGMENT@|1398|" \
    -e "s|@PERSIST_DIR@|{dir}/fr-cache|" -e "s|@DEFAULT_EAP@|tls|" {restrict} \
    "{repo}/bench/freeradius/eap" >"{raddb}/mods-available/eap"
{check}
if grep -hv '^[[:space:]]*#' "{raddb}/mods-available/eap" "{raddb}/sites-enabled/bench" \
    | grep '@[A-Z_]*@'; then exit 1; fi
"#,
        raddb = raddb.display(),
        dir = dir.display(),
        repo = repo.display(),
        secret = common::SECRET,
        key = files.key.display(),
        cert = files.cert.display(),
        ca = files.ca.display(),
        ca_dir = files.ca.parent().unwrap().display(),
    );
    let out = Command::new("bash").args(["-c", &sh]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = dir.join("freeradius.log");
    let child = Command::new(binary)
        .arg("-f")
        .arg("-d")
        .arg(&raddb)
        .arg("-l")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start freeradius");
    let fr = FreeRadius { child, port, log };
    // Ready once its log says so.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&fr.log).unwrap_or_default();
        if text.contains("Ready to process requests") {
            return fr;
        }
        assert!(
            Instant::now() < deadline,
            "FreeRADIUS did not start:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn akm12_against_freeradius_with_p384_certificates() {
    let dir = TempDir::new("suite-b-freeradius");
    let pki = p384_pki(dir.path());
    let files = ServerFiles {
        cert: &pki.server.0,
        key: &pki.server.1,
        ca: &pki.ca,
    };
    let fr = start_freeradius(dir.path(), &files, Suites::B192);
    for (tls13, version) in [
        (true, rustls::ProtocolVersion::TLSv1_3),
        (false, rustls::ProtocolVersion::TLSv1_2),
    ] {
        let a = authenticate_to(fr.port, station(&pki, &pki.alice, tls13)).unwrap_or_else(|e| {
            panic!(
                "authentication failed: {e}\n{}",
                std::fs::read_to_string(&fr.log).unwrap_or_default()
            )
        });
        assert_eq!(a.tls_version, Some(version));
        akm12(&a, &format!("FreeRADIUS {version:?}"));
        // The same MSK through FreeRADIUS makes the FT key hierarchy:
        // AKM 3 and 13, initial association through AP1, roam to AP2; with
        // PMF required AP2's IGTK crosses in the FTE and its BIP-protected
        // deauthentication is accepted, the forged ones refused.
        for (akm, pmf) in [
            (Akm::FtIeee8021x, Pmf::Disabled),
            (Akm::FtIeee8021xSha384, Pmf::Disabled),
            (Akm::FtIeee8021x, Pmf::Required),
            (Akm::FtIeee8021xSha384, Pmf::Required),
        ] {
            let opts = SimOptions {
                akm,
                pmf,
                ..SimOptions::default()
            };
            let (first, roam) = fourway_sim::roam::associate(
                &a.pmk_ap,
                &a.pmk_station,
                AP,
                STA,
                &mut rand::rng(),
                Instant::now(),
                &opts,
            )
            .unwrap();
            assert!(first.success(), "FreeRADIUS {akm}: {:?}", first.error);
            let roam = roam.expect("an FT AKM roams");
            assert!(roam.success(), "FreeRADIUS {akm} {pmf:?}: {roam:?}");
            let want = (pmf == Pmf::Required).then_some(true);
            assert_eq!(roam.pmf_ok, want, "FreeRADIUS {akm} {pmf:?}");
            assert_eq!(first.pmf_ok, want, "FreeRADIUS {akm} {pmf:?}");
        }
    }
}

/// `fourway-sim run` (EAP-TLS) against FreeRADIUS with `extra` flags: exit
/// status and the lines it printed.
fn sim_run(fr: &FreeRadius, pki: &TestPki, creds: &Creds, extra: &[&str]) -> (bool, String) {
    let out = Command::new(fourway_sim_binary())
        .arg("run")
        .arg("--server")
        .arg(format!("127.0.0.1:{}", fr.port))
        .args(["--secret", common::SECRET, "--identity", &creds.name])
        .arg("--cert")
        .arg(&creds.cert)
        .arg("--key")
        .arg(&creds.key)
        .arg("--ca")
        .arg(&pki.ca_cert)
        .args(extra)
        .output()
        .expect("run fourway-sim");
    let text = format!(
        "fourway-sim run {}:\n{}{}\nFreeRADIUS log:\n{}",
        extra.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&fr.log).unwrap_or_default()
    );
    (out.status.success(), text)
}

/// The value of `key=` in a report line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// The handshakes and data frames of one report line succeeded: both sides
/// started from the same PMK and installed the same PTK and GTK.
fn assert_keys_agree(line: &str, ctx: &str) {
    for (key, want) in [
        ("pmk", "match"),
        ("ptk", "installed"),
        ("gtk", "installed"),
        ("ccmp", "ok"),
    ] {
        assert_eq!(field(line, key), Some(want), "{key} in {ctx}");
    }
    assert!(!line.contains("error="), "{ctx}");
}

// The WPA2 and WPA3-Enterprise AKMs through FreeRADIUS 3.2 with ECDSA P-256
// certificates (its default suites): `fourway-sim run` authenticates with
// EAP-TLS, the AP takes the PMK from FreeRADIUS's MS-MPPE-Recv-Key, the
// station from its own MSK.
#[test]
fn akm1_and_akm5_through_fourway_sim_run_against_freeradius() {
    let dir = TempDir::new("fourway-sim-freeradius");
    let pki = TestPki::create(dir.path());
    let files = ServerFiles {
        cert: &pki.server.cert,
        key: &pki.server.key,
        ca: &pki.ca_cert,
    };
    let fr = start_freeradius(dir.path(), &files, Suites::Default);
    let station_line = |text: &str| -> String {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("station 1 "))
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        lines[0].to_owned()
    };

    // AKM 1 on TLS 1.2: PTK from the SHA-1 PRF, HMAC-SHA-1 MIC.
    let (ok, text) = sim_run(&fr, &pki, &pki.good, &["--akm", "1", "--tls", "1.2"]);
    assert!(ok, "{text}");
    let line = station_line(&text);
    assert_eq!(field(&line, "tls"), Some("1.2"), "{text}");
    assert_keys_agree(&line, &text);
    assert_eq!(field(&line, "pmf"), None, "{text}");

    // AKM 5 with management frame protection required (MFPC and MFPR): the
    // IGTK in message 3, and a BIP-CMAC-128 deauthentication accepted after
    // an unprotected, a forged and a replayed one were refused.
    let (ok, text) = sim_run(
        &fr,
        &pki,
        &pki.good,
        &["--akm", "5", "--pmf", "required", "--tls", "1.3"],
    );
    assert!(ok, "{text}");
    let line = station_line(&text);
    assert_eq!(field(&line, "tls"), Some("1.3"), "{text}");
    assert_keys_agree(&line, &text);
    assert_eq!(field(&line, "pmf"), Some("ok"), "{text}");

    // AKM 5 with PMKSA caching: the full authentication through FreeRADIUS,
    // then the reassociation naming the PMKID (HMAC-SHA-256 of the PMK
    // FreeRADIUS delivered), handshakes on the cached PMKs, no EAP.
    let (ok, text) = sim_run(&fr, &pki, &pki.good, &["--akm", "5", "--pmksa-cache"]);
    assert!(ok, "{text}");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("station 1 "))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let (full, cached) = (lines[0], lines[1]);
    assert_eq!(field(full, "method"), Some("tls"), "{text}");
    assert_ne!(field(full, "round-trips"), Some("0"), "{text}");
    assert_keys_agree(full, &text);
    assert_eq!(field(cached, "pmksa"), Some("cached"), "{text}");
    assert_eq!(field(cached, "round-trips"), Some("0"), "{text}");
    assert_eq!(field(cached, "pmkid").map(str::len), Some(32), "{text}");
    assert_keys_agree(cached, &text);

    // Negative control: a client certificate from a CA FreeRADIUS does not
    // trust gets an Access-Reject and no handshake.
    let (ok, text) = sim_run(&fr, &pki, &pki.untrusted, &["--akm", "5"]);
    assert!(!ok, "{text}");
    let line = station_line(&text);
    assert_eq!(field(&line, "radius"), Some("FAILED"), "{text}");
    assert_eq!(field(&line, "ptk"), Some("-"), "{text}");
    assert!(!line.contains("pmk="), "{text}");
}

/// `fourway-sim run` against the authd at `port` with `creds`, trusting
/// `ca`: its exit status, stdout and stderr.
fn sim_run_authd(port: u16, ca: &Path, creds: (&Path, &Path), extra: &[&str]) -> (i32, String) {
    let out = Command::new(fourway_sim_binary())
        .arg("run")
        .arg("--server")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--secret", common::SECRET, "--identity", "alice"])
        .arg("--cert")
        .arg(creds.0)
        .arg("--key")
        .arg(creds.1)
        .arg("--ca")
        .arg(ca)
        .args(extra)
        .output()
        .expect("run fourway-sim");
    let text = format!(
        "fourway-sim run {}:\n{}{}",
        extra.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    (out.status.code().unwrap_or(-1), text)
}

// `fourway-sim run --akm 12`: the station's TLS is restricted to the 192-bit
// suites on P-384 and PMF is required without being asked for. Against authd
// with `[tls] suite_b_192` it passes on both TLS versions; against an authd
// whose certificates are P-256 the TLS handshake fails and the line says
// what the station offered, while AKM 5 (the classic suites) gets in there.
#[test]
fn fourway_sim_run_akm12_offers_only_the_192_bit_suites() {
    let dir = TempDir::new("suite-b-cli");
    let pki = p384_pki(dir.path());
    let server = start_authd(dir.path(), &pki);
    let alice = (pki.alice.0.as_path(), pki.alice.1.as_path());
    for tls in ["1.3", "1.2"] {
        let (code, text) =
            sim_run_authd(server.port, &pki.ca, alice, &["--akm", "12", "--tls", tls]);
        assert_eq!(code, 0, "{text}\n{}", server.log());
        let line = text.lines().find(|l| l.starts_with("station 1 ")).unwrap();
        assert_eq!(field(line, "tls"), Some(tls), "{text}");
        assert_keys_agree(line, &text);
        // PMF required although --pmf was not given: the BIP-GMAC-256
        // deauthentication was accepted and the forged ones refused.
        assert_eq!(field(line, "pmf"), Some("ok"), "{text}");
    }
    // PMKSA caching: the PMKID is keyed with the full handshake's KCK
    // (HMAC-SHA-384); the cached association runs without RADIUS.
    let (code, text) = sim_run_authd(
        server.port,
        &pki.ca,
        alice,
        &["--akm", "12", "--pmksa-cache"],
    );
    assert_eq!(code, 0, "{text}\n{}", server.log());
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("station 1 "))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(field(lines[1], "pmksa"), Some("cached"), "{text}");
    assert_eq!(field(lines[1], "round-trips"), Some("0"), "{text}");
    assert_eq!(field(lines[1], "pmkid").map(str::len), Some(32), "{text}");
    assert_eq!(field(lines[1], "pmf"), Some("ok"), "{text}");
    assert_keys_agree(lines[1], &text);
    // --pmf optional contradicts AKM 12: refused before any packet, saying why.
    let (code, text) = sim_run_authd(
        server.port,
        &pki.ca,
        alice,
        &["--akm", "12", "--pmf", "optional"],
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("requires protected management frames (MFPR = 1"),
        "{text}"
    );
    assert!(!text.contains("station 1 "), "{text}");

    // A server with P-256 certificates (authd's default suites).
    let dir256 = TempDir::new("suite-b-cli-p256");
    let pki256 = TestPki::create(dir256.path());
    let p256 = Server::start(dir256.path(), &pki256);
    let good = (pki256.good.cert.as_path(), pki256.good.key.as_path());
    let (code, text) = sim_run_authd(p256.port, &pki256.ca_cert, good, &["--akm", "12"]);
    assert_eq!(code, 1, "{text}");
    let line = text.lines().find(|l| l.starts_with("station 1 ")).unwrap();
    assert_eq!(field(line, "radius"), Some("FAILED"), "{text}");
    assert_eq!(field(line, "ptk"), Some("-"), "{text}");
    assert!(
        line.contains("offers only TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
        "{text}"
    );
    // Positive control: the same server, station and certificate with the
    // classic suites (AKM 5) authenticate.
    let (code, text) = sim_run_authd(p256.port, &pki256.ca_cert, good, &["--akm", "5"]);
    assert_eq!(code, 0, "{text}\n{}", p256.log());
}
