//! End-to-end: the real `authd` under floods, with two NAS clients on two
//! loopback addresses (127.0.0.2 floods, 127.0.0.3 serves real stations).
//!
//! * A flood of half-open EAP-TLS conversations from one NAS, many times
//!   the conversation table's size and byte budget: the other NAS's
//!   stations keep authenticating, even one that pauses between round trips
//!   for as long as the flood takes to turn the whole table over twice (an
//!   eviction of the longest-idle conversation regardless of its owner would
//!   take that one), and the server's memory stays bounded.
//! * A flood of wrong PAP passwords: EAP-TLS keeps succeeding while the
//!   flood is shed (dropped from PAP's bounded waiting room) and rejected.
//!
//! The same scenario at 100,000 half-open conversations against the default
//! table: `fourway-sim load --half-open 100000 --bind 127.0.0.2` while
//! `fourway-sim run --bind 127.0.0.3` runs in a loop (README, simulator).

mod common;

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use authd::config::{Config, DatabaseConfig, TlsConfig};
use common::{TempDir, TestPki};
use eap_methods::peer::{PeerConfig, PeerOutcome, PeerSession};
use fourway_sim::ap::{ApSession, NasConfig, RadiusOutcome};
use fourway_sim::load::{HalfOpenOptions, LoadOptions, Mode, run_half_open, run_load};
use fourway_sim::radius_client::{Retransmit, Transport};
use fourway_sim::station::{
    StationTls, TlsChoice, authenticate_on, client_config, default_server_name,
};

const FLOOD_NAS: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
const STATION_NAS: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 3));
const MIB: usize = 1024 * 1024;

/// `authd serve` on a configuration written by the test, with the two
/// NAS clients; stopped with SIGTERM so that it logs its counters.
struct Daemon {
    server: common::Server,
}

impl Daemon {
    fn start(dir: &Path, edit: impl FnOnce(&mut Config)) -> Daemon {
        let pki = TestPki::create(dir);
        let port = common::free_udp_port();
        let mut config = Config::new(TlsConfig::new(
            &pki.server.cert,
            &pki.server.key,
            &pki.ca_cert,
        ));
        config.listen.auth = format!("127.0.0.1:{port}").parse().unwrap();
        edit(&mut config);
        // The clients as TOML (the empty list serialises as `client = []`).
        let mut text = config.to_toml().replace("client = []\n", "");
        for (name, ip) in [("flood-nas", FLOOD_NAS), ("station-nas", STATION_NAS)] {
            text.push_str(&format!(
                "\n[[client]]\nname = \"{name}\"\naddress = \"{ip}/32\"\nsecret = \"{}\"\n",
                common::SECRET
            ));
        }
        let path = dir.join("authd.toml");
        fs::write(&path, text).unwrap();
        Config::load(&path).expect("generated config parses");
        Daemon {
            server: common::Server::spawn(path, port),
        }
    }

    fn server(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.server.port).into()
    }

    fn log(&self) -> String {
        self.server.log()
    }

    /// Resident memory, bytes.
    fn rss(&self) -> usize {
        self.server.rss()
    }

    /// SIGTERM, then the counters it logged on the way out.
    fn stop(&mut self) -> String {
        self.server.terminate();
        thread::sleep(Duration::from_millis(200));
        let log = self.log();
        log.lines()
            .rev()
            .find(|l| l.contains("stopped"))
            .unwrap_or_else(|| panic!("no summary at exit:\n{log}"))
            .to_owned()
    }
}

/// The count after `label=` or `"label": ` in the exit summary.
fn counter(summary: &str, label: &str) -> u64 {
    let Some(at) = summary.find(&format!("\"{label}\"")) else {
        return 0;
    };
    summary[at + label.len() + 2..]
        .trim_start_matches([':', ' '])
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

fn nas() -> NasConfig {
    NasConfig {
        secret: zeroize::Zeroizing::new(common::SECRET.as_bytes().to_vec()),
        nas_identifier: "overload-test".into(),
        framed_mtu: 1400,
        bssid: [0x02, 0, 0, 0, 0, 1],
        ssid: "authd-lab".into(),
        request_key_name: true,
    }
}

fn peer(dir: &Path) -> Arc<PeerConfig> {
    // TestPki::create wrote the files under dir/pki.
    let pki = dir.join("pki");
    let config = client_config(&StationTls {
        cert: &pki.join("alice.pem"),
        key: &pki.join("alice.key"),
        ca: &pki.join("ca.pem"),
        version: Some(TlsChoice::Tls13),
        server_name: None,
        resumption: false,
        verify_signature: true,
    })
    .expect("station TLS config");
    Arc::new(PeerConfig {
        identity: "alice".into(),
        method: eap_methods::peer::PeerMethod::Tls,
        tls: config,
        server_name: default_server_name(None),
        fragment_size: 1386,
        max_tls_message_len: 65536,
    })
}

fn retransmit() -> Retransmit {
    Retransmit {
        timeout: Duration::from_secs(2),
        attempts: 3,
    }
}

/// One EAP-TLS authentication from the station NAS.
async fn station(server: SocketAddr, peer: Arc<PeerConfig>, n: u32) -> Result<(), String> {
    let mut t = Transport::connect_from(server, Some(STATION_NAS), retransmit())
        .await
        .map_err(|e| e.to_string())?;
    let mac = [0x02, 0x03, 0, 0, (n >> 8) as u8, n as u8];
    authenticate_on(&mut t, nas(), mac, peer)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// An EAP-TLS authentication from the station NAS that, before each
/// request after the first, waits until `progress` grew by `gap`: its
/// conversation is then the longest idle in the table.
async fn slow_station(
    server: SocketAddr,
    peer: Arc<PeerConfig>,
    progress: Arc<AtomicU64>,
    gap: u64,
    done: Arc<AtomicBool>,
) -> Result<u32, String> {
    let mut t = Transport::connect_from(server, Some(STATION_NAS), retransmit())
        .await
        .map_err(|e| e.to_string())?;
    let mut peer = PeerSession::new(peer);
    let mut ap = ApSession::new(nas(), [0x02, 0x03, 0xff, 0, 0, 1], 7);
    let mut to_peer: Vec<u8> = vec![1, 1, 0, 5, 1];
    let mut waits = 0;
    loop {
        let response = match peer.handle(&to_peer) {
            PeerOutcome::Response(r) => r,
            other => return Err(format!("peer: {other:?}")),
        };
        if ap.round_trips() > 0 {
            let target = progress.load(Ordering::Relaxed) + gap;
            while progress.load(Ordering::Relaxed) < target && !done.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if progress.load(Ordering::Relaxed) >= target {
                waits += 1;
            }
        }
        let request = ap
            .access_request(&response, rand::random())
            .map_err(|e| e.to_string())?;
        let reply = t
            .exchange(&request, ap.identifier())
            .await
            .map_err(|e| e.to_string())?;
        match ap.handle_response(&reply).map_err(|e| e.to_string())? {
            RadiusOutcome::Challenge(eap) => to_peer = eap,
            RadiusOutcome::Accept(_) => return Ok(waits),
            RadiusOutcome::Reject { reply_message, .. } => {
                return Err(format!(
                    "Access-Reject {reply_message:?} after {waits} waits"
                ));
            }
        }
    }
}

#[test]
fn half_open_flood_from_one_nas_leaves_another_nas_alone() {
    const TABLE: usize = 2_000;
    const BUDGET: usize = 16 * MIB; // about 1,000 conversations at 16 KiB
    const FLOOD: usize = 100_000;
    const CHUNK: usize = 2_000;
    let dir = TempDir::new("overload-sessions");
    let mut daemon = Daemon::start(dir.path(), |c| {
        c.eap.max_sessions = TABLE;
        c.eap.max_sessions_memory = BUDGET;
        c.radius.duplicate_cache_entries = 4096;
    });
    let server = daemon.server();
    let peer = peer(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(station(server, peer.clone(), 0))
        .unwrap_or_else(|e| panic!("warm-up: {e}\n{}", daemon.log()));
    let rss_before = daemon.rss();

    // The flood, in chunks so that its progress can be followed.
    let opened = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let flood = {
        let (opened, done, peer) = (opened.clone(), done.clone(), peer.clone());
        thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let mut failed = 0;
            for _ in 0..FLOOD / CHUNK {
                let r = rt.block_on(run_half_open(HalfOpenOptions {
                    server,
                    bind: Some(FLOOD_NAS),
                    nas: nas(),
                    peer: peer.clone(),
                    sessions: CHUNK,
                    concurrency: 32,
                    hold: Duration::ZERO,
                    retransmit: Retransmit {
                        timeout: Duration::from_secs(1),
                        attempts: 2,
                    },
                    ready_file: None,
                    progress: false,
                }));
                opened.fetch_add(r.reached, Ordering::Relaxed);
                failed += r.failed;
            }
            done.store(true, Ordering::Relaxed);
            failed
        })
    };

    // Meanwhile: a station every second, and one that stays idle while the
    // flood opens twice the table's worth of conversations.
    let slow = rt.spawn(slow_station(
        server,
        peer.clone(),
        opened.clone(),
        2 * TABLE as u64,
        done.clone(),
    ));
    let mut results = Vec::new();
    let mut rss_peak = rss_before;
    let mut n = 1;
    while !done.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        results.push(rt.block_on(station(server, peer.clone(), n)));
        rss_peak = rss_peak.max(daemon.rss());
        n += 1;
        if let Some(rest) = Duration::from_secs(1).checked_sub(t0.elapsed()) {
            thread::sleep(rest);
        }
    }
    let flood_failed = flood.join().unwrap();
    let slow = rt.block_on(slow).unwrap();
    rss_peak = rss_peak.max(daemon.rss());
    let summary = daemon.stop();

    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(results.len() >= 3, "only {} stations ran", results.len());
    assert!(
        failures.is_empty(),
        "{} of {} stations failed: {failures:?}",
        failures.len(),
        results.len()
    );
    let waits = slow.unwrap_or_else(|e| panic!("slow station: {e}"));
    assert!(
        waits >= 2,
        "the slow station waited across {waits} turnovers only"
    );
    // Positive control: the flood filled the table and was evicted, by the
    // byte budget (it binds before the count here).
    let opened = opened.load(Ordering::Relaxed);
    assert!(
        opened as usize >= FLOOD * 9 / 10,
        "{opened} opened, {flood_failed} failed"
    );
    let evicted = counter(&summary, "conversation_evicted_memory");
    assert!(
        evicted as usize >= FLOOD * 8 / 10,
        "{evicted} evicted: {summary}"
    );
    // Memory: the flood would need about 13 KiB x 20,000 = 260 MiB unbounded.
    let grew = rss_peak.saturating_sub(rss_before);
    assert!(
        grew < 3 * BUDGET,
        "RSS grew by {} MiB (budget {} MiB)",
        grew / MIB,
        BUDGET / MIB
    );
    eprintln!(
        "stations {} ok; flood opened {opened}, evicted {evicted}; RSS +{} MiB",
        results.len(),
        grew / MIB
    );
}

#[test]
fn wrong_password_pap_flood_does_not_starve_eap() {
    let dir = TempDir::new("overload-pap");
    let url = format!("sqlite://{}/authd.db", dir.path().display());
    for (args, stdin) in [
        (&["user", "add", "alice"][..], ""),
        (
            &["user", "add", "pat", "--password"][..],
            "correct horse battery\n",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_authd"))
            .args(args)
            .args(["--database", &url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(stdin.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut daemon = Daemon::start(dir.path(), |c| {
        c.database = Some(DatabaseConfig::new(url.clone()));
        c.pap.max_waiting = 8;
        c.pap.max_wait_ms = 1000;
    });
    let server = daemon.server();
    let peer = peer(dir.path());
    let flood = thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run_load(LoadOptions {
            server,
            bind: Some(FLOOD_NAS),
            nas: nas(),
            mode: Mode::Pap {
                user: "pat".into(),
                password: zeroize::Zeroizing::new(b"wrong".to_vec()),
            },
            concurrency: 64,
            duration: Some(Duration::from_secs(10)),
            count: None,
            retransmit: Retransmit {
                timeout: Duration::from_secs(1),
                attempts: 1,
            },
            progress: false,
            radsec: None,
            warmup: 0,
            ready_file: None,
            rate: None,
        }))
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut results = Vec::new();
    let mut n = 0;
    while !flood.is_finished() {
        let t0 = Instant::now();
        results.push(rt.block_on(station(server, peer.clone(), n)));
        n += 1;
        if let Some(rest) = Duration::from_secs(1).checked_sub(t0.elapsed()) {
            thread::sleep(rest);
        }
    }
    let report = flood.join().unwrap();
    let summary = daemon.stop();

    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(results.len() >= 5, "only {} stations ran", results.len());
    assert!(
        failures.is_empty(),
        "{} of {} EAP-TLS stations failed during the PAP flood: {failures:?}",
        failures.len(),
        results.len()
    );
    // Positive control: the flood was real, answered with rejects as far as
    // Argon2id could keep up, and shed beyond.
    assert_eq!(report.succeeded, 0, "{}", report.human());
    let rejected = counter(&summary, "wrong_password");
    let shed = counter(&summary, "pap_queue_full") + counter(&summary, "pap_deadline");
    assert!(rejected > 0, "no wrong_password rejects: {summary}");
    assert!(shed > 0, "nothing shed: {summary}");
    assert!(report.timeouts > 0, "{}", report.human());
    eprintln!(
        "stations {} ok; PAP flood: {} requests, {rejected} rejected, {shed} shed",
        results.len(),
        report.completed
    );
}
