//! FreeRADIUS 3.2 as a RadSec client (RFC 6614): FreeRADIUS listens on UDP
//! on loopback for eapol_test and proxies every request to authd's
//! `[listen] radsec` over TLS, through a `home_server` with `proto = tcp`
//! and a `tls { }` section holding its own client certificate from the
//! test PKI. `MPPE keys OK` from eapol_test proves the keys survived both
//! hops: FreeRADIUS undoes the MS-MPPE hiding with the "radsec" secret
//! (RFC 6614 §2.3) and redoes it with eapol_test's. FreeRADIUS's status
//! checks (`status_check = status-server`, started by marking the home
//! server dead with radmin) reach authd, which keeps serving after them.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::radsec::{PROXY_PASSWORD, PROXY_USER, RadsecServer};
use common::{Creds, TlsChoice, run_eapol_test, write_eapol_conf};

/// The name in FreeRADIUS's client certificate that its `[[client]]`
/// expects.
const PROXY_NAME: &str = "freeradius.test";

/// A FreeRADIUS proxy started for one test, killed when dropped.
struct FreeRadiusProxy {
    child: Child,
    /// Its UDP authentication port (secret `common::SECRET`).
    port: u16,
    /// Its UDP accounting port.
    acct_port: u16,
    log: PathBuf,
    /// radmin's control socket.
    control: PathBuf,
}

impl Drop for FreeRadiusProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FreeRadiusProxy {
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `radmin -e COMMAND` on the control socket: its output.
    fn radmin(&self, command: &str) -> String {
        let out = Command::new(common::require_tool("radmin"))
            .arg("-f")
            .arg(&self.control)
            .args(["-e", command])
            .stdin(Stdio::null())
            .output()
            .expect("run radmin");
        assert!(
            out.status.success(),
            "radmin {command}: {:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// FreeRADIUS from a private copy of the Debian configuration: no
    /// modules, one virtual server that sends every Access-Request and
    /// Accounting-Request to the realm "authd", whose pool holds one TLS
    /// home server, authd's RadSec port.
    fn start(dir: &Path, creds: &Creds, ca: &Path, radsec_port: u16) -> FreeRadiusProxy {
        let binary = common::require_tool("freeradius");
        let raddb = dir.join("raddb");
        let port = common::free_udp_port();
        let acct_port = loop {
            let p = common::free_udp_port();
            if p != port {
                break p;
            }
        };
        let sh = format!(
            r#"set -e
cp -a /etc/freeradius/3.0 "{raddb}"
mkdir -p "{dir}/fr-log" "{dir}/fr-run"
sed -i -e "s|^raddbdir = .*|raddbdir = {raddb}|" -e "s|^logdir = .*|logdir = {dir}/fr-log|" \
    -e "s|^run_dir = .*|run_dir = {dir}/fr-run|" \
    -e 's/^\([[:space:]]*\)\(user\|group\) = freerad/\1# \2 = freerad/' \
    -e 's|^proxy_requests  *= .*|proxy_requests = yes|' "{raddb}/radiusd.conf"
grep -q '^[[:space:]]*\$INCLUDE proxy.conf' "{raddb}/radiusd.conf"
rm -f "{raddb}"/sites-enabled/* "{raddb}"/mods-enabled/*
"#,
            raddb = raddb.display(),
            dir = dir.display(),
        );
        let out = Command::new("bash").args(["-c", &sh]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        fs::write(
            raddb.join("clients.conf"),
            format!(
                "client eapol_test {{\n\
                 \tipaddr = 127.0.0.1\n\
                 \tsecret = {secret}\n\
                 \trequire_message_authenticator = yes\n\
                 }}\n",
                secret = common::SECRET
            ),
        )
        .unwrap();
        // The client side of RadSec in FreeRADIUS 3.2: a home server with
        // `proto = tcp` and a `tls` section (sites-available/tls). One
        // home server of `type = auth+acct`: access and accounting share
        // the connection (RFC 6614 §2.4). Status-Server is FreeRADIUS's
        // watchdog; `check_interval` at its floor (6 s) so that the test
        // sees it.
        fs::write(
            raddb.join("proxy.conf"),
            format!(
                "proxy server {{\n\
                 \tdefault_fallback = no\n\
                 }}\n\
                 home_server authd {{\n\
                 \tipaddr = 127.0.0.1\n\
                 \tport = {radsec_port}\n\
                 \ttype = auth+acct\n\
                 \tproto = tcp\n\
                 \tsecret = radsec\n\
                 \tresponse_window = 10\n\
                 \tzombie_period = 20\n\
                 \tstatus_check = status-server\n\
                 \tcheck_interval = 6\n\
                 \tcheck_timeout = 4\n\
                 \tnum_answers_to_alive = 1\n\
                 \ttls {{\n\
                 \t\tprivate_key_file = {key}\n\
                 \t\tcertificate_file = {cert}\n\
                 \t\tca_file = {ca}\n\
                 \t\tfragment_size = 8192\n\
                 \t}}\n\
                 }}\n\
                 home_server_pool authd {{\n\
                 \ttype = fail-over\n\
                 \thome_server = authd\n\
                 }}\n\
                 realm authd {{\n\
                 \tpool = authd\n\
                 \tnostrip\n\
                 }}\n",
                key = creds.key.display(),
                cert = creds.cert.display(),
                ca = ca.display(),
            ),
        )
        .unwrap();
        fs::write(
            raddb.join("sites-enabled/proxy"),
            format!(
                "server proxy {{\n\
                 \tlisten {{\n\
                 \t\ttype = auth\n\
                 \t\tipaddr = 127.0.0.1\n\
                 \t\tport = {port}\n\
                 \t}}\n\
                 \tlisten {{\n\
                 \t\ttype = acct\n\
                 \t\tipaddr = 127.0.0.1\n\
                 \t\tport = {acct_port}\n\
                 \t}}\n\
                 \tauthorize {{\n\
                 \t\tupdate control {{\n\
                 \t\t\t&Proxy-To-Realm := \"authd\"\n\
                 \t\t}}\n\
                 \t}}\n\
                 \tauthenticate {{\n\
                 \t}}\n\
                 \tpreacct {{\n\
                 \t\tupdate control {{\n\
                 \t\t\t&Proxy-To-Realm := \"authd\"\n\
                 \t\t}}\n\
                 \t}}\n\
                 \taccounting {{\n\
                 \t}}\n\
                 }}\n"
            ),
        )
        .unwrap();
        // radmin's socket: the test marks the home server dead through it,
        // which starts FreeRADIUS's status checks.
        fs::write(
            raddb.join("sites-enabled/control"),
            format!(
                "listen {{\n\
                 \ttype = control\n\
                 \tsocket = {}\n\
                 \tmode = rw\n\
                 }}\n",
                dir.join("fr-run/control.sock").display()
            ),
        )
        .unwrap();
        let log = dir.join("freeradius.log");
        let child = Command::new(binary)
            .args(["-f", "-xx", "-d"])
            .arg(&raddb)
            .arg("-l")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start freeradius");
        let fr = FreeRadiusProxy {
            child,
            port,
            acct_port,
            log,
            control: dir.join("fr-run/control.sock"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = fr.log();
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
}

/// authd with a SQLite store holding [`PROXY_USER`] and the
/// PKI's good EAP-TLS user, and a RadSec `[[client]]` "freeradius" whose
/// certificate ([`RadsecServer::nas`]) names [`PROXY_NAME`].
fn setup(name: &str) -> RadsecServer {
    common::require_tool("freeradius");
    common::require_tool("eapol_test");
    RadsecServer::builder(name)
        .client("freeradius", PROXY_NAME)
        .user(PROXY_USER, Some(PROXY_PASSWORD))
        // EAP-TLS users must be in the store too.
        .eap_tls_user()
        .start()
}

#[test]
fn eap_tls_and_peap_through_freeradius_over_radsec() {
    let f = setup("freeradius-radsec");
    let fr = FreeRadiusProxy::start(f.dir.path(), &f.nas, &f.pki.ca_cert, f.radsec);
    let report = |what: &str, output: &str| {
        format!(
            "{what}:\n{output}\n----- freeradius -----\n{}\n----- authd -----\n{}",
            fr.log(),
            f.server.log()
        )
    };
    f.assert_accepted_through(fr.port, report);
    // The requests came over TLS, from the certificate-named client, and
    // FreeRADIUS proxied them rather than answering itself. The last
    // accept line may reach the log after eapol_test has finished.
    f.server.expect_log("Access-Accept client=freeradius");
    let log = f.server.log();
    assert!(log.contains("RadSec connection open"), "{log}");
    assert!(
        fr.log().contains("Proxying request"),
        "{}",
        report("FreeRADIUS did not proxy", "")
    );
    // A wrong password through the same path is refused by authd.
    f.assert_wrong_password_rejected_through(fr.port, report);
    // Accounting through the same home server (`type = auth+acct`): over
    // the TLS connection too (RFC 6614 §2.4), recorded in authd's store
    // as sessions of the RadSec client.
    let sessions = |f: &RadsecServer| {
        let config = f.server.config.clone();
        common::admin_cli(
            &config,
            &["session", "list", "--nas", "freeradius", "--json"],
            "",
        )
    };
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&sessions(&f)).unwrap(),
        serde_json::json!([]),
        "no session before any Accounting-Request"
    );
    let out = Command::new(common::fourway_sim_binary())
        .arg("acct-load")
        .args(["--server", &format!("127.0.0.1:{}", fr.acct_port)])
        .args(["--secret", common::SECRET])
        .args(["--senders", "1", "--sessions", "3", "--timeout-ms", "5000"])
        .output()
        .expect("run fourway-sim acct-load");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("acknowledged=3 lost=0"),
        "{}",
        report("accounting through FreeRADIUS", &text)
    );
    let listed: serde_json::Value = serde_json::from_str(&sessions(&f)).unwrap();
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(3),
        "{}",
        report("sessions of the RadSec client", &listed.to_string())
    );

    // FreeRADIUS sends Status-Server only to a home server it believes
    // dead or zombie (proxy.conf, "status_check"): none so far (the
    // control for what follows).
    assert!(
        !f.server.log().contains("Status-Server answered"),
        "{}",
        report("Status-Server before any check", "")
    );
    // Marked dead, the home server gets status checks every
    // check_interval, each on a new TLS connection. FreeRADIUS 3.2.1
    // writes them in the clear: on the wire, right after the handshake,
    // the 70 octets of the Status-Server (code 12, first octet 0x0c) with
    // no TLS record around them. That is not TLS (RFC 5246 §6.2.1, RFC
    // 8446 §5.1: an unknown record type is a fatal unexpected_message),
    // so authd ends the connection with a logged reason. A FreeRADIUS that
    // sends them inside TLS gets them answered; either way authd keeps
    // serving.
    let target = format!("127.0.0.1 {} tcp", f.radsec);
    let closes_before = f.server.log().matches("corrupt message").count();
    fr.radmin(&format!("set home_server state {target} dead"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let answered = loop {
        let log = f.server.log();
        if log.contains("Status-Server answered") {
            break true;
        }
        if log.matches("corrupt message").count() > closes_before
            && fr.log().contains("Sent Status-Server")
        {
            break false;
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            report("no status check from FreeRADIUS reached authd", "")
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    if !answered {
        let log = f.server.log();
        let line = log
            .lines()
            .rfind(|l| l.contains("corrupt message"))
            .unwrap();
        assert!(
            line.contains("RadSec connection closed") && line.contains("client=freeradius"),
            "{line}"
        );
        fr.radmin(&format!("set home_server state {target} alive"));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = fr.radmin(&format!("show home_server state {target}"));
        if state.trim() == "alive" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            report(&format!("home server still `{}`", state.trim()), "")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // And it proxies again.
    let conf = write_eapol_conf(
        f.dir.path(),
        "tls-after",
        &f.pki.good,
        &f.pki.ca_cert,
        TlsChoice::Only13,
    );
    let run = run_eapol_test(&conf, fr.port, &[]);
    assert!(
        run.success() && run.contains("MPPE keys OK: 1  mismatch: 0"),
        "{}",
        report("EAP-TLS after the status checks", &run.output)
    );
}
