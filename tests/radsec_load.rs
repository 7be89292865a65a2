//! `fourway-sim load --radsec`: many EAP-TLS stations over a few
//! long-lived RadSec connections (RFC 6614), one per load worker, as a
//! proxy would hold them. Every authentication succeeds, and authd saw as
//! many connections as there are workers, not one per station. The same
//! load with a NAS certificate that names no `[[client]]` gets nothing.

mod common;

use common::radsec::RadsecServer;
use common::{Creds, LOG_WAIT};

const OPEN: &str = "RadSec connection open";

/// `fourway-sim load --radsec` with `ap`'s certificate: its exit status
/// and its JSON report (or the whole output when it is not JSON).
fn load(
    f: &RadsecServer,
    ap: &Creds,
    count: u32,
    concurrency: u32,
) -> (bool, serde_json::Value, String) {
    let out = f
        .fourway_sim("load", ap)
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
    let f = RadsecServer::builder("radsec-load").start();
    let (ok, report, text) = load(&f, &f.nas, 24, 3);
    let ctx = format!("{text}\n----- authd -----\n{}", f.server.log());
    assert!(ok, "{ctx}");
    assert_eq!(report["succeeded"], 24, "{ctx}");
    assert_eq!(report["failed"], 0, "{ctx}");
    // The last lines may reach the log after the last answer reached the
    // load tool: wait for 24, then check that there are exactly 24.
    f.server
        .wait_for_log_count("Access-Accept client=nas", 24, LOG_WAIT);
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
    f.server.expect_log("match no [[client]]");
    assert_eq!(f.server.log().matches(OPEN).count(), 3);
}
