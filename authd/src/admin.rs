//! Admin subcommands of the `authd` binary: users, groups, NAS clients,
//! the PKI, certificates and the audit log.
//!
//! The database is the one of `--database URL`, else the `[database] url`
//! of `--config FILE`, else `sqlite://DATA_DIR/authd.db` (`--data-dir`,
//! environment `AUTHD_DATA_DIR`, default `authd-data`: the server's
//! embedded default). Output is a table for people, or JSON with `--json`.
//! Every error ends with a message on stderr and a non-zero exit status.
//!
//! Secrets (NAS shared secrets, passwords, PKCS#12 passwords) are never
//! taken from the command line, where other users can read them: they are
//! read without echo from the terminal, or as one line from standard input
//! when it is not a terminal.
//!
//! Passwords are stored as Argon2id and, unless `--no-mschap`, as an NT
//! hash encrypted under the credential key: `--credential-key FILE`, else
//! the `[database] credential_key` of `--config FILE` (default
//! `credential.key` beside it), else `DATA_DIR/credential.key`, where the
//! server looks too; created (mode 0600) if absent.

mod certs;
mod disconnect;
mod import;
mod session;
mod users;

#[cfg(test)]
use certs::file_stem;
use certs::{cert_command, cert_table, pki_command};
use users::{group_command, user_command};

pub use session::SessionCommand;

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, IsTerminal};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::cidr::IpNet;
use crate::config::{Config, Secret};
use crate::credkey::{CredentialKey, CredentialKeyError};
use crate::pki::{CertificateAuthority, KeyKind, PkiError};
use crate::store::{
    self, Change, GroupUpdate, NewCertificate, RevocationReasonName, Store, StoreError,
    UserAttributes, UserUpdate,
};

/// Admin subcommands of the `authd` binary.
#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Manage users (authorization for EAP-TLS, passwords).
    User {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        cmd: UserCommand,
    },
    /// Manage groups (default VLAN and Session-Timeout of their users).
    Group {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        cmd: GroupCommand,
    },
    /// Manage NAS clients kept in the database (beside the config file's).
    Client {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        cmd: ClientCommand,
    },
    /// Issue, list and revoke client certificates; write CRLs.
    Cert {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        ca: CaArgs,
        #[command(subcommand)]
        cmd: CertCommand,
    },
    /// Create a certificate authority and a server certificate.
    Pki {
        #[command(subcommand)]
        cmd: PkiCommand,
    },
    /// Show the audit log of administrative changes.
    Audit {
        #[command(flatten)]
        db: DbArgs,
        /// Number of entries, newest last.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Accounting sessions recorded in the store; Disconnect-Requests
    /// (RFC 5176).
    Session {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        cmd: SessionCommand,
    },
    /// Show the version of the store schema this binary expects.
    SchemaVersion,
}

/// Where the database is, and how to print. `Debug` shows the URL
/// redacted (it may hold a password).
#[derive(clap::Args, Clone)]
pub struct DbArgs {
    /// Configuration file whose [database] url to use.
    #[arg(long, short, global = true)]
    pub config: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://...); overrides --config.
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    /// Data directory whose authd.db is the default database.
    #[arg(
        long,
        global = true,
        env = "AUTHD_DATA_DIR",
        default_value = "authd-data"
    )]
    pub data_dir: PathBuf,
    /// Credential key file (encrypts the NT hashes of MS-CHAPv2); default
    /// the [database] credential_key of --config, else DATA_DIR/credential.key.
    #[arg(long, global = true, value_name = "FILE")]
    pub credential_key: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

impl std::fmt::Debug for DbArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let database = self
            .database
            .as_deref()
            .map(crate::logsafe::redact_database_url);
        f.debug_struct("DbArgs")
            .field("config", &self.config)
            .field("database", &database)
            .field("data_dir", &self.data_dir)
            .field("credential_key", &self.credential_key)
            .field("json", &self.json)
            .finish()
    }
}

/// Where the CA is.
#[derive(clap::Args, Debug, Clone)]
pub struct CaArgs {
    /// CA certificate (PEM); default DATA_DIR/ca.pem.
    #[arg(long, global = true)]
    pub ca_cert: Option<PathBuf>,
    /// CA private key (PEM); default DATA_DIR/ca.key.
    #[arg(long, global = true)]
    pub ca_key: Option<PathBuf>,
}

/// VLAN and Session-Timeout options for `add`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AttributeArgs {
    /// VLAN (Tunnel-Private-Group-Id, RFC 3580): a number 1-4094 or a name.
    #[arg(long)]
    pub vlan: Option<String>,
    /// Session-Timeout in seconds (RFC 2865 section 5.27).
    #[arg(long, value_name = "SECONDS")]
    pub session_timeout: Option<u32>,
}

/// VLAN and Session-Timeout options for `set`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AttributeChangeArgs {
    /// New VLAN.
    #[arg(long, conflicts_with = "no_vlan")]
    pub vlan: Option<String>,
    /// Remove the VLAN.
    #[arg(long)]
    pub no_vlan: bool,
    /// New Session-Timeout, seconds.
    #[arg(long, value_name = "SECONDS", conflicts_with = "no_session_timeout")]
    pub session_timeout: Option<u32>,
    /// Remove the Session-Timeout.
    #[arg(long)]
    pub no_session_timeout: bool,
}

fn change<T>(value: Option<T>, clear: bool) -> Change<T> {
    match (value, clear) {
        (Some(v), _) => Change::Set(v),
        (None, true) => Change::Clear,
        (None, false) => Change::Keep,
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user.
    Add {
        name: String,
        /// Group of the user.
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        attrs: AttributeArgs,
        /// Create the user disabled.
        #[arg(long)]
        disabled: bool,
        /// Also set a password (prompted, or one line of stdin).
        #[arg(long)]
        password: bool,
        /// Store the password as Argon2id only, without the NT hash: the
        /// user can then use PAP and TTLS-PAP but not MS-CHAPv2.
        #[arg(long, requires = "password")]
        no_mschap: bool,
    },
    /// List users.
    List,
    /// Show one user and its certificates.
    Show { name: String },
    /// Change a user's group, VLAN or Session-Timeout.
    Set {
        name: String,
        /// New group.
        #[arg(long, conflicts_with = "no_group")]
        group: Option<String>,
        /// Remove the user from its group.
        #[arg(long)]
        no_group: bool,
        #[command(flatten)]
        attrs: AttributeChangeArgs,
    },
    /// Disable a user: its next authentication is rejected.
    Disable { name: String },
    /// Enable a user.
    Enable { name: String },
    /// Delete a user and revoke its certificates.
    Delete { name: String },
    /// Set a user's password (prompted, or one line of stdin).
    Passwd {
        name: String,
        /// Store it as Argon2id only, without the NT hash: the user can
        /// then use PAP and TTLS-PAP but not MS-CHAPv2.
        #[arg(long)]
        no_mschap: bool,
    },
    /// Create or update users with their passwords from a CSV file
    /// (name,password,group,vlan; `-` for stdin), all or nothing. An
    /// existing user gets the file's password, group and VLAN (empty: none).
    Import {
        file: PathBuf,
        /// Store the passwords as Argon2id only, without NT hashes.
        #[arg(long)]
        no_mschap: bool,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum GroupCommand {
    /// Add a group.
    Add {
        name: String,
        #[command(flatten)]
        attrs: AttributeArgs,
    },
    /// List groups.
    List,
    /// Change a group's VLAN or Session-Timeout.
    Set {
        name: String,
        #[command(flatten)]
        attrs: AttributeChangeArgs,
    },
    /// Delete a group that has no users.
    Delete { name: String },
}

#[derive(clap::Subcommand, Debug)]
pub enum ClientCommand {
    /// Add a NAS client; its shared secret is prompted, or one line of stdin.
    Add {
        name: String,
        /// Source address or network (CIDR) of the NAS.
        address: String,
        /// Accept Access-Requests without Message-Authenticator (unsafe:
        /// BlastRADIUS, CVE-2024-3596).
        #[arg(long)]
        no_require_message_authenticator: bool,
        /// UDP port of the NAS's Dynamic Authorization server (RFC 5176),
        /// where Disconnect-Requests go; 3799 when not given.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        das_port: Option<u16>,
    },
    /// List NAS clients of the database (not the config file's).
    List,
    /// Remove a NAS client.
    Remove { name: String },
}

#[derive(clap::Subcommand, Debug)]
pub enum CertCommand {
    /// Issue a client certificate (clientAuth) to a user and record it.
    Issue {
        user: String,
        /// Directory for USER.pem, USER.key (and USER.p12).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Days of validity.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Also write a PKCS#12 bundle; its password is prompted, or one
        /// line of stdin.
        #[arg(long)]
        p12: bool,
        /// RSA-2048 key instead of ECDSA (P-256, or P-384 when the CA's
        /// key is P-384, as `pki init --p384` makes it).
        #[arg(long)]
        rsa: bool,
    },
    /// List certificates, of one user or all.
    List { user: Option<String> },
    /// Revoke a certificate: rejected at its next authentication. By
    /// serial for one authd issued; with --cert for any certificate, also
    /// one of another CA trusted by `[tls] ca`.
    Revoke {
        /// Serial number, hex (colons allowed), of a recorded certificate.
        #[arg(required_unless_present = "cert", conflicts_with = "cert")]
        serial: Option<String>,
        /// The certificate (PEM or DER file): revoked by its issuer and
        /// serial, whoever issued it.
        #[arg(long, value_name = "FILE")]
        cert: Option<PathBuf>,
        /// RFC 5280 reason, e.g. keyCompromise, superseded, cessationOfOperation.
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// Print a CRL of the revoked certificates, signed by the CA (PEM).
    Crl {
        /// Days until the CRL's nextUpdate.
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum PkiCommand {
    /// Create a CA, a server certificate and an empty CRL in a directory
    /// (ca.pem, ca.key, server.pem, server.key, crl.pem); never overwrites.
    Init {
        /// Target directory; default the data directory.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Data directory (the default target).
        #[arg(long, env = "AUTHD_DATA_DIR", default_value = "authd-data")]
        data_dir: PathBuf,
        /// Common name of the CA.
        #[arg(long, default_value = "authd CA")]
        ca_name: String,
        /// DNS names of the server certificate (repeatable); the first is
        /// also its common name.
        #[arg(long = "server-name", default_values_t = ["authd".to_owned(), "localhost".to_owned()])]
        server_names: Vec<String>,
        /// Days of validity of the CA.
        #[arg(long, default_value_t = 3650)]
        ca_days: u32,
        /// Days of validity of the server certificate.
        #[arg(long, default_value_t = 825)]
        server_days: u32,
        /// ECDSA P-384 keys with SHA-384 signatures for the CA and the
        /// server (and, from this CA, the client certificates): the PKI of
        /// `[tls] suite_b_192` (WPA3-Enterprise 192-bit).
        #[arg(long)]
        p384: bool,
    },
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Pki(#[from] PkiError),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{0} (or pass --no-mschap to store the password for PAP only)")]
    CredentialKey(#[from] CredentialKeyError),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> AdminError {
    let what = what.into();
    move |source| AdminError::Io { what, source }
}

/// Runs an admin command; prints the result or the error.
pub fn run(cmd: AdminCommand) -> ExitCode {
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
    let mut out = String::new();
    match runtime.block_on(execute(cmd, &mut out)) {
        Ok(()) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("authd: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The database URL the options select.
pub fn database_url(db: &DbArgs) -> Result<String, AdminError> {
    if let Some(url) = &db.database {
        return Ok(url.clone());
    }
    if let Some(path) = &db.config {
        let config = Config::load(path)?;
        return match config.database {
            Some(d) => Ok(d.url),
            None => Err(AdminError::Usage(format!(
                "{}: no [database] section; pass --database URL",
                path.display()
            ))),
        };
    }
    Ok(store::default_url(&db.data_dir))
}

async fn open_store(db: &DbArgs) -> Result<Store, AdminError> {
    let url = database_url(db)?;
    let actor = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|_| "cli".to_owned());
    match Store::connect(&url).await {
        Ok(s) => Ok(s.with_actor(actor)),
        Err(StoreError::File { path, reason }) if db.database.is_none() && db.config.is_none() => {
            Err(AdminError::Usage(format!(
                "{}: {reason} (start the server once, run `authd pki init`, or pass --database / --config / --data-dir)",
                path.display()
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Executes `cmd`, appending what it prints to `out`.
pub async fn execute(cmd: AdminCommand, out: &mut String) -> Result<(), AdminError> {
    match cmd {
        AdminCommand::SchemaVersion => {
            let _ = writeln!(out, "{}", Store::schema_version());
            Ok(())
        }
        AdminCommand::Pki { cmd } => pki_command(cmd, out),
        AdminCommand::User { db, cmd } => {
            let store = open_store(&db).await?;
            let r = user_command(&store, &db, cmd, out).await;
            store.close().await;
            r
        }
        AdminCommand::Group { db, cmd } => {
            let store = open_store(&db).await?;
            let r = group_command(&store, cmd, db.json, out).await;
            store.close().await;
            r
        }
        AdminCommand::Session { db, cmd } => {
            if matches!(cmd, SessionCommand::Disconnect { .. }) {
                disconnect::no_store_check(&db)?;
            }
            let store = open_store(&db).await?;
            let r = session::session_command(&store, cmd, db.json, out).await;
            store.close().await;
            r
        }
        AdminCommand::Client { db, cmd } => {
            let store = open_store(&db).await?;
            let r = client_command(&store, cmd, db.json, out).await;
            store.close().await;
            r
        }
        AdminCommand::Cert { db, ca, cmd } => {
            let store = open_store(&db).await?;
            let r = cert_command(&store, &db, &ca, cmd, out).await;
            store.close().await;
            r
        }
        AdminCommand::Audit { db, limit } => {
            let store = open_store(&db).await?;
            let entries = store.audit_log(limit).await;
            store.close().await;
            let entries = entries?;
            if db.json {
                json(out, &entries)
            } else {
                let rows = entries
                    .iter()
                    .map(|e| {
                        vec![
                            format_time(e.at_micros.div_euclid(1_000_000)),
                            e.actor.clone(),
                            e.action.clone(),
                            e.object.clone(),
                            e.detail.clone(),
                        ]
                    })
                    .collect();
                table(out, &["TIME", "ACTOR", "ACTION", "OBJECT", "DETAIL"], rows);
                Ok(())
            }
        }
    }
}

fn json<T: Serialize>(out: &mut String, value: &T) -> Result<(), AdminError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| AdminError::Usage(format!("JSON output: {e}")))?;
    out.push_str(&text);
    out.push('\n');
    Ok(())
}

fn done(out: &mut String, json_output: bool, message: String) -> Result<(), AdminError> {
    if json_output {
        json(out, &serde_json::json!({ "ok": true, "message": message }))
    } else {
        out.push_str(&message);
        out.push('\n');
        Ok(())
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// The credential key file the options select, as the server finds it:
/// `--credential-key`, else the `[database] credential_key` of `--config`
/// (default beside the file), else `DATA_DIR/credential.key`.
pub fn credential_key_path(db: &DbArgs) -> Result<PathBuf, AdminError> {
    if let Some(path) = &db.credential_key {
        return Ok(path.clone());
    }
    if let Some(path) = &db.config {
        let config = Config::load(path)?;
        return Ok(match config.database.and_then(|d| d.credential_key) {
            Some(key) => key,
            None => path
                .parent()
                .unwrap_or(Path::new(""))
                .join(crate::credkey::DEFAULT_FILE),
        });
    }
    Ok(db.data_dir.join(crate::credkey::DEFAULT_FILE))
}

/// `store` with the credential key loaded, or created (mode 0600) if there
/// is none yet, which is said on stderr. A key file that cannot be used is
/// an error; but when no option named it (neither `--credential-key` nor
/// `--config`) and the data directory does not exist, as when only
/// `--database` is given, there is no key the server could share: the
/// store is returned without one (passwords then go in as Argon2id only),
/// with a warning saying how to name the key.
fn with_credential_key(store: &Store, db: &DbArgs) -> Result<Store, AdminError> {
    let path = credential_key_path(db)?;
    let implicit = db.credential_key.is_none() && db.config.is_none();
    if implicit && !db.data_dir.is_dir() && std::fs::symlink_metadata(&path).is_err() {
        eprintln!(
            "authd: warning: no credential key ({} does not exist): the password is stored as \
             Argon2id only; pass --credential-key FILE or --config FILE (the server's) to \
             store the NT hash for MS-CHAPv2 too",
            db.data_dir.display()
        );
        return Ok(store.clone());
    }
    let (key, created) = CredentialKey::load_or_create(&path)?;
    if created {
        eprintln!(
            "authd: created the credential key {} (mode 0600); the server must read the same \
             file; keep it off database backups",
            path.display()
        );
    }
    Ok(store.clone().with_credential_key(key))
}

/// What a password change stored, for messages.
fn stored(nt_hash: bool) -> &'static str {
    if nt_hash {
        "Argon2id and NT hash: PAP, TTLS-PAP and MS-CHAPv2"
    } else {
        "Argon2id only: PAP and TTLS-PAP"
    }
}

async fn client_command(
    store: &Store,
    cmd: ClientCommand,
    json_output: bool,
    out: &mut String,
) -> Result<(), AdminError> {
    match cmd {
        ClientCommand::Add {
            name,
            address,
            no_require_message_authenticator,
            das_port,
        } => {
            let net: IpNet = address
                .parse()
                .map_err(|e| AdminError::Usage(format!("invalid client address: {e}")))?;
            let secret = read_secret("Shared secret", true)?;
            let secret = Secret::new(secret.as_str())
                .ok_or_else(|| AdminError::Usage("the shared secret must not be empty".into()))?;
            store
                .add_client(&name, net, &secret, !no_require_message_authenticator)
                .await?;
            if let Some(port) = das_port {
                store.set_client_das_port(&name, port).await?;
            }
            done(
                out,
                json_output,
                format!(
                    "client {name:?} ({net}) added; running servers use it within {} s",
                    store::CLIENT_REFRESH_INTERVAL.as_secs()
                ),
            )
        }
        ClientCommand::List => {
            let clients = store.list_clients().await?;
            if json_output {
                return json(out, &clients);
            }
            let rows = clients
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.address.clone(),
                        if c.require_message_authenticator {
                            "yes"
                        } else {
                            "no"
                        }
                        .to_owned(),
                        c.das_port.to_string(),
                    ]
                })
                .collect();
            table(
                out,
                &[
                    "NAME",
                    "ADDRESS",
                    "REQUIRE-MESSAGE-AUTHENTICATOR",
                    "DAS-PORT",
                ],
                rows,
            );
            Ok(())
        }
        ClientCommand::Remove { name } => {
            store.remove_client(&name).await?;
            done(out, json_output, format!("client {name:?} removed"))
        }
    }
}

/// Reads a secret: without echo from the terminal (asked twice when
/// `confirm`), or one line of standard input when it is not a terminal.
fn read_secret(prompt: &str, confirm: bool) -> Result<Zeroizing<String>, AdminError> {
    let secret = if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(
            rpassword::prompt_password(format!("{prompt}: "))
                .map_err(io_err("reading from the terminal"))?,
        );
        if confirm {
            let again = Zeroizing::new(
                rpassword::prompt_password(format!("{prompt} (again): "))
                    .map_err(io_err("reading from the terminal"))?,
            );
            if *again != *first {
                return Err(AdminError::Usage("the two entries differ".into()));
            }
        }
        first
    } else {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(io_err("reading standard input"))?;
        let trimmed = line.trim_end_matches(['\r', '\n']).len();
        line.truncate(trimmed);
        line
    };
    if secret.is_empty() {
        return Err(AdminError::Usage(format!("{prompt}: empty input")));
    }
    Ok(secret)
}

/// Prints `rows` under `headers`, columns padded to their widest cell.
fn table(out: &mut String, headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `YYYY-MM-DD HH:MM:SSZ` (UTC) for Unix seconds, by the civil-from-days
/// algorithm of the proleptic Gregorian calendar.
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests;
