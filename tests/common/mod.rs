//! Shared pieces of the end-to-end tests: a temporary directory, a PKI with
//! good and bad client certificates, the `authd` binary on a free loopback
//! port; eapol.rs: runners for `eapol_test`.
//!
//! Every helper fails loudly: a missing tool is a test failure, not a skip,
//! so CI cannot pass by not testing.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

mod eapol;
pub mod radius;
pub mod radsec;
pub mod wired;

pub use eapol::*;

use authd::config::{ClientConfig, Config, DatabaseConfig, Secret, TlsConfig};
use authd::pki::{CertificateAuthority, KeyKind, RevocationReason};

/// The shared secret of the loopback RADIUS client.
pub const SECRET: &str = "testing123";

const DAY: Duration = Duration::from_secs(86_400);

/// How long a test waits for a line in a server's log: the log is read by
/// other threads (or from a file), so a line the server wrote before it
/// answered may show up a moment after the answer.
pub const LOG_WAIT: Duration = Duration::from_secs(10);

/// Waits until `read()` holds `needle` at least `count` times, at most
/// `limit`; returns whether it did.
pub fn wait_for_text(
    read: impl Fn() -> String,
    needle: &str,
    count: usize,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if read().matches(needle).count() >= count {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A directory removed on drop (kept when `AUTHD_KEEP_TMP` is set, to
/// inspect a failure).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let mut r = [0u8; 6];
        rand::fill(&mut r[..]);
        let path = std::env::temp_dir().join(format!(
            "authd-e2e-{name}-{}-{}",
            std::process::id(),
            hex::encode(r)
        ));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("AUTHD_KEEP_TMP").is_some() {
            eprintln!("keeping {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A certificate and key on disk.
#[derive(Debug, Clone)]
pub struct Creds {
    /// The user name (certificate CN).
    pub name: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The test PKI: one trusted CA and credentials that must and must not get in.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The trusted CA certificate (also what peers use to check the server).
    pub ca_cert: PathBuf,
    pub server: Creds,
    /// Valid, trusted, not revoked (ECDSA).
    pub good: Creds,
    /// Valid and trusted, RSA-2048 key.
    pub good_rsa: Creds,
    /// Issued by a CA the server does not trust.
    pub untrusted: Creds,
    /// Listed in `crl`.
    pub revoked: Creds,
    /// `not_after` in the past.
    pub expired: Creds,
    /// CRL revoking `revoked`, passed with `crl = [...]`.
    pub crl: PathBuf,
}

fn write_issued(dir: &Path, name: &str, issued: &authd::pki::Issued) -> Creds {
    let creds = Creds {
        name: name.to_owned(),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
    };
    issued
        .write(&creds.cert, &creds.key)
        .expect("write credentials");
    creds
}

impl TestPki {
    pub fn create(dir: &Path) -> TestPki {
        let dir = dir.join("pki");
        fs::create_dir_all(&dir).unwrap();
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);

        let ca = CertificateAuthority::generate("authd test CA", 2).unwrap();
        let ca_cert = dir.join("ca.pem");
        ca.save(&ca_cert, &dir.join("ca.key")).unwrap();
        let server = ca
            .issue_server("authd", &["authd.local".into(), "localhost".into()], 2)
            .unwrap();
        let server = write_issued(&dir, "server", &server);

        let issue = |name: &str, kind: KeyKind, from: SystemTime, to: SystemTime| {
            ca.issue_client(name, kind, from, to).unwrap()
        };
        let good = write_issued(
            &dir,
            "alice",
            &issue("alice", KeyKind::EcdsaP256, now - hour, now + DAY),
        );
        let good_rsa = write_issued(
            &dir,
            "rsa-user",
            &issue("rsa-user", KeyKind::Rsa2048, now - hour, now + DAY),
        );
        let revoked_issued = issue("mallory", KeyKind::EcdsaP256, now - hour, now + DAY);
        let revoked = write_issued(&dir, "mallory", &revoked_issued);
        let expired = write_issued(
            &dir,
            "oldtimer",
            &issue("oldtimer", KeyKind::EcdsaP256, now - DAY * 30, now - DAY),
        );

        let other = CertificateAuthority::generate("someone else's CA", 2).unwrap();
        let untrusted = write_issued(
            &dir,
            "eve",
            &other
                .issue_client("eve", KeyKind::EcdsaP256, now - hour, now + DAY)
                .unwrap(),
        );

        let crl_pem = ca
            .crl(
                &[(
                    revoked_issued.serial.clone(),
                    now - hour,
                    Some(RevocationReason::KeyCompromise),
                )],
                now - hour,
                now + DAY,
                1,
            )
            .unwrap();
        let crl = dir.join("revoked.crl");
        fs::write(&crl, crl_pem).unwrap();

        TestPki {
            ca_cert,
            server,
            good,
            good_rsa,
            untrusted,
            revoked,
            expired,
            crl,
        }
    }
}

/// A UDP port that was free a moment ago on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    s.local_addr().unwrap().port()
}

/// Whether some process has a UDP socket bound to 127.0.0.1:`port`, read
/// from /proc/net/udp. Probing with a bind of our own instead would hold
/// the port for an instant, and a server binding it at that instant fails.
pub fn udp_bound_on_loopback(port: u16) -> bool {
    let wanted = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/udp")
        .map(|table| {
            table
                .lines()
                .skip(1)
                .any(|line| line.split_whitespace().nth(1) == Some(wanted.as_str()))
        })
        .unwrap_or(false)
}

/// Writes the daemon's configuration for the test PKI.
pub fn write_config(dir: &Path, pki: &TestPki, port: u16) -> PathBuf {
    let mut tls = TlsConfig::new(&pki.server.cert, &pki.server.key, &pki.ca_cert);
    tls.crl = vec![pki.crl.clone()];
    let mut config = Config::new(tls);
    config.listen.auth = format!("127.0.0.1:{port}").parse().unwrap();
    config.clients.push(ClientConfig {
        name: "loopback".into(),
        address: "127.0.0.1/32".parse().unwrap(),
        secret: Secret::new(SECRET).unwrap(),
        certificate_name: None,
        require_message_authenticator: true,
        limit_proxy_state: true,
        das_port: 3799,
    });
    config.log.level = "debug".into();
    let path = dir.join("authd.toml");
    fs::write(&path, config.to_toml()).unwrap();
    // The daemon must read back exactly what was meant.
    Config::load(&path).expect("generated config parses");
    path
}

/// Writes the daemon's configuration as [`write_config`] does, with a
/// SQLite store `authd.db` in `dir` and the credential key
/// `credential.key` beside the file (relative to it, so the server and the
/// admin CLI given `--config` find the same key), then `edit` applied.
pub fn write_store_config(
    dir: &Path,
    pki: &TestPki,
    port: u16,
    edit: impl FnOnce(&mut Config),
) -> PathBuf {
    let path = write_config(dir, pki, port);
    let mut config = Config::load(&path).unwrap();
    let mut db = DatabaseConfig::new(format!("sqlite://{}/authd.db", dir.display()));
    db.credential_key = Some(PathBuf::from("credential.key"));
    config.database = Some(db);
    edit(&mut config);
    fs::write(&path, config.to_toml()).unwrap();
    Config::load(&path).expect("generated config parses");
    path
}

/// Runs the admin CLI with `--config config`, `stdin` on its standard
/// input (a password line, for example); panics unless it succeeds.
pub fn admin_cli(config: &Path, args: &[&str], stdin: &str) -> String {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.extend([std::ffi::OsStr::new("--config"), config.as_os_str()]);
    authd_cli(&all, stdin)
}

/// Runs `authd` with `args`, `stdin` on its standard input; its standard
/// output, and panics (with its standard error) unless it succeeds.
pub fn authd_cli<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_authd"))
        .args(args)
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

/// The `authd serve` process; killed on drop, its stderr printed if the
/// test is failing.
pub struct Server {
    child: Child,
    pub port: u16,
    pub config: PathBuf,
    log: Arc<Mutex<String>>,
    /// The threads copying stdout and stderr into `log`; they end when
    /// the process has exited and its pipes are drained.
    readers: Vec<thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `authd serve --config FILE` and waits until it logs that it
    /// listens.
    pub fn start(dir: &Path, pki: &TestPki) -> Server {
        Server::start_with(dir, pki, "")
    }

    /// As [`Server::start`], with `extra` TOML appended to the
    /// configuration (for example a `[database]` table).
    pub fn start_with(dir: &Path, pki: &TestPki, extra: &str) -> Server {
        let port = free_udp_port();
        let config = write_config(dir, pki, port);
        if !extra.is_empty() {
            let mut text = fs::read_to_string(&config).unwrap();
            text.push('\n');
            text.push_str(extra);
            fs::write(&config, text).unwrap();
            Config::load(&config).expect("configuration with the extra TOML parses");
        }
        Server::spawn(config, port)
    }

    /// Starts `authd serve --config config` (a file the test wrote, whose
    /// authentication port is `port`) and waits until it is listening.
    pub fn spawn(config: PathBuf, port: u16) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_authd"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn authd");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut readers = Vec::new();
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let log = log.clone();
            let ready_tx = ready_tx.clone();
            readers.push(thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("listening") {
                        let _ = ready_tx.send(());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            }));
        }
        drop(ready_tx);
        let mut server = Server {
            child,
            port,
            config,
            log,
            readers,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match ready_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(()) => break,
                Err(mpsc::RecvTimeoutError::Disconnected)
                | Err(mpsc::RecvTimeoutError::Timeout)
                    if server.child.try_wait().ok().flatten().is_some() =>
                {
                    thread::sleep(Duration::from_millis(200));
                    panic!(
                        "authd exited before listening ({:?}):\n{}",
                        server.child.try_wait(),
                        server.log()
                    );
                }
                Err(_) if Instant::now() > deadline => {
                    panic!(
                        "authd did not log `listening` within 30 s:\n{}",
                        server.log()
                    )
                }
                Err(_) => {}
            }
        }
        server
    }

    /// The server's process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory (VmRSS), bytes.
    pub fn rss(&self) -> usize {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: usize = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kib * 1024
    }

    /// Stops the server with SIGTERM (so that it logs its counters) and
    /// waits for it to exit and for everything it wrote to be in
    /// [`Server::log`]: the process exiting does not mean the threads
    /// reading its pipes have copied the last lines yet.
    pub fn terminate(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        wait_bounded(&mut self.child, Duration::from_secs(10));
        // The pipes close when the process has exited (authd starts no
        // processes that could hold them); bounded all the same.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the server with SIGKILL (no shutdown, no flush) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything the server wrote so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the log holds `needle`, at most `limit`.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> bool {
        self.wait_for_log_count(needle, 1, limit)
    }

    /// Waits until the log holds `needle` at least `count` times.
    pub fn wait_for_log_count(&self, needle: &str, count: usize, limit: Duration) -> bool {
        wait_for_text(|| self.log(), needle, count, limit)
    }

    /// Fails the test, printing the log, unless `needle` shows up in it
    /// within [`LOG_WAIT`].
    #[track_caller]
    pub fn expect_log(&self, needle: &str) {
        assert!(
            self.wait_for_log(needle, LOG_WAIT),
            "no `{needle}` in the server log within {LOG_WAIT:?}:\n{}",
            self.log()
        );
    }

    /// Fails the test unless `later` shows up (a line the server writes
    /// after the one that must not be there: the positive control), and
    /// then unless `absent` is missing.
    #[track_caller]
    pub fn expect_log_without(&self, later: &str, absent: &str) {
        self.expect_log(later);
        let log = self.log();
        assert!(
            !log.contains(absent),
            "`{absent}` in the server log:\n{log}"
        );
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "----- authd log -----\n{}----- end of authd log -----",
                self.log()
            );
        }
    }
}

/// Waits for `child` at most `limit`, killing it after; returns its status
/// (`None` if it had to be killed).
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Fails the test if `tool` is not on PATH.
pub fn require_tool(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{tool}` is not installed: run tests/run.sh, which installs the test tools")
        })
}

/// The `fourway-sim` binary of this build. It belongs to another package,
/// so Cargo does not build it for authd's tests: build it once here (a
/// no-op when it is up to date) into the same target directory and profile
/// as `authd`.
pub fn fourway_sim_binary() -> &'static std::path::Path {
    static BIN: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let authd = std::path::Path::new(env!("CARGO_BIN_EXE_authd"));
        let profile_dir = authd.parent().expect("authd's directory");
        let target_dir = profile_dir.parent().expect("target directory");
        let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
        let mut build = std::process::Command::new(cargo);
        build
            .args(["build", "--quiet", "--offline", "--workspace", "--bin"])
            .arg("fourway-sim")
            .arg("--manifest-path")
            .arg(manifest)
            .arg("--target-dir")
            .arg(target_dir);
        match profile {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let status = build.status().expect("run cargo build for fourway-sim");
        assert!(status.success(), "cargo build of fourway-sim failed");
        let bin = profile_dir.join("fourway-sim");
        assert!(bin.is_file(), "no {}", bin.display());
        bin
    })
}
