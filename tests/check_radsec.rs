//! `authd check` on the RadSec settings (RFC 6614), end to end: the real
//! binary on configurations written here, each fault with its exit status
//! and the line it prints, beside a configuration that passes.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use authd::config::{ClientConfig, Config, Secret, TlsConfig};
use authd::pki::CertificateAuthority;
use common::TempDir;
use common::radsec::radsec_client;

struct Setup {
    dir: TempDir,
    ca: CertificateAuthority,
    config: Config,
}

impl Setup {
    /// A year-long CA and server certificate, one UDP client with a long
    /// secret, `[listen] radsec` and one RadSec client.
    fn good(name: &str) -> Setup {
        let dir = TempDir::new(name);
        let d = dir.path();
        let ca = CertificateAuthority::generate("check CA", 365).unwrap();
        ca.save(&d.join("ca.pem"), &d.join("ca.key")).unwrap();
        ca.issue_server("radius.example", &["radius.example".into()], 365)
            .unwrap()
            .write(&d.join("server.pem"), &d.join("server.key"))
            .unwrap();
        let tls = TlsConfig::new(d.join("server.pem"), d.join("server.key"), d.join("ca.pem"));
        let mut config = Config::new(tls);
        config.clients.push(ClientConfig {
            name: "ap1".into(),
            address: "192.0.2.1/32".parse().unwrap(),
            secret: Secret::new("a-long-random-shared-secret").unwrap(),
            require_message_authenticator: true,
            limit_proxy_state: true,
            certificate_name: None,
            das_port: authd::das::default_das_port(),
        });
        config.listen.radsec = Some("127.0.0.1:2083".parse().unwrap());
        config
            .clients
            .push(radsec_client("proxy", "0.0.0.0/0", "proxy.example.org"));
        Setup { dir, ca, config }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `authd check`: its exit status and its standard output.
    fn check(&self) -> (Option<i32>, String) {
        let file = self.path("authd.toml");
        fs::write(&file, self.config.to_toml()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_authd"))
            .args(["check", "--config"])
            .arg(&file)
            .env_remove("AUTHD_DATA_DIR")
            .output()
            .expect("run authd check");
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    }
}

fn line<'a>(stdout: &'a str, prefix: &str, needle: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(prefix) && l.contains(needle))
        .unwrap_or_else(|| panic!("no `{prefix}` line with `{needle}`:\n{stdout}"))
}

#[test]
fn good_radsec_settings_pass() {
    let s = Setup::good("check-radsec-good");
    let (code, stdout) = s.check();
    assert_eq!(code, Some(0), "{stdout}");
    line(
        &stdout,
        "OK    radsec:",
        "TLS listener on 127.0.0.1:2083 builds as `authd serve` builds it",
    );
    line(
        &stdout,
        "OK    radsec:",
        "1 RadSec client(s), each with its own certificate_name",
    );
    // The fixed "radsec" secret (RFC 6614 §2.3) is not a short secret.
    assert!(
        !stdout.contains("WARN") && !stdout.contains("ERROR"),
        "{stdout}"
    );
}

#[test]
fn listener_without_radsec_client_is_a_warning() {
    let mut s = Setup::good("check-radsec-noclient");
    s.config.clients.retain(|c| !c.is_radsec());
    let (code, stdout) = s.check();
    assert_eq!(code, Some(0), "{stdout}");
    line(
        &stdout,
        "WARN  radsec:",
        "no [[client]] has certificate_name: every RadSec connection will be refused",
    );
    line(
        &stdout,
        "OK    radsec:",
        "TLS listener on 127.0.0.1:2083 builds",
    );
}

#[test]
fn radsec_client_without_listener_is_a_warning() {
    let mut s = Setup::good("check-radsec-nolisten");
    s.config.listen.radsec = None;
    let (code, stdout) = s.check();
    assert_eq!(code, Some(0), "{stdout}");
    line(
        &stdout,
        "WARN  radsec:",
        "1 [[client]] with certificate_name but no [listen] radsec",
    );
    assert!(!stdout.contains("TLS listener"), "{stdout}");
}

#[test]
fn radsec_key_of_another_certificate_is_an_error() {
    let mut s = Setup::good("check-radsec-badkey");
    // [radsec] names its own certificate, with the key of another one.
    s.ca.issue_server("radsec.example", &["radsec.example".into()], 365)
        .unwrap()
        .write(&s.path("radsec.pem"), &s.path("radsec.key"))
        .unwrap();
    s.config.radsec.certificate = Some(s.path("radsec.pem"));
    s.config.radsec.private_key = Some(s.path("server.key"));
    let (code, stdout) = s.check();
    assert_eq!(code, Some(1), "{stdout}");
    line(&stdout, "ERROR key:", "does not match the certificate");
    line(&stdout, "ERROR radsec:", "TLS listener on 127.0.0.1:2083");
    // [tls]'s own pair is still fine.
    line(&stdout, "OK    key:", "server.key matches the certificate");

    // Positive control: the right key.
    s.config.radsec.private_key = Some(s.path("radsec.key"));
    let (code, stdout) = s.check();
    assert_eq!(code, Some(0), "{stdout}");
    line(&stdout, "OK    certificate:", "CN=radsec.example");
    line(
        &stdout,
        "OK    radsec:",
        "builds as `authd serve` builds it",
    );
}

#[test]
fn missing_radsec_ca_is_an_error() {
    let mut s = Setup::good("check-radsec-noca");
    s.config.radsec.ca = Some(s.path("no-such-ca.pem"));
    let (code, stdout) = s.check();
    assert_eq!(code, Some(1), "{stdout}");
    line(&stdout, "ERROR ca:", "no-such-ca.pem");
    line(&stdout, "ERROR radsec:", "TLS listener");
}

#[test]
fn duplicate_or_empty_certificate_name_is_an_error() {
    let mut s = Setup::good("check-radsec-dup");
    s.config
        .clients
        .push(radsec_client("proxy2", "0.0.0.0/0", "PROXY.example.org"));
    let (code, stdout) = s.check();
    assert_eq!(code, Some(1), "{stdout}");
    line(&stdout, "ERROR config:", "the same certificate_name");

    let mut s = Setup::good("check-radsec-empty");
    s.config
        .clients
        .push(radsec_client("proxy2", "0.0.0.0/0", " "));
    let (code, stdout) = s.check();
    assert_eq!(code, Some(1), "{stdout}");
    line(&stdout, "ERROR config:", "certificate_name is empty");
}
