//! `[tls]`: the server certificate, the CA that issues client
//! certificates, CRLs, versions, the peer identity and session tickets.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::*;

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
