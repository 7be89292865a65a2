//! The daemon's configuration file (TOML).
//!
//! Every table denies unknown keys: a typo is an error at start naming the
//! file, line, column and key, never a silently ignored setting. Relative
//! paths resolve against the directory of the configuration file, so a
//! configuration and its PKI can be moved together.
//!
//! The RADIUS-specific settings cite their RFCs: clients and shared secrets
//! (RFC 2865 section 3), Message-Authenticator (RFC 3579 section 3.2; required
//! on every Access-Request by default against BlastRADIUS, CVE-2024-3596),
//! EAP-TLS fragmentation
//! (RFC 5216 section 2.1.5) and duplicate detection (RFC 5080 section 2.2.2).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cidr::IpNet;

mod accounting;
mod eap;
mod metrics;
mod radsec;
mod tls;
pub use accounting::{AccountingConfig, SqliteSynchronous};
pub use eap::*;
pub use metrics::{DEFAULT_LISTEN as DEFAULT_METRICS_LISTEN, MetricsConfig};
pub use radsec::{RADSEC_REQUEST_CHARGE, RADSEC_SECRET, Radius11Mode, RadsecConfig};
pub use tls::*;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// UDP addresses to listen on.
    #[serde(default)]
    pub listen: Listen,
    /// RADIUS clients (NAS), TOML `[[client]]` tables.
    #[serde(default, rename = "client")]
    pub clients: Vec<ClientConfig>,
    /// Server certificate, key and client CA.
    pub tls: TlsConfig,
    /// EAP session limits and fragmentation.
    #[serde(default)]
    pub eap: EapConfig,
    /// RADIUS transport settings.
    #[serde(default)]
    pub radius: RadiusConfig,
    /// PAP (User-Password) against the store's password hashes.
    #[serde(default)]
    pub pap: PapConfig,
    /// Failing fast while the store is down.
    #[serde(default)]
    pub store_breaker: StoreBreakerConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Accounting (RFC 2866) into the store.
    #[serde(default)]
    pub accounting: AccountingConfig,
    /// The Prometheus endpoint; absent: none.
    #[serde(default, skip_serializing_if = "MetricsConfig::is_off")]
    pub metrics: MetricsConfig,
    /// RADIUS over TLS (`radsec.rs`).
    #[serde(default)]
    pub radsec: RadsecConfig,
    /// User store; absent means no store (certificate-only authorisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseConfig>,
}

/// Listening sockets (RFC 2865 section 3: authentication on UDP 1812;
/// RFC 2866: accounting on UDP 1813).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// Authentication socket, default `127.0.0.1:1812`.
    #[serde(default = "default_auth_addr")]
    pub auth: SocketAddr,
    /// Accounting socket; absent means accounting is not served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acct: Option<SocketAddr>,
    /// RADIUS over TLS (RFC 6614) listener; absent means off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radsec: Option<SocketAddr>,
}

fn default_auth_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1812)
}

impl Default for Listen {
    fn default() -> Listen {
        Listen {
            auth: default_auth_addr(),
            acct: None,
            radsec: None,
        }
    }
}

/// One RADIUS client (NAS), matched by source address (RFC 2865 section 3).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// A name for logs.
    pub name: String,
    /// Source addresses allowed to use this client's secret.
    pub address: IpNet,
    /// The shared secret; left out by a RadSec client (`radsec.rs`).
    #[serde(default = "radsec::default_secret")]
    pub secret: Secret,
    /// A RadSec client's name in its certificate (SAN dNSName, else CN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_name: Option<String>,
    /// Drop Access-Requests without a valid Message-Authenticator
    /// (RFC 3579 section 3.2). Default `true`: the BlastRADIUS attack
    /// (CVE-2024-3596) forges responses to requests that lack it.
    #[serde(default = "default_true")]
    pub require_message_authenticator: bool,
    /// Drop Access-Requests that carry Proxy-State without
    /// Message-Authenticator, even when `require_message_authenticator` is
    /// off (BlastRADIUS mitigation for clients that cannot sign every
    /// request). Default `true`.
    #[serde(default = "default_true")]
    pub limit_proxy_state: bool,
    /// UDP port of the NAS's Dynamic Authorization server, where
    /// Disconnect-Requests go (RFC 5176 section 2.1; default 3799).
    #[serde(default = "crate::das::default_das_port")]
    pub das_port: u16,
}

fn default_true() -> bool {
    true
}

/// A RADIUS shared secret (RFC 2865 section 3).
///
/// Zeroed on drop; `Debug` never shows it. Empty secrets are rejected when
/// parsing: RFC 2865 section 3 says the secret MUST NOT be empty.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret; `None` if it is empty.
    pub fn new(secret: impl Into<String>) -> Option<Secret> {
        let s = Zeroizing::new(secret.into());
        if s.is_empty() { None } else { Some(Secret(s)) }
    }

    /// The secret's bytes, for computing authenticators.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        let s = Zeroizing::new(String::deserialize(d)?);
        Secret::new(s.as_str())
            .ok_or_else(|| serde::de::Error::custom("the shared secret must not be empty"))
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// PAP settings (RFC 2865 section 5.2). PAP needs a `[database]`: users
/// and their Argon2id password hashes live there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PapConfig {
    /// Answer Access-Requests carrying User-Password, default true.
    pub enabled: bool,
    /// How long a password that verified is remembered (as a keyed tag,
    /// never in clear) so that the next request skips Argon2id, seconds;
    /// 0 turns the cache off. Any change in the store empties it at once.
    /// Default 600.
    pub cache_secs: u64,
    /// Bound on remembered passwords, default 65536.
    pub cache_entries: usize,
    /// PAP checks that need the store and Argon2id admitted at once
    /// (waiting or running); past it a request is dropped
    /// (`pap_queue_full`). PAP's share of the server's in-flight budget.
    /// Default 256.
    pub max_waiting: usize,
    /// A check not started within this many milliseconds of its arrival
    /// is dropped (`pap_deadline`): the NAS has retransmitted by then.
    /// Default 2000.
    pub max_wait_ms: u64,
}

impl Default for PapConfig {
    fn default() -> PapConfig {
        PapConfig {
            enabled: true,
            cache_secs: 600,
            cache_entries: 65536,
            max_waiting: 256,
            max_wait_ms: 2000,
        }
    }
}

/// The circuit breaker in front of the store on the request path: after
/// `failures` consecutive failed or timed-out reads the store is taken as
/// down for `open_secs`, and requests that need it are answered at once
/// (`store_unavailable`) instead of each waiting for the timeout; then one
/// probe read decides.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawStoreBreakerConfig")]
pub struct StoreBreakerConfig {
    /// Consecutive failures that open the breaker, default 5.
    pub failures: u32,
    /// Seconds the breaker stays open before a probe, default 10.
    pub open_secs: u64,
    /// A store read taking longer than this many milliseconds counts as
    /// failed, default 1000.
    pub timeout_ms: u64,
}

impl Default for StoreBreakerConfig {
    fn default() -> StoreBreakerConfig {
        StoreBreakerConfig {
            failures: 5,
            open_secs: 10,
            timeout_ms: 1000,
        }
    }
}

/// `[store_breaker]` as written, checked into [`StoreBreakerConfig`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStoreBreakerConfig {
    #[serde(default = "default_breaker_failures")]
    failures: u32,
    #[serde(default = "default_breaker_open_secs")]
    open_secs: u64,
    #[serde(default = "default_breaker_timeout_ms")]
    timeout_ms: u64,
}

fn default_breaker_failures() -> u32 {
    StoreBreakerConfig::default().failures
}

fn default_breaker_open_secs() -> u64 {
    StoreBreakerConfig::default().open_secs
}

fn default_breaker_timeout_ms() -> u64 {
    StoreBreakerConfig::default().timeout_ms
}

impl TryFrom<RawStoreBreakerConfig> for StoreBreakerConfig {
    type Error = String;

    fn try_from(raw: RawStoreBreakerConfig) -> Result<StoreBreakerConfig, String> {
        if !(1..=1000).contains(&raw.failures) {
            return Err(format!("failures {} must be within 1..=1000", raw.failures));
        }
        if !(1..=3600).contains(&raw.open_secs) {
            return Err(format!(
                "open_secs {} must be within 1..=3600",
                raw.open_secs
            ));
        }
        if !(10..=60_000).contains(&raw.timeout_ms) {
            return Err(format!(
                "timeout_ms {} must be within 10..=60000 (a store read slower than the NAS's retransmission timeout helps no one)",
                raw.timeout_ms
            ));
        }
        Ok(StoreBreakerConfig {
            failures: raw.failures,
            open_secs: raw.open_secs,
            timeout_ms: raw.timeout_ms,
        })
    }
}

/// RADIUS transport settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RadiusConfig {
    /// How long a reply is kept to answer a retransmitted request
    /// (RFC 5080 section 2.2.2), default 10 s.
    pub duplicate_cache_secs: u64,
    /// Bound on cached replies, default 65536.
    pub duplicate_cache_entries: usize,
}

impl Default for RadiusConfig {
    fn default() -> RadiusConfig {
        RadiusConfig {
            duplicate_cache_secs: 10,
            duplicate_cache_entries: 65536,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event (default).
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter directive, default `info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

/// The user store.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://...` or `postgres://...`; may hold a password, so `Debug`
    /// shows it redacted.
    pub url: String,
    /// The credential key file (32 octets, mode 0600, created on first
    /// start) that encrypts the NT hashes MS-CHAPv2 needs; kept outside
    /// the database. Relative to the configuration file's directory;
    /// default `credential.key` there. `None` only in a configuration
    /// built in code rather than read: then there is no key, and no user
    /// has an MS-CHAPv2 credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_key: Option<PathBuf>,
}

impl DatabaseConfig {
    /// The store at `url`, without a credential key.
    pub fn new(url: impl Into<String>) -> DatabaseConfig {
        DatabaseConfig {
            url: url.into(),
            credential_key: None,
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &crate::logsafe::redact_database_url(&self.url))
            .field("credential_key", &self.credential_key)
            .finish()
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The configuration file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The TOML is malformed, or a key is unknown, missing or has a bad value.
    #[error("{}:{line}:{column}: {message}{}", path.display(), key.as_ref().map(|k| format!(" (key `{k}`)")).unwrap_or_default())]
    Syntax {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line of the offending text (0 if unknown).
        line: usize,
        /// 1-based column, in characters (0 if unknown).
        column: usize,
        /// The offending key as `table.key`, when it can be told.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The file parses but its settings contradict each other.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// A configuration with every default and the given TLS files.
    pub fn new(tls: TlsConfig) -> Config {
        Config {
            listen: Listen::default(),
            clients: Vec::new(),
            tls,
            eap: EapConfig::default(),
            radius: RadiusConfig::default(),
            pap: PapConfig::default(),
            store_breaker: StoreBreakerConfig::default(),
            log: LogConfig::default(),
            accounting: AccountingConfig::default(),
            metrics: MetricsConfig::default(),
            radsec: RadsecConfig::default(),
            database: None,
        }
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses `text`; `origin` names the file in errors and its directory is
    /// the base of relative paths.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let span = e.span();
            let (line, column) = span
                .as_ref()
                .map(|s| line_column(text, s.start))
                .unwrap_or((0, 0));
            ConfigError::Syntax {
                path: origin.to_owned(),
                line,
                column,
                key: key_at(text, span, e.message()),
                message: e.message().trim_end().to_owned(),
            }
        })?;
        config.validate(origin)?;
        let base = origin.parent().unwrap_or(Path::new(""));
        config.resolve_paths(base);
        Ok(config)
    }

    /// The configuration as TOML that [`Config::parse`] reads back.
    pub fn to_toml(&self) -> String {
        // Every field is a string, number, bool, path or table: serialising
        // cannot fail unless a path is not UTF-8, which `Display` covers.
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
    }

    fn validate(&self, origin: &Path) -> Result<(), ConfigError> {
        // A map, not a scan per client: a file may list 100,000 clients.
        let mut names = std::collections::HashMap::with_capacity(self.clients.len());
        for c in &self.clients {
            if let Some(prev) = names.insert(c.name.as_str(), c) {
                return Err(ConfigError::Invalid {
                    path: origin.to_owned(),
                    message: format!(
                        "two clients are named `{}` ({} and {})",
                        c.name, prev.address, c.address
                    ),
                });
            }
        }
        radsec::validate(self).map_err(|message| ConfigError::Invalid {
            path: origin.to_owned(),
            message,
        })
    }

    fn resolve_paths(&mut self, base: &Path) {
        self.radsec.resolve_paths(base);
        let tls = &mut self.tls;
        for p in [&mut tls.certificate, &mut tls.private_key, &mut tls.ca]
            .into_iter()
            .chain(tls.crl.iter_mut())
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(db) = &mut self.database {
            let key = db
                .credential_key
                .get_or_insert_with(|| PathBuf::from(crate::credkey::DEFAULT_FILE));
            if key.is_relative() {
                *key = base.join(&*key);
            }
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let at = floor_char_boundary(text, at.min(text.len()));
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Names the key an error is about, as `table.key`.
///
/// toml reports a span: on the key for an unknown field, on the value for a
/// bad value, on the table for a missing field or a rejected table. The key
/// is read from the message when it quotes one, else from the source line.
fn key_at(text: &str, span: Option<Range<usize>>, message: &str) -> Option<String> {
    let quoted = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"));
    let Some(span) = span else {
        return quoted.map(str::to_owned);
    };
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let line_start = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text
        .get(start..)?
        .find('\n')
        .map_or(text.len(), |i| start + i);
    let line = text.get(line_start..line_end)?;
    let header = header_name(line);
    let join = |table: Option<String>, key: &str| match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_owned(),
    };
    match (quoted, header) {
        // A table is missing a key: the span is that table.
        (Some(k), header) if message.starts_with("missing field") => {
            Some(join(header.or_else(|| table_before(text, line_start)), k))
        }
        // An unknown table: the key is the header's name.
        (Some(_), Some(h)) => Some(h),
        (Some(k), None) => Some(join(table_before(text, line_start), k)),
        // A rejected table as a whole (e.g. min_version above max_version).
        (None, Some(h)) => Some(h),
        (None, None) => {
            let (k, _) = line.split_once('=')?;
            Some(join(table_before(text, line_start), k.trim()))
        }
    }
}

/// `tls` for a line `[tls]`, `client` for `[[client]]`, else `None`.
fn header_name(line: &str) -> Option<String> {
    let l = line.trim();
    (l.starts_with('[') && l.ends_with(']') && !l.contains('='))
        .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
}

/// The name of the `[table]` or `[[table]]` header above byte `line_start`.
fn table_before(text: &str, line_start: usize) -> Option<String> {
    text.get(..line_start)?.lines().rev().find_map(header_name)
}

#[cfg(test)]
mod tests;
