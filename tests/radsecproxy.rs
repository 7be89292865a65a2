//! RADIUS over TLS (RFC 6614) with a real peer: radsecproxy listens on UDP
//! on loopback and forwards over TLS to authd's `[listen] radsec`, with its
//! own client certificate from the test PKI. eapol_test goes through it
//! with EAP-TLS and PEAP-MSCHAPv2, and `MPPE keys OK` proves the keys
//! survived both hops (RFC 2548 hiding recomputed by radsecproxy with the
//! "radsec" secret, RFC 6614 §2.3). radsecproxy's Status-Server watchdog
//! (`StatusServer on`) is answered. A client certificate from a CA authd
//! does not trust, and a trusted one that names no `[[client]]`, get
//! nowhere, and authd's log says why.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::radsec::{PROXY_PASSWORD, PROXY_USER, RadsecServer};
use common::{Creds, SECRET, TlsChoice, run_eapol_test, write_eapol_conf};

/// The name in the proxy's certificate that its `[[client]]` expects.
const PROXY_NAME: &str = "proxy.test";
const OPEN: &str = "RadSec connection open";

/// A radsecproxy started for one test, stopped when dropped.
struct RadsecProxy {
    child: Child,
    udp_port: u16,
    log: Arc<Mutex<String>>,
}

impl RadsecProxy {
    /// radsecproxy on UDP 127.0.0.1 (a free port, secret `SECRET`),
    /// forwarding every realm over TLS to `authd_port` with `creds`,
    /// checking authd's certificate against `ca`.
    fn start(dir: &Path, label: &str, creds: &Creds, ca: &Path, authd_port: u16) -> RadsecProxy {
        // A port found free can be taken by another test before radsecproxy
        // binds it: then it says so, and it is tried again on another.
        for _ in 0..3 {
            if let Some(proxy) = Self::try_start(dir, label, creds, ca, authd_port) {
                return proxy;
            }
        }
        panic!("radsecproxy could not bind a UDP port in 3 tries");
    }

    /// One attempt: None when radsecproxy found its port taken.
    fn try_start(
        dir: &Path,
        label: &str,
        creds: &Creds,
        ca: &Path,
        authd_port: u16,
    ) -> Option<RadsecProxy> {
        let bin = common::require_tool("radsecproxy");
        let udp_port = common::free_udp_port();
        let conf = dir.join(format!("radsecproxy-{label}.conf"));
        fs::write(
            &conf,
            format!(
                "ListenUDP 127.0.0.1:{udp_port}\n\
                 LogLevel 5\n\
                 tls default {{\n\
                 \tCACertificateFile {ca}\n\
                 \tCertificateFile {cert}\n\
                 \tCertificateKeyFile {key}\n\
                 }}\n\
                 client 127.0.0.1 {{\n\
                 \ttype udp\n\
                 \tsecret {SECRET}\n\
                 }}\n\
                 server authd {{\n\
                 \thost 127.0.0.1\n\
                 \tport {authd_port}\n\
                 \ttype tls\n\
                 \tsecret radsec\n\
                 \tStatusServer on\n\
                 \tCertificateNameCheck off\n\
                 }}\n\
                 realm * {{\n\
                 \tserver authd\n\
                 }}\n",
                ca = ca.display(),
                cert = creds.cert.display(),
                key = creds.key.display(),
            ),
        )
        .unwrap();
        let mut child = Command::new(bin)
            .arg("-f")
            .args(["-d", "5"])
            .arg("-c")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join(format!("radsecproxy-{label}.pid")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn radsecproxy");
        let log = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let proxy = RadsecProxy {
            child,
            udp_port,
            log,
        };
        // Listening once the UDP socket is bound (read from /proc, not by
        // binding the port ourselves, which would race with it).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !common::udp_bound_on_loopback(udp_port) {
            if proxy.log().contains("bind failed") {
                return None;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "radsecproxy did not bind UDP {udp_port}:\n{}",
                proxy.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(proxy)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for RadsecProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// authd with a SQLite store holding [`PROXY_USER`] and the
/// PKI's good EAP-TLS user, and a RadSec `[[client]]` "proxy" whose
/// certificate ([`RadsecServer::nas`]) names [`PROXY_NAME`].
fn setup(name: &str) -> RadsecServer {
    common::require_tool("radsecproxy");
    common::require_tool("eapol_test");
    RadsecServer::builder(name)
        .client("proxy", PROXY_NAME)
        .user(PROXY_USER, Some(PROXY_PASSWORD))
        // EAP-TLS users must be in the store too.
        .eap_tls_user()
        .start()
}

fn eap_tls_conf(f: &RadsecServer, label: &str, tls: TlsChoice) -> PathBuf {
    write_eapol_conf(f.dir.path(), label, &f.pki.good, &f.pki.ca_cert, tls)
}

#[test]
fn eap_tls_and_peap_through_radsecproxy_and_status_server() {
    let f = setup("radsecproxy-ok");
    let proxy = RadsecProxy::start(f.dir.path(), "ok", &f.nas, &f.pki.ca_cert, f.radsec);
    let report = |what: &str, output: &str| {
        format!(
            "{what} through radsecproxy:\n{output}\n----- radsecproxy -----\n{}\n----- authd -----\n{}",
            proxy.log(),
            f.server.log()
        )
    };
    f.assert_accepted_through(proxy.udp_port, report);
    // The requests came over TLS, from the certificate-named client. The
    // last accept line may reach the log after eapol_test has finished.
    f.server.expect_log("Access-Accept client=proxy");
    let log = f.server.log();
    assert!(log.contains(OPEN), "{log}");
    assert!(log.contains("client=proxy"), "{log}");
    // A wrong password through the same path is refused: the positive
    // results above are not the proxy answering by itself.
    f.assert_wrong_password_rejected_through(proxy.udp_port, report);
    // radsecproxy's watchdog: Status-Server over the connection, answered.
    assert!(
        f.server
            .wait_for_log("Status-Server answered", Duration::from_secs(60)),
        "no Status-Server from radsecproxy answered:\n----- radsecproxy -----\n{}\n----- authd -----\n{}",
        proxy.log(),
        f.server.log()
    );
}

/// Runs EAP-TLS through a proxy with `creds` and returns authd's log once
/// it holds `needle`.
fn refused(f: &RadsecServer, label: &str, creds: &Creds, needle: &str) -> String {
    let proxy = RadsecProxy::start(f.dir.path(), label, creds, &f.pki.ca_cert, f.radsec);
    let conf = eap_tls_conf(f, label, TlsChoice::Only13);
    let run = run_eapol_test(&conf, proxy.udp_port, &["-t5"]);
    assert!(
        !run.contains("MPPE keys OK: 1"),
        "{label}: authenticated through a refused proxy:\n{}",
        run.output
    );
    assert!(
        f.server.wait_for_log(needle, common::LOG_WAIT),
        "{label}: authd did not log `{needle}`:\n----- radsecproxy -----\n{}\n----- authd -----\n{}",
        proxy.log(),
        f.server.log()
    );
    f.server.log()
}

#[test]
fn untrusted_and_unknown_client_certificates_are_refused() {
    let f = setup("radsecproxy-refused");
    let log = refused(
        &f,
        "untrusted",
        &f.pki.untrusted,
        "RadSec connection refused: TLS handshake failed",
    );
    let line = log
        .lines()
        .find(|l| l.contains("TLS handshake failed"))
        .unwrap();
    assert!(line.contains("UnknownIssuer"), "{line}");
    assert!(!log.contains(OPEN), "{log}");

    // Trusted, but names no client.
    let stranger = f.issue_client_cert("stranger.test");
    let log = refused(&f, "stranger", &stranger, "match no [[client]]");
    let line = log
        .lines()
        .find(|l| l.contains("match no [[client]]"))
        .unwrap();
    assert!(line.contains("stranger.test"), "{line}");
    assert!(!log.contains(OPEN), "{log}");

    // Positive control: the proxy's own certificate gets through.
    let proxy = RadsecProxy::start(f.dir.path(), "control", &f.nas, &f.pki.ca_cert, f.radsec);
    let conf = eap_tls_conf(&f, "control", TlsChoice::Only13);
    let run = run_eapol_test(&conf, proxy.udp_port, &[]);
    assert!(
        run.success() && run.contains("MPPE keys OK: 1  mismatch: 0"),
        "{}\n----- authd -----\n{}",
        run.output,
        f.server.log()
    );
}
