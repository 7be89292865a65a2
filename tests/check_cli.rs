//! `authd check` end to end: the real binary on configurations written
//! here (a PKI from authd's own CA code, a migrated SQLite store, a
//! credential key), each fault with its exit status and the line it prints.

mod common;
#[path = "store_suite/mod.rs"]
mod suite;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use authd::config::{ClientConfig, Config, DatabaseConfig, Secret, TlsConfig};
use authd::pki::{CertificateAuthority, KeyKind};
use common::TempDir;

const DAY: Duration = Duration::from_secs(86_400);

struct Setup {
    dir: TempDir,
    ca: CertificateAuthority,
    config: Config,
}

impl Setup {
    /// A year-long CA and server certificate, a CRL for a week, a long
    /// secret, a migrated store and its credential key: nothing to warn of.
    fn good(name: &str) -> Setup {
        let dir = TempDir::new(name);
        let d = dir.path();
        let ca = CertificateAuthority::generate("check CA", 365).unwrap();
        ca.save(&d.join("ca.pem"), &d.join("ca.key")).unwrap();
        ca.issue_server("radius.example", &["radius.example".into()], 365)
            .unwrap()
            .write(&d.join("server.pem"), &d.join("server.key"))
            .unwrap();
        let now = SystemTime::now();
        fs::write(
            d.join("crl.pem"),
            ca.crl(&[], now - DAY, now + DAY * 7, 1).unwrap(),
        )
        .unwrap();
        let mut tls = TlsConfig::new(d.join("server.pem"), d.join("server.key"), d.join("ca.pem"));
        tls.crl = vec![d.join("crl.pem")];
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
        let url = format!("sqlite://{}/authd.db", d.display());
        let key = d.join("credential.key");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                authd::store::Store::connect(&url)
                    .await
                    .unwrap()
                    .close()
                    .await;
            });
        authd::credkey::CredentialKey::load_or_create(&key).unwrap();
        let mut db = DatabaseConfig::new(url);
        db.credential_key = Some(key);
        config.database = Some(db);
        Setup { dir, ca, config }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn check(&self) -> (Output, String) {
        let file = self.path("authd.toml");
        fs::write(&file, self.config.to_toml()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_authd"))
            .args(["check", "--config"])
            .arg(&file)
            .env_remove("AUTHD_DATA_DIR")
            .output()
            .expect("run authd check");
        let stdout = String::from_utf8(out.stdout.clone()).unwrap();
        (out, stdout)
    }
}

fn line<'a>(stdout: &'a str, prefix: &str, needle: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(prefix) && l.contains(needle))
        .unwrap_or_else(|| panic!("no `{prefix}` line with `{needle}`:\n{stdout}"))
}

fn assert_fails_with(setup: &Setup, prefix: &str, needle: &str) -> String {
    let (out, stdout) = setup.check();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    line(&stdout, prefix, needle);
    assert!(
        stdout.lines().last().unwrap().starts_with("authd check:"),
        "{stdout}"
    );
    stdout
}

#[test]
fn good_configuration_passes_every_check() {
    let s = Setup::good("check-good");
    let (out, stdout) = s.check();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for (what, needle) in [
        ("config", "parses"),
        ("ca", "valid until"),
        ("certificate", "CN=radius.example"),
        ("key", "matches the certificate"),
        (
            "chain",
            "CN=radius.example <- CN=check CA (a configured CA)",
        ),
        ("crl", "0 revoked, next update"),
        ("tls", "builds as `authd serve` builds it"),
        ("clients", "1 configured"),
        ("store", "reachable, schema version"),
        ("credential_key", "mode 0600"),
    ] {
        line(&stdout, &format!("OK    {what}:"), needle);
    }
    assert!(
        !stdout.contains("WARN") && !stdout.contains("ERROR"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("authd check: 10 ok, 0 warnings, 0 errors\n"),
        "{stdout}"
    );
}

#[test]
fn warnings_alone_exit_zero() {
    let mut s = Setup::good("check-warn");
    s.config.clients[0].secret = Secret::new("short").unwrap();
    let (out, stdout) = s.check();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    line(
        &stdout,
        "WARN  clients: ap1:",
        "shared secret of 8 characters or fewer",
    );
    assert!(stdout.ends_with("1 warnings, 0 errors\n"), "{stdout}");
}

#[test]
fn expired_server_certificate_is_an_error() {
    let mut s = Setup::good("check-expired");
    let now = SystemTime::now();
    s.ca.issue_client(
        "old.example",
        KeyKind::EcdsaP256,
        now - DAY * 60,
        now - DAY * 3,
    )
    .unwrap()
    .write(&s.path("old.pem"), &s.path("old.key"))
    .unwrap();
    s.config.tls.certificate = s.path("old.pem");
    s.config.tls.private_key = s.path("old.key");
    let out = assert_fails_with(&s, "ERROR certificate:", "(CN=old.example): expired on");
    assert!(out.contains("(3 days ago)"), "{out}");
    // The key still matches its (expired) certificate.
    line(&out, "OK    key:", "matches");
}

#[test]
fn key_of_another_certificate_is_an_error() {
    let mut s = Setup::good("check-mismatch");
    s.ca.issue_server("other.example", &[], 365)
        .unwrap()
        .write(&s.path("other.pem"), &s.path("other.key"))
        .unwrap();
    s.config.tls.private_key = s.path("other.key");
    let out = assert_fails_with(&s, "ERROR key:", "other.key does not match the certificate");
    line(&out, "OK    certificate:", "CN=radius.example");
    // rustls refuses the pair too, as `serve` would.
    line(&out, "ERROR tls:", "");
}

#[test]
fn stale_crl_is_an_error_and_a_warning_when_allowed() {
    let mut s = Setup::good("check-stale");
    let now = SystemTime::now();
    let stale = s.ca.crl(&[], now - DAY * 10, now - DAY * 2, 2).unwrap();
    fs::write(s.path("crl.pem"), stale).unwrap();
    assert_fails_with(&s, "ERROR crl:", "stale: nextUpdate was");
    s.config.tls.crl_expired = authd::config::CrlPolicy::Allow;
    let (out, stdout) = s.check();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    line(
        &stdout,
        "WARN  crl:",
        "still used (crl_expired = \"allow\")",
    );
}

#[test]
fn crl_of_another_ca_is_an_error() {
    let s = Setup::good("check-crl-ca");
    let other = CertificateAuthority::generate("check CA", 365).unwrap();
    let now = SystemTime::now();
    fs::write(
        s.path("crl.pem"),
        other.crl(&[], now - DAY, now + DAY * 7, 1).unwrap(),
    )
    .unwrap();
    // Same name, another key: the signature tells them apart.
    assert_fails_with(&s, "ERROR crl:", "not signed by the CA CN=check CA");
}

#[test]
fn unreachable_postgresql_is_an_error() {
    let mut s = Setup::good("check-pg");
    // A port nothing listens on (bound and released just now).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.config.database.as_mut().unwrap().url =
        format!("postgres://authd:secret-pw@127.0.0.1:{port}/authd");
    let out = assert_fails_with(
        &s,
        "ERROR store:",
        "cannot connect to the database postgres://",
    );
    assert!(!out.contains("secret-pw"), "{out}");
}

#[test]
fn readable_credential_key_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::good("check-key-mode");
    let key = s.path("credential.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    assert_fails_with(&s, "ERROR credential_key:", "chmod 600");
}

#[test]
fn unparsable_configuration_is_an_error() {
    let s = Setup::good("check-syntax");
    let file = s.path("authd.toml");
    fs::write(&file, "[tls]\ncertificat = \"x\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_authd"))
        .args(["check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    line(&stdout, "ERROR config:", "certificat");
}

#[test]
fn embedded_default_is_explained() {
    let dir = TempDir::new("check-default");
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_authd"))
        .args(["check", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    line(
        &stdout,
        "OK    config:",
        "checking the embedded development default",
    );
    line(&stdout, "OK    config:", "generates one on first start");
    // Nothing was written.
    assert!(!data.exists());
}

/// A real PostgreSQL server (a throwaway cluster on a Unix socket): an
/// empty database is a warning (migrated at start), a migrated one OK,
/// and the check migrates nothing itself.
#[test]
fn postgresql_schema_as_found() {
    let mut s = Setup::good("check-pg-real");
    let cluster = suite::PgCluster::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(cluster.create_database("checked"));
    s.config.database.as_mut().unwrap().url = url.clone();
    for _ in 0..2 {
        let (out, stdout) = s.check();
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        line(
            &stdout,
            "WARN  store:",
            "reachable, empty: migrated to version",
        );
    }
    rt.block_on(async {
        authd::store::Store::connect(&url)
            .await
            .unwrap()
            .close()
            .await;
    });
    let (out, stdout) = s.check();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    line(
        &stdout,
        "OK    store: postgres://",
        &format!(
            "reachable, schema version {}",
            authd::store::Store::schema_version()
        ),
    );
}
