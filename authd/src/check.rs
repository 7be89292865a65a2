//! `authd check`: what would stop authd from starting, or stop it working
//! soon, found before it starts (systemd runs it as `ExecStartPre`).
//!
//! One line per check, `OK`, `WARN` or `ERROR`, then a summary; the exit
//! status is non-zero when any check is an error (warnings alone exit 0).
//! Nothing is written: the store is not migrated, no key or PKI is
//! created. The certificate checks take the bytes and the time, so unit
//! tests drive them with any clock.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, pem::PemObject};
use rustls::sign::CertifiedKey;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use crate::config::{Config, CrlPolicy, DatabaseConfig};
use crate::store::probe::{Schema, known_version, schema_of};

/// A certificate expiring within this is a warning.
pub const CERT_WARN: Duration = Duration::from_secs(30 * 86_400);
/// A CRL whose nextUpdate is this close is a warning.
pub const CRL_WARN: Duration = Duration::from_secs(2 * 86_400);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// What was checked: `config`, `certificate`, `key`, `chain`, `ca`,
    /// `crl`, `tls`, `store`, `credential_key`, `clients`, `radsec`,
    /// `metrics`.
    pub what: &'static str,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    fn add(&mut self, level: Level, what: &'static str, message: impl Into<String>) {
        self.findings.push(Finding {
            level,
            what,
            message: message.into(),
        });
    }
    fn ok(&mut self, what: &'static str, m: impl Into<String>) {
        self.add(Level::Ok, what, m)
    }
    fn warn(&mut self, what: &'static str, m: impl Into<String>) {
        self.add(Level::Warn, what, m)
    }
    fn error(&mut self, what: &'static str, m: impl Into<String>) {
        self.add(Level::Error, what, m)
    }

    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }

    /// The lines `authd check` prints.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let tag = match f.level {
                Level::Ok => "OK   ",
                Level::Warn => "WARN ",
                Level::Error => "ERROR",
            };
            let _ = writeln!(out, "{tag} {}: {}", f.what, f.message);
        }
        let _ = writeln!(
            out,
            "authd check: {} ok, {} warnings, {} errors",
            self.count(Level::Ok),
            self.count(Level::Warn),
            self.count(Level::Error)
        );
        out
    }
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

fn days(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

/// Validity of one certificate at `now`: expired or not yet valid is an
/// error, expiring within [`CERT_WARN`] a warning.
pub fn validity(
    report: &mut Report,
    what: &'static str,
    label: &str,
    cert: &X509Certificate,
    now: i64,
) {
    let v = cert.validity();
    let (from, to) = (v.not_before.timestamp(), v.not_after.timestamp());
    if now < from {
        report.error(what, format!("{label}: not valid before {}", v.not_before));
    } else if now > to {
        report.error(
            what,
            format!(
                "{label}: expired on {} ({} days ago)",
                v.not_after,
                days(now - to)
            ),
        );
    } else if to - now < CERT_WARN.as_secs() as i64 {
        report.warn(
            what,
            format!(
                "{label}: expires on {} (in {} days)",
                v.not_after,
                days(to - now)
            ),
        );
    } else {
        report.ok(
            what,
            format!(
                "{label}: valid until {} (in {} days)",
                v.not_after,
                days(to - now)
            ),
        );
    }
}

fn subject(cert: &X509Certificate) -> String {
    crate::logsafe::escape(&cert.subject().to_string()).to_string()
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    crate::tls::load_certificates(path).map_err(|e| e.to_string())
}

/// The certificates of `ders` that parse, with the index of any that do not.
fn parse_all<'a>(ders: &'a [CertificateDer<'a>]) -> Result<Vec<X509Certificate<'a>>, usize> {
    ders.iter()
        .enumerate()
        .map(|(i, d)| {
            X509Certificate::from_der(d)
                .map(|(_, c)| c)
                .map_err(|_| i + 1)
        })
        .collect()
}

/// The server certificate, its key, and its chain to the configured CA.
pub fn check_server(
    report: &mut Report,
    cert_path: &Path,
    key_path: &Path,
    ca: &[X509Certificate],
    now: i64,
) {
    let shown = cert_path.display();
    let ders = match read_pem_certs(cert_path) {
        Ok(d) => d,
        Err(e) => return report.error("certificate", e),
    };
    let chain = match parse_all(&ders) {
        Ok(c) => c,
        Err(i) => {
            return report.error(
                "certificate",
                format!("{shown}: certificate {i} does not parse"),
            );
        }
    };
    let leaf = &chain[0];
    validity(
        report,
        "certificate",
        &format!("{shown} ({})", subject(leaf)),
        leaf,
        now,
    );
    for c in &chain[1..] {
        validity(
            report,
            "certificate",
            &format!("{shown}: intermediate {}", subject(c)),
            c,
            now,
        );
    }
    if let Ok(Some(eku)) = leaf.extended_key_usage()
        && !eku.value.server_auth
        && !eku.value.any
    {
        report.warn(
            "certificate",
            format!(
                "{shown}: no serverAuth extended key usage: Windows and Apple supplicants refuse it"
            ),
        );
    }

    // The key: the one whose public half is in the certificate.
    match crate::tls::load_private_key(key_path) {
        Err(e) => report.error("key", e.to_string()),
        Ok(key) => match crate::tls::crypto_provider()
            .key_provider
            .load_private_key(key)
        {
            Err(e) => report.error("key", format!("{}: {e}", key_path.display())),
            Ok(signer) => match CertifiedKey::new(ders.clone(), signer).keys_match() {
                Ok(()) => report.ok(
                    "key",
                    format!("{} matches the certificate", key_path.display()),
                ),
                Err(e) => report.error(
                    "key",
                    format!(
                        "{} does not match the certificate {shown}: {e}",
                        key_path.display()
                    ),
                ),
            },
        },
    }

    // The chain: each certificate signed by the next (or by a configured
    // CA), ending at a configured CA.
    let mut current = leaf;
    let mut path = vec![subject(leaf)];
    for _ in 0..8 {
        if let Some(anchor) = ca.iter().find(|a| a.subject() == current.issuer()) {
            match current.verify_signature(Some(anchor.public_key())) {
                Ok(()) => {
                    path.push(subject(anchor));
                    return report.ok("chain", format!("{} (a configured CA)", path.join(" <- ")));
                }
                Err(e) => {
                    return report.error(
                        "chain",
                        format!(
                            "{} is named as the issuer of {} but did not sign it: {e}",
                            subject(anchor),
                            path.join(" <- ")
                        ),
                    );
                }
            }
        }
        match chain
            .iter()
            .find(|c| c.subject() == current.issuer() && !std::ptr::eq(*c, current))
        {
            Some(next) if current.verify_signature(Some(next.public_key())).is_ok() => {
                path.push(subject(next));
                current = next;
            }
            _ => break,
        }
    }
    report.warn(
        "chain",
        format!(
            "{} does not chain to a CA in [tls] ca: supplicants must be given its issuer ({}) to check the server",
            path.join(" <- "),
            crate::logsafe::escape(&current.issuer().to_string())
        ),
    );
}

/// The CA certificates of `[tls] ca`.
pub fn check_ca(report: &mut Report, path: &Path, ca: &[X509Certificate], now: i64) {
    for c in ca {
        let label = format!("{} ({})", path.display(), subject(c));
        if !c.is_ca() {
            report.error(
                "ca",
                format!("{label}: not a CA certificate (basicConstraints cA is not set)"),
            );
            continue;
        }
        validity(report, "ca", &label, c, now);
    }
}

/// Every CRL of `files` (the `[tls] crl` files and the CA file, which may
/// hold CRLs too): parses, signed by a configured CA, nextUpdate ahead.
pub fn check_crls(
    report: &mut Report,
    files: &[PathBuf],
    ca: &[X509Certificate],
    expired_policy: CrlPolicy,
    now: i64,
) {
    for file in files {
        let shown = file.display();
        let ders: Vec<CertificateRevocationListDer> =
            match CertificateRevocationListDer::pem_file_iter(file) {
                Ok(it) => match it.collect() {
                    Ok(v) => v,
                    Err(e) => {
                        report.error("crl", format!("{shown}: {e}"));
                        continue;
                    }
                },
                Err(e) => {
                    report.error("crl", format!("{shown}: {e}"));
                    continue;
                }
            };
        for (i, der) in ders.iter().enumerate() {
            let label = format!("{shown} #{}", i + 1);
            let crl = match CertificateRevocationList::from_der(der) {
                Ok((_, c)) => c,
                Err(e) => {
                    report.error("crl", format!("{label}: does not parse: {e}"));
                    continue;
                }
            };
            let issuer = crate::logsafe::escape(&crl.issuer().to_string()).to_string();
            match ca.iter().find(|a| a.subject() == crl.issuer()) {
                None => {
                    report.error(
                        "crl",
                        format!("{label}: issued by {issuer}, which is no CA in [tls] ca"),
                    );
                    continue;
                }
                Some(a) => {
                    if let Err(e) = crl.verify_signature(a.public_key()) {
                        report.error(
                            "crl",
                            format!("{label}: not signed by the CA {issuer}: {e}"),
                        );
                        continue;
                    }
                }
            }
            let revoked = crl.iter_revoked_certificates().count();
            match crl.next_update() {
                None => report.warn("crl", format!("{label} ({issuer}): no nextUpdate: never known to be stale")),
                Some(next) if next.timestamp() < now => {
                    let m = format!("{label} ({issuer}): stale: nextUpdate was {next} ({} days ago)", days(now - next.timestamp()));
                    match expired_policy {
                        CrlPolicy::Reject => report.error(
                            "crl",
                            format!("{m}; with crl_expired = \"reject\" every client certificate of this CA is refused"),
                        ),
                        CrlPolicy::Allow => report.warn("crl", format!("{m}; still used (crl_expired = \"allow\")")),
                    }
                }
                Some(next) if next.timestamp() - now < CRL_WARN.as_secs() as i64 => report.warn(
                    "crl",
                    format!("{label} ({issuer}): nextUpdate {next} is within {} hours: publish a new CRL", (next.timestamp() - now) / 3600),
                ),
                Some(next) => report.ok("crl", format!("{label} ({issuer}): {revoked} revoked, next update {next}")),
            }
        }
    }
}

/// The credential key file: private to this user and readable, or absent
/// (created at start).
pub fn check_credential_key(report: &mut Report, path: &Path) {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => report.warn(
            "credential_key",
            format!(
                "{}: does not exist: created at start (its directory must be writable by authd)",
                path.display()
            ),
        ),
        Err(e) => report.error("credential_key", format!("{}: {e}", path.display())),
        Ok(_) => match crate::credkey::CredentialKey::load(path) {
            Ok(key) => report.ok(
                "credential_key",
                format!("{}: mode 0600, key id {}", path.display(), key.id()),
            ),
            Err(e) => report.error("credential_key", e.to_string()),
        },
    }
}

/// The store: reachable, and its schema against this binary's.
pub async fn check_store(report: &mut Report, db: &DatabaseConfig) {
    let shown = crate::logsafe::redact_database_url(&db.url);
    let known = known_version();
    match schema_of(&db.url).await {
        Err(e) => report.error("store", e.to_string()),
        Ok(Schema::NoFile) => report.warn("store", format!("{shown}: no database file yet: created and migrated to version {known} at start")),
        Ok(Schema::Empty) => report.warn("store", format!("{shown}: reachable, empty: migrated to version {known} at start")),
        Ok(Schema::Version(v)) if v == known => report.ok("store", format!("{shown}: reachable, schema version {v}")),
        Ok(Schema::Version(v)) if v < known => {
            report.warn("store", format!("{shown}: schema version {v}, older than {known}: will be migrated at start"))
        }
        Ok(Schema::Version(v)) => report.error(
            "store",
            format!("{shown}: schema version {v} is newer than this binary's {known}: a newer authd migrated it; run that version"),
        ),
    }
}

/// The configuration file's NAS clients.
pub fn check_clients(report: &mut Report, config: &Config) {
    if config.clients.is_empty() {
        if config.database.is_some() {
            report.warn(
                "clients",
                "no [[client]] in the file: only the store's NAS clients can talk to authd",
            );
        } else {
            report.error(
                "clients",
                "no [[client]] and no [database]: nobody could talk to this server",
            );
        }
        return;
    }
    let short: Vec<&str> = config
        .clients
        .iter()
        // A RadSec client's secret is the fixed "radsec" (RFC 6614 §2.3):
        // TLS protects it, not its length.
        .filter(|c| !c.is_radsec() && c.secret.expose().len() <= crate::clients::SHORT_SECRET_LEN)
        .map(|c| c.name.as_str())
        .collect();
    if short.is_empty() {
        report.ok("clients", format!("{} configured", config.clients.len()));
    }
    for name in short {
        report.warn(
            "clients",
            format!(
                "{}: shared secret of {} characters or fewer: guessable offline from one captured packet; use 16 or more random characters",
                crate::logsafe::escape(name),
                crate::clients::SHORT_SECRET_LEN
            ),
        );
    }
}

/// Every check of a parsed configuration at `now`.
pub async fn check_config(config: &Config, now: SystemTime) -> Report {
    let now = unix(now);
    let mut report = Report::default();
    let tls = &config.tls;
    let ca_ders = match read_pem_certs(&tls.ca) {
        Ok(d) => d,
        Err(e) => {
            report.error("ca", e);
            Vec::new()
        }
    };
    let ca = match parse_all(&ca_ders) {
        Ok(c) => c,
        Err(i) => {
            report.error(
                "ca",
                format!("{}: certificate {i} does not parse", tls.ca.display()),
            );
            Vec::new()
        }
    };
    check_ca(&mut report, &tls.ca, &ca, now);
    check_server(&mut report, &tls.certificate, &tls.private_key, &ca, now);
    let mut crl_files = tls.crl.clone();
    // The CA file may hold CRLs too; only look there if it has any.
    if std::fs::read_to_string(&tls.ca).is_ok_and(|t| t.contains("BEGIN X509 CRL")) {
        crl_files.insert(0, tls.ca.clone());
    }
    check_crls(&mut report, &crl_files, &ca, tls.crl_expired, now);
    // What `serve` builds from all of it (rustls' own checks, the 192-bit
    // restrictions, the PEAP and TTLS tunnels).
    match crate::server::eap_config(config, None) {
        Ok(_) => report.ok(
            "tls",
            "the TLS configuration builds as `authd serve` builds it",
        ),
        Err(e) => report.error("tls", e.to_string()),
    }
    check_clients(&mut report, config);
    radsec::check_radsec(&mut report, config, now);
    if let Some(db) = &config.database {
        check_store(&mut report, db).await;
        if let Some(key) = &db.credential_key {
            check_credential_key(&mut report, key);
        }
    }
    if let Some(addr) = config.metrics.listen {
        if addr.ip().is_loopback() {
            report.ok("metrics", format!("GET /metrics on {addr}"));
        } else {
            report.warn("metrics", format!("GET /metrics on {addr}, beyond loopback and without authentication: keep it on a management network"));
        }
    }
    report
}

/// `authd check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Configuration file to check. Without it, the embedded development
    /// default in the data directory is checked.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Where the embedded default keeps its PKI and files.
    #[arg(long, env = "AUTHD_DATA_DIR", default_value = "authd-data")]
    pub data_dir: PathBuf,
}

async fn check(args: &CheckArgs) -> Report {
    let mut report = Report::default();
    let config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(c) => {
                report.ok("config", format!("{} parses", path.display()));
                c
            }
            Err(e) => {
                report.error("config", e.to_string());
                return report;
            }
        },
        None => {
            let dir = &args.data_dir;
            report.ok(
                "config",
                format!(
                    "no --config: checking the embedded development default in {} (what `authd` with no arguments runs): its PKI, CRL and store",
                    dir.display()
                ),
            );
            let pki = crate::pki::DevPki::paths(dir, crate::defaults::DEMO_USER);
            if !pki.ca_cert.exists() {
                report.ok(
                    "config",
                    format!(
                        "no PKI in {} yet: `authd` generates one on first start",
                        dir.display()
                    ),
                );
                return report;
            }
            let mut config =
                match Config::parse(&crate::defaults::config_text(&pki), &dir.join("authd.toml")) {
                    Ok(c) => c,
                    Err(e) => {
                        report.error("config", e.to_string());
                        return report;
                    }
                };
            let db = DatabaseConfig {
                url: crate::store::default_url(dir),
                credential_key: Some(dir.join(crate::credkey::DEFAULT_FILE)),
            };
            config.database = Some(db);
            config
        }
    };
    let more = check_config(&config, SystemTime::now()).await;
    report.findings.extend(more.findings);
    report
}

pub fn run(args: CheckArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("authd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(check(&args));
    print!("{}", report.render());
    if report.count(Level::Error) > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

mod radsec;

#[cfg(test)]
mod tests;
