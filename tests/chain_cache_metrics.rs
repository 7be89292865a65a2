//! The chain verification cache as `/metrics` shows it, on a running
//! `authd serve` with eapol_test as the station: every counter at zero
//! before traffic; one EAP-TLS authentication is a miss (verified, then
//! cached), a second with the same certificate a hit; an untrusted
//! certificate is refused (and not cached); a SIGHUP reload starts an
//! empty table (entries fall to 0) while the counters keep counting, and
//! the next authentication is verified afresh by the new verifier. The
//! RadSec listener's verifier counts under its own label.

mod common;
#[path = "common/prom.rs"]
mod prom;
#[path = "common/scrape.rs"]
mod scrape;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::radsec::{NAS_NAME, RadsecServer};
use common::{LOG_WAIT, Server, TempDir, TestPki, TlsChoice, run_eapol_test, write_eapol_conf};
use prom::value;
use scrape::{metrics_addr, scrape};

/// (hit, miss, refused, entries) of `listener`.
fn cache(addr: SocketAddr, listener: &str) -> [Option<f64>; 4] {
    let (_, s) = scrape(addr);
    let lookups = |result| {
        value(
            &s,
            "authd_tls_chain_cache_lookups_total",
            &[("listener", listener), ("result", result)],
        )
    };
    [
        lookups("hit"),
        lookups("miss"),
        lookups("refused"),
        value(
            &s,
            "authd_tls_chain_cache_entries",
            &[("listener", listener)],
        ),
    ]
}

fn counts(hit: f64, miss: f64, refused: f64, entries: f64) -> [Option<f64>; 4] {
    [Some(hit), Some(miss), Some(refused), Some(entries)]
}

fn authenticate(dir: &TempDir, pki: &TestPki, server: &Server, who: &common::Creds, ok: bool) {
    let conf = write_eapol_conf(dir.path(), &who.name, who, &pki.ca_cert, TlsChoice::Only13);
    let run = run_eapol_test(&conf, server.port, &[]);
    assert_eq!(
        run.success(),
        ok,
        "{} expected success={ok}\n{}\n----- authd -----\n{}",
        who.name,
        run.output,
        server.log()
    );
    if ok {
        assert!(
            run.contains("MPPE keys OK: 1  mismatch: 0"),
            "{}",
            run.output
        );
    }
}

/// Sends SIGHUP and waits for the reload's log line `done`.
fn reload(server: &Server, done: &str) {
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    server.expect_log(done);
}

#[test]
fn hits_misses_and_refusals_counted_and_kept_across_a_reload() {
    let dir = TempDir::new("chain-cache-metrics");
    let pki = TestPki::create(dir.path());
    let mut server = Server::start_with(dir.path(), &pki, "[metrics]\nlisten = \"127.0.0.1:0\"\n");
    let addr = metrics_addr(&server);

    // Before any traffic: both listeners' families, at zero (RadSec is
    // not configured here, and stays at zero throughout).
    assert_eq!(cache(addr, "eap"), counts(0.0, 0.0, 0.0, 0.0));
    assert_eq!(cache(addr, "radsec"), counts(0.0, 0.0, 0.0, 0.0));

    // The first authentication verifies the chain and caches it.
    authenticate(&dir, &pki, &server, &pki.good, true);
    assert_eq!(cache(addr, "eap"), counts(0.0, 1.0, 0.0, 1.0));

    // The same certificate again (a new eapol_test process, so a full
    // handshake, not a resumption): answered from the cache.
    authenticate(&dir, &pki, &server, &pki.good, true);
    assert_eq!(cache(addr, "eap"), counts(1.0, 1.0, 0.0, 1.0));

    // A chain from a CA authd does not trust: refused, never cached.
    authenticate(&dir, &pki, &server, &pki.untrusted, false);
    assert_eq!(cache(addr, "eap"), counts(1.0, 1.0, 1.0, 1.0));

    // SIGHUP: a new verifier with an empty table; the lookups kept.
    reload(&server, "SIGHUP: configuration reloaded");
    assert_eq!(cache(addr, "eap"), counts(1.0, 1.0, 1.0, 0.0));

    // The new verifier verifies the chain again (another generation) and
    // counts into the same counters; then answers it from its own table.
    authenticate(&dir, &pki, &server, &pki.good, true);
    assert_eq!(cache(addr, "eap"), counts(1.0, 2.0, 1.0, 1.0));
    authenticate(&dir, &pki, &server, &pki.good, true);
    assert_eq!(cache(addr, "eap"), counts(2.0, 2.0, 1.0, 1.0));
    assert_eq!(cache(addr, "radsec"), counts(0.0, 0.0, 0.0, 0.0));
    server.terminate();
}

/// [`cache`] until it reads `want` (the server verifies a TLS 1.3 client
/// certificate after the client's handshake is done), or 10 s passed.
fn cache_until(addr: SocketAddr, listener: &str, want: [Option<f64>; 4]) -> [Option<f64>; 4] {
    let deadline = Instant::now() + LOG_WAIT;
    loop {
        let got = cache(addr, listener);
        if got == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn radsec_client_certificates_count_under_their_own_label() {
    let mut f = RadsecServer::builder("chain-cache-radsec")
        .client("radsec-nas", NAS_NAME)
        .config(|c| c.metrics.listen = Some("127.0.0.1:0".parse().unwrap()))
        .start();
    let addr = metrics_addr(&f.server);
    let (cert, key) = (f.nas.cert.clone(), f.nas.key.clone());
    let connect = |cert: &std::path::Path, key: &std::path::Path| {
        common::radsec::connect_tls(
            &f.pki.ca_cert,
            (cert, key),
            f.radsec,
            Some(&[&rustls::version::TLS13]),
            &[],
        )
    };
    assert_eq!(cache(addr, "radsec"), counts(0.0, 0.0, 0.0, 0.0));

    let first = connect(&cert, &key).expect("first connection");
    assert_eq!(
        cache_until(addr, "radsec", counts(0.0, 1.0, 0.0, 1.0)),
        counts(0.0, 1.0, 0.0, 1.0)
    );
    let second = connect(&cert, &key).expect("second connection");
    assert_eq!(
        cache_until(addr, "radsec", counts(1.0, 1.0, 0.0, 1.0)),
        counts(1.0, 1.0, 0.0, 1.0)
    );
    // A certificate from a CA authd does not trust: refused.
    let _ = connect(&f.pki.untrusted.cert, &f.pki.untrusted.key);
    assert_eq!(
        cache_until(addr, "radsec", counts(1.0, 1.0, 1.0, 1.0)),
        counts(1.0, 1.0, 1.0, 1.0)
    );
    // EAP's counters saw none of it.
    assert_eq!(cache(addr, "eap"), counts(0.0, 0.0, 0.0, 0.0));
    drop((first, second));

    // SIGHUP: the listener's new acceptor counts into the same counters.
    reload(
        &f.server,
        "SIGHUP: RadSec certificates and clients reloaded",
    );
    let _third = connect(&cert, &key).expect("a connection after the reload");
    assert_eq!(
        cache_until(addr, "radsec", counts(1.0, 2.0, 1.0, 1.0)),
        counts(1.0, 2.0, 1.0, 1.0),
        "verified again by the new verifier, the old counts kept"
    );
    f.server.terminate();
}
