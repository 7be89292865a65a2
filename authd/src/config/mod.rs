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
mod metrics;
mod radsec;
pub use accounting::{AccountingConfig, SqliteSynchronous};
pub use metrics::{DEFAULT_LISTEN as DEFAULT_METRICS_LISTEN, MetricsConfig};
pub use radsec::{RADSEC_SECRET, Radius11Mode, RadsecConfig};

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

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246), EAP-TLS per RFC 5216.
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 (RFC 8446), EAP-TLS per RFC 9190.
    #[serde(rename = "1.3")]
    Tls13,
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        })
    }
}

/// What to do when the configured CRLs cannot tell whether a certificate
/// is revoked (RFC 9190 section 5.4, RFC 5280 section 6.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrlPolicy {
    /// Refuse the certificate.
    #[default]
    Reject,
    /// Accept it for that reason (other checks still apply).
    Allow,
}

/// Server certificate, key and the CAs that issue client certificates.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawTlsConfig")]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub certificate: PathBuf,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1).
    pub private_key: PathBuf,
    /// PEM CA certificate(s) trusted for client certificates; may also
    /// hold CRLs.
    pub ca: PathBuf,
    /// Further PEM CRL files (RFC 5280 section 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crl: Vec<PathBuf>,
    /// With CRLs loaded, a certificate of the client's chain whose issuer
    /// has no CRL: rejected (default) or accepted.
    pub crl_missing: CrlPolicy,
    /// With CRLs loaded, a CRL past its nextUpdate (RFC 5280 section
    /// 5.1.2.5): rejected (default) or still used.
    pub crl_expired: CrlPolicy,
    /// Lowest TLS version offered, default 1.2.
    pub min_version: TlsVersion,
    /// Highest TLS version offered, default 1.3.
    pub max_version: TlsVersion,
    /// Which part of the client certificate names the user:
    /// "common_name" (default), "san_email", "san_dns" or "san_uri".
    #[serde(default)]
    pub peer_identity: IdentitySource,
    /// TLS session resumption with tickets (RFC 5077, RFC 8446 section
    /// 4.6.1), default on.
    pub resumption: bool,
    /// How long a ticket resumes, seconds, default 86400 (one day).
    pub ticket_lifetime_secs: u32,
    /// How long one ticket key encrypts before the next takes over,
    /// seconds, default 3600.
    pub ticket_key_rotation_secs: u32,
    /// WPA3-Enterprise 192-bit: only TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    /// (TLS 1.2) and TLS_AES_256_GCM_SHA384 (TLS 1.3), key exchange on
    /// P-384, every signature ECDSA P-384 with SHA-384 (RFC 9190 §2.4,
    /// RFC 6460). Applies to EAP-TLS and to the PEAP and TTLS tunnels.
    /// Default false.
    #[serde(default)]
    pub suite_b_192: bool,
}

impl TlsConfig {
    /// A TLS section with the default versions and no extra CRL files.
    pub fn new(
        certificate: impl Into<PathBuf>,
        private_key: impl Into<PathBuf>,
        ca: impl Into<PathBuf>,
    ) -> TlsConfig {
        TlsConfig {
            certificate: certificate.into(),
            private_key: private_key.into(),
            ca: ca.into(),
            crl: Vec::new(),
            crl_missing: CrlPolicy::Reject,
            crl_expired: CrlPolicy::Reject,
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            peer_identity: IdentitySource::default(),
            resumption: true,
            ticket_lifetime_secs: DEFAULT_TICKET_LIFETIME_SECS,
            ticket_key_rotation_secs: DEFAULT_TICKET_KEY_ROTATION_SECS,
            suite_b_192: false,
        }
    }

    /// The ticket schedule, when resumption is on.
    pub fn ticket_schedule(&self) -> Option<TicketSchedule> {
        self.resumption.then_some(TicketSchedule {
            lifetime: self.ticket_lifetime_secs,
            rotation: self.ticket_key_rotation_secs,
        })
    }
}

const DEFAULT_TICKET_LIFETIME_SECS: u32 = 86_400;
const DEFAULT_TICKET_KEY_ROTATION_SECS: u32 = 3_600;
/// RFC 8446 section 4.6.1: a ticket lifetime is at most seven days.
const MAX_TICKET_LIFETIME_SECS: u32 = 604_800;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTlsConfig {
    certificate: PathBuf,
    private_key: PathBuf,
    ca: PathBuf,
    #[serde(default)]
    crl: Vec<PathBuf>,
    #[serde(default)]
    crl_missing: CrlPolicy,
    #[serde(default)]
    crl_expired: CrlPolicy,
    #[serde(default = "default_min_version")]
    min_version: TlsVersion,
    #[serde(default = "default_max_version")]
    max_version: TlsVersion,
    #[serde(default)]
    peer_identity: IdentitySource,
    #[serde(default = "default_true")]
    resumption: bool,
    #[serde(default = "default_ticket_lifetime")]
    ticket_lifetime_secs: u32,
    #[serde(default = "default_ticket_key_rotation")]
    ticket_key_rotation_secs: u32,
    #[serde(default)]
    suite_b_192: bool,
}

fn default_ticket_lifetime() -> u32 {
    DEFAULT_TICKET_LIFETIME_SECS
}

fn default_ticket_key_rotation() -> u32 {
    DEFAULT_TICKET_KEY_ROTATION_SECS
}

fn default_min_version() -> TlsVersion {
    TlsVersion::Tls12
}

fn default_max_version() -> TlsVersion {
    TlsVersion::Tls13
}

impl TryFrom<RawTlsConfig> for TlsConfig {
    type Error = String;

    fn try_from(raw: RawTlsConfig) -> Result<TlsConfig, String> {
        if raw.min_version > raw.max_version {
            return Err(format!(
                "min_version {} is above max_version {}",
                raw.min_version, raw.max_version
            ));
        }
        if !(1..=MAX_TICKET_LIFETIME_SECS).contains(&raw.ticket_lifetime_secs) {
            return Err(format!(
                "ticket_lifetime_secs {} must be within 1..={MAX_TICKET_LIFETIME_SECS} \
                 (RFC 8446 section 4.6.1)",
                raw.ticket_lifetime_secs
            ));
        }
        if !(60..=MAX_TICKET_LIFETIME_SECS).contains(&raw.ticket_key_rotation_secs) {
            return Err(format!(
                "ticket_key_rotation_secs {} must be within 60..={MAX_TICKET_LIFETIME_SECS}",
                raw.ticket_key_rotation_secs
            ));
        }
        Ok(TlsConfig {
            certificate: raw.certificate,
            private_key: raw.private_key,
            ca: raw.ca,
            crl: raw.crl,
            crl_missing: raw.crl_missing,
            crl_expired: raw.crl_expired,
            min_version: raw.min_version,
            max_version: raw.max_version,
            peer_identity: raw.peer_identity,
            resumption: raw.resumption,
            ticket_lifetime_secs: raw.ticket_lifetime_secs,
            ticket_key_rotation_secs: raw.ticket_key_rotation_secs,
            suite_b_192: raw.suite_b_192,
        })
    }
}

/// EAP session settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawEapConfig")]
pub struct EapConfig {
    /// Largest TLS payload per EAP-TLS fragment when the request has no
    /// Framed-MTU (RFC 5216 section 2.1.5), default 1398.
    pub fragment_size: usize,
    /// Sessions silent this long are dropped, default 30 s.
    pub session_idle_timeout_secs: u64,
    /// Bound on concurrent EAP sessions, default 65536.
    pub max_sessions: usize,
    /// Bound on a reassembled TLS message (RFC 5216 section 2.1.5, TLS
    /// Message Length), default 65536.
    pub max_tls_message_len: usize,
    /// Bytes charged for all EAP conversations in progress (TLS state and
    /// reassembly buffers, see `sessions::CONVERSATION_BASE_COST`), default
    /// [`DEFAULT_MAX_SESSIONS_MEMORY`].
    pub max_sessions_memory: usize,
    /// EAP methods offered, most preferred first; default all three. The
    /// first is proposed; a Nak switches to another listed one (RFC 3748
    /// section 5.3.1).
    pub methods: Vec<EapMethod>,
    /// PEAP and TTLS: drop a `DOMAIN\` prefix of the inner identity to
    /// find the stored user (Windows sends `DOMAIN\user`), default true.
    pub strip_nt_domain: bool,
    /// PEAP and TTLS: drop an `@realm` suffix of the inner identity to
    /// find the stored user, default false (realms are kept).
    pub strip_realm: bool,
}

/// An EAP method authd can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EapMethod {
    /// EAP-TLS (RFC 5216, RFC 9190): certificates.
    Tls,
    /// PEAPv0 with EAP-MSCHAPv2: passwords (NT hash).
    Peap,
    /// EAP-TTLS (RFC 5281) with PAP, MS-CHAPv2 or EAP-MSCHAPv2 inside.
    Ttls,
}

impl EapMethod {
    /// The EAP type.
    pub fn eap_type(self) -> eap_methods::EapType {
        match self {
            EapMethod::Tls => eap_methods::EapType::Tls,
            EapMethod::Peap => eap_methods::EapType::Peap,
            EapMethod::Ttls => eap_methods::EapType::Ttls,
        }
    }
}

/// Every method, in the default order of preference.
pub const ALL_EAP_METHODS: [EapMethod; 3] = [EapMethod::Tls, EapMethod::Peap, EapMethod::Ttls];

impl EapConfig {
    /// The rule that maps inner identities to stored user names.
    pub fn inner_names(&self) -> InnerNames {
        InnerNames {
            strip_nt_domain: self.strip_nt_domain,
            strip_realm: self.strip_realm,
        }
    }
}

/// How a PEAP or TTLS inner identity names a stored user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnerNames {
    /// Drop a `DOMAIN\` prefix.
    pub strip_nt_domain: bool,
    /// Drop an `@realm` suffix.
    pub strip_realm: bool,
}

impl Default for InnerNames {
    fn default() -> InnerNames {
        InnerNames {
            strip_nt_domain: true,
            strip_realm: false,
        }
    }
}

impl InnerNames {
    /// The stored user name for an inner identity: `DOMAIN\alice` ->
    /// `alice` (with `strip_nt_domain`), `alice@example.org` -> `alice`
    /// (with `strip_realm`).
    pub fn user_name<'a>(&self, inner_identity: &'a str) -> &'a str {
        let mut name = inner_identity;
        if self.strip_nt_domain
            && let Some((_, user)) = name.split_once('\\')
        {
            name = user;
        }
        if self.strip_realm
            && let Some((user, _)) = name.rsplit_once('@')
        {
            name = user;
        }
        name
    }
}

/// 512 MiB: even with every conversation holding a full 64 KiB TLS message
/// in reassembly, conversations stay within it, and the whole process
/// (duplicate cache, PAP, Argon2id buffers) under 1 GiB.
pub const DEFAULT_MAX_SESSIONS_MEMORY: usize = 512 * 1024 * 1024;
/// The smallest conversation budget: each of the table's 16 shards must
/// hold a few conversations with a full TLS message in reassembly.
pub const MIN_SESSIONS_MEMORY: usize = 16 * 1024 * 1024;

impl Default for EapConfig {
    fn default() -> EapConfig {
        EapConfig {
            fragment_size: 1398,
            session_idle_timeout_secs: 30,
            max_sessions: 65536,
            max_tls_message_len: 65536,
            max_sessions_memory: DEFAULT_MAX_SESSIONS_MEMORY,
            methods: ALL_EAP_METHODS.to_vec(),
            strip_nt_domain: true,
            strip_realm: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEapConfig {
    #[serde(default = "default_fragment_size")]
    fragment_size: usize,
    #[serde(default = "default_idle_timeout")]
    session_idle_timeout_secs: u64,
    #[serde(default = "default_65536")]
    max_sessions: usize,
    #[serde(default = "default_65536")]
    max_tls_message_len: usize,
    #[serde(default = "default_max_sessions_memory")]
    max_sessions_memory: usize,
    #[serde(default = "default_methods")]
    methods: Vec<EapMethod>,
    #[serde(default = "default_true")]
    strip_nt_domain: bool,
    #[serde(default)]
    strip_realm: bool,
}

fn default_methods() -> Vec<EapMethod> {
    ALL_EAP_METHODS.to_vec()
}

fn default_max_sessions_memory() -> usize {
    DEFAULT_MAX_SESSIONS_MEMORY
}

fn default_fragment_size() -> usize {
    1398
}

fn default_idle_timeout() -> u64 {
    30
}

fn default_65536() -> usize {
    65536
}

/// Which part of the client certificate names the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdentitySource {
    /// The subject's (first) commonName.
    #[default]
    CommonName,
    /// The first rfc822Name of the subjectAltName (RFC 5280 section 4.2.1.6).
    SanEmail,
    /// The first dNSName of the subjectAltName.
    SanDns,
    /// The first uniformResourceIdentifier of the subjectAltName.
    SanUri,
}

/// Lifetimes of tickets and keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketSchedule {
    /// How long a ticket resumes, seconds.
    pub lifetime: u32,
    /// How long one key encrypts new tickets, seconds.
    pub rotation: u32,
}

/// The smallest fragment worth sending: an EAP-TLS header (RFC 5216 section
/// 3.1) plus some TLS bytes must fit in a minimum-MTU frame.
pub const MIN_FRAGMENT_SIZE: usize = 64;

/// What an EAP-TLS request adds to its TLS data: EAP header (5), Flags (1)
/// and TLS Message Length (4) (RFC 5216 §3.1).
pub const EAP_TLS_HEADER_LEN: usize = 10;
/// Message-Authenticator (RFC 3579 §3.2) and State (16 octets) in every
/// Access-Challenge, with their attribute headers.
const CHALLENGE_FIXED_ATTRIBUTES: usize = 18 + 18;

/// The most TLS data one EAP-TLS request may carry so that its
/// Access-Challenge, with State, Message-Authenticator and Proxy-State
/// attributes of `proxy_state_octets` (headers included) copied from the
/// request, stays within 4096 octets (RFC 2865 §3).
pub fn max_fragment_size(proxy_state_octets: usize) -> usize {
    radius_proto::PacketBuilder::max_eap_message_len(
        CHALLENGE_FIXED_ATTRIBUTES + proxy_state_octets,
    )
    .saturating_sub(EAP_TLS_HEADER_LEN)
}

impl TryFrom<RawEapConfig> for EapConfig {
    type Error = String;

    fn try_from(raw: RawEapConfig) -> Result<EapConfig, String> {
        // Every Access-Challenge must fit the 4096-octet RADIUS limit with
        // its State and Message-Authenticator (Proxy-State, when a request
        // carries some, makes that conversation's fragments smaller).
        let max = max_fragment_size(0);
        if !(MIN_FRAGMENT_SIZE..=max).contains(&raw.fragment_size) {
            return Err(format!(
                "fragment_size {} must be within {MIN_FRAGMENT_SIZE}..={max}: larger fragments do not fit an Access-Challenge of 4096 octets (RFC 2865 section 3) with State and Message-Authenticator",
                raw.fragment_size
            ));
        }
        if raw.session_idle_timeout_secs == 0 {
            return Err("session_idle_timeout_secs must be at least 1".into());
        }
        if raw.max_sessions == 0 {
            return Err("max_sessions must be at least 1".into());
        }
        if raw.max_tls_message_len < 16_384 {
            return Err(format!(
                "max_tls_message_len {} is below one TLS record (16384)",
                raw.max_tls_message_len
            ));
        }
        if raw.max_sessions_memory < MIN_SESSIONS_MEMORY {
            return Err(format!(
                "max_sessions_memory {} is below {MIN_SESSIONS_MEMORY} (16 MiB)",
                raw.max_sessions_memory
            ));
        }
        if raw.methods.is_empty() {
            return Err("methods must name at least one of \"tls\", \"peap\", \"ttls\"".into());
        }
        for (i, m) in raw.methods.iter().enumerate() {
            if raw.methods[..i].contains(m) {
                return Err(format!("methods lists {m:?} twice"));
            }
        }
        Ok(EapConfig {
            fragment_size: raw.fragment_size,
            session_idle_timeout_secs: raw.session_idle_timeout_secs,
            max_sessions: raw.max_sessions,
            max_tls_message_len: raw.max_tls_message_len,
            max_sessions_memory: raw.max_sessions_memory,
            methods: raw.methods,
            strip_nt_domain: raw.strip_nt_domain,
            strip_realm: raw.strip_realm,
        })
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
        for (i, c) in self.clients.iter().enumerate() {
            if let Some(prev) = self.clients[..i].iter().find(|p| p.name == c.name) {
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
