//! `fourway-sim load --radsec`: many EAP-TLS stations over a few
//! long-lived RadSec connections (RFC 6614), one per load worker, as a
//! proxy would hold them. Every authentication succeeds, and authd saw as
//! many connections as there are workers, not one per station. The same
//! load with a NAS certificate that names no `[[client]]` gets nothing.

mod common;

use std::process::Command;

use authd::config::Config;
use authd::pki::{CertificateAuthority, KeyKind};
use common::{Creds, Server, TempDir, TestPki};

const OPEN: &str = "RadSec connection open";

struct Fixture {
    _dir: TempDir,
    pki: TestPki,
    server: Server,
    radsec: u16,
    nas: Creds,
}

fn setup(name: &str) -> Fixture {
    let dir = TempDir::new(name);
    let pki = TestPki::create(dir.path());
    let pki_dir = pki.ca_cert.parent().unwrap().to_owned();
    let ca = CertificateAuthority::load(&pki.ca_cert, &pki_dir.join("ca.key")).unwrap();
    let nas = Creds {
        name: "nas.test".into(),
        cert: pki_dir.join("nas.pem"),
        key: pki_dir.join("nas.key"),
    };
    ca.issue_client_for_days("nas.test", KeyKind::EcdsaP256, 1)
        .unwrap()
        .write(&nas.cert, &nas.key)
        .unwrap();
    let port = common::free_udp_port();
    let radsec = common::radsec::free_tcp_port();
    let path = common::write_config(dir.path(), &pki, port);
    let mut config = Config::load(&path).unwrap();
    config.listen.radsec = Some(format!("127.0.0.1:{radsec}").parse().unwrap());
    config.clients.push(common::radsec::radsec_client(
        "nas",
        "127.0.0.1/32",
        "nas.test",
    ));
    std::fs::write(&path, config.to_toml()).unwrap();
    let server = Server::spawn(path, port);
    assert!(
        server.wait_for_log("listening for RADIUS over TLS", common::LOG_WAIT),
        "{}",
        server.log()
    );
    Fixture {
        _dir: dir,
        pki,
        server,
        radsec,
        nas,
    }
}

/// `fourway-sim load --radsec` with `ap`'s certificate: its exit status
/// and its JSON report (or the whole output when it is not JSON).
fn load(
    f: &Fixture,
    ap: &Creds,
    count: u32,
    concurrency: u32,
) -> (bool, serde_json::Value, String) {
    let out = Command::new(common::fourway_sim_binary())
        .arg("load")
        .arg("--radsec")
        .arg(format!("127.0.0.1:{}", f.radsec))
        .arg("--radsec-cert")
        .arg(&ap.cert)
        .arg("--radsec-key")
        .arg(&ap.key)
        .args(["--identity", &f.pki.good.name, "--cert"])
        .arg(&f.pki.good.cert)
        .arg("--key")
        .arg(&f.pki.good.key)
        .arg("--ca")
        .arg(&f.pki.ca_cert)
        .args(["--timeout", "2", "--attempts", "2"])
        .args(["--count", &count.to_string()])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--json", "--quiet"])
        .output()
        .expect("run fourway-sim load");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (out.status.success(), json, text)
}

#[test]
fn many_stations_over_a_few_radsec_connections() {
    let f = setup("radsec-load");
    let (ok, report, text) = load(&f, &f.nas, 24, 3);
    let ctx = format!("{text}\n----- authd -----\n{}", f.server.log());
    assert!(ok, "{ctx}");
    assert_eq!(report["succeeded"], 24, "{ctx}");
    assert_eq!(report["failed"], 0, "{ctx}");
    let log = f.server.log();
    assert_eq!(
        log.matches("Access-Accept client=nas").count(),
        24,
        "every station over RadSec, from the certificate-named client:\n{ctx}"
    );
    // One TLS connection per worker, none per station.
    assert_eq!(log.matches(OPEN).count(), 3, "{ctx}");

    // Negative control: a NAS certificate that names no [[client]].
    let (ok, report, text) = load(&f, &f.pki.good, 4, 2);
    assert!(!ok, "{text}");
    assert_eq!(report["succeeded"], 0, "{text}");
    assert!(
        f.server
            .wait_for_log("match no [[client]]", common::LOG_WAIT),
        "{}",
        f.server.log()
    );
    assert_eq!(f.server.log().matches(OPEN).count(), 3);
}
