//! The store's records, as the rest of authd sees them, and the rows they
//! are read from.

use std::fmt;

use serde::Serialize;

/// Optional attributes of a new user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAttributes {
    /// The group whose VLAN and Session-Timeout apply unless overridden.
    pub group: Option<String>,
    /// Tunnel-Private-Group-Id (RFC 3580 section 3.31) for this user.
    pub vlan: Option<String>,
    /// Session-Timeout in seconds (RFC 2865 section 5.27) for this user.
    pub session_timeout: Option<u32>,
}

/// A change to one optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Change<T> {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Set it to this value.
    Set(T),
    /// Remove the value (inherit from the group, for users).
    Clear,
}

impl<T: Clone> Change<T> {
    /// `None` to keep, `Some(None)` to clear, `Some(Some(v))` to set.
    pub fn as_update(&self) -> Option<Option<T>> {
        match self {
            Change::Keep => None,
            Change::Set(v) => Some(Some(v.clone())),
            Change::Clear => Some(None),
        }
    }

    /// `Set(v)` for `Some(v)`, `Keep` for `None`.
    pub fn set_if(v: Option<T>) -> Change<T> {
        v.map_or(Change::Keep, Change::Set)
    }
}

impl<T: fmt::Display> Change<T> {
    fn describe(&self, field: &str, out: &mut Vec<String>) {
        match self {
            Change::Keep => {}
            Change::Set(v) => out.push(format!("{field}={v}")),
            Change::Clear => out.push(format!("{field}=-")),
        }
    }
}

/// Changes to a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// Its group.
    pub group: Change<String>,
    /// Its own VLAN.
    pub vlan: Change<String>,
    /// Its own Session-Timeout, seconds.
    pub session_timeout: Change<u32>,
}

impl UserUpdate {
    /// `field=value` pairs for the audit log.
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        self.group.describe("group", &mut out);
        self.vlan.describe("vlan", &mut out);
        self.session_timeout.describe("session_timeout", &mut out);
        out.join(" ")
    }
}

/// Changes to a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupUpdate {
    /// Its VLAN.
    pub vlan: Change<String>,
    /// Its Session-Timeout, seconds.
    pub session_timeout: Change<u32>,
}

impl GroupUpdate {
    /// `field=value` pairs for the audit log.
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        self.vlan.describe("vlan", &mut out);
        self.session_timeout.describe("session_timeout", &mut out);
        out.join(" ")
    }
}

/// A user as listed. The password hash is not exposed, only whether
/// there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub group: Option<String>,
    pub vlan: Option<String>,
    pub session_timeout: Option<u32>,
    pub has_password: bool,
    /// Whether an encrypted NT hash (MS-CHAPv2) is stored.
    pub has_nt_hash: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// What authorization needs to know about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub enabled: bool,
    pub group: Option<String>,
    /// The user's VLAN, else its group's.
    pub vlan: Option<String>,
    /// The user's Session-Timeout, else its group's.
    pub session_timeout: Option<u32>,
}

/// A group as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub name: String,
    pub vlan: Option<String>,
    pub session_timeout: Option<u32>,
    /// Number of users in it.
    pub members: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A NAS client as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NasClientRecord {
    pub name: String,
    /// Address or CIDR, as stored.
    pub address: String,
    pub require_message_authenticator: bool,
    /// Where its Disconnect-Requests go (RFC 5176), the default 3799 when
    /// not set.
    pub das_port: u16,
    /// Unix seconds.
    pub created_at: i64,
}

/// The issuer of a certificate (RFC 5280 section 4.1.2.4): a serial number
/// is unique only per issuer, so the store keys certificates by both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerName {
    /// The issuer Name, DER, exactly as the certificate carries it.
    pub der: Vec<u8>,
    /// The same as text, e.g. `CN=Example CA`.
    pub text: String,
}

impl IssuerName {
    /// The store's key for this issuer: SHA-256 of the Name's DER,
    /// lowercase hex.
    pub fn key(&self) -> String {
        issuer_key(&self.der)
    }
}

/// SHA-256 of an issuer Name's DER, lowercase hex: how the store keys
/// issuers.
pub fn issuer_key(name_der: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, name_der).as_ref())
}

/// A certificate to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCertificate {
    /// Who issued it.
    pub issuer: IssuerName,
    /// Serial number, hex.
    pub serial: String,
    /// Subject DN as text, e.g. `CN=alice`.
    pub subject: String,
    /// The user it was issued to.
    pub user: String,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

/// A recorded certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateRecord {
    /// The issuer's key ([`issuer_key`]); empty for a certificate recorded
    /// before issuers were (authd's own CA, found by serial alone).
    pub issuer: String,
    /// The issuer as text; empty when `issuer` is.
    pub issuer_name: String,
    /// Lowercase hex, no leading zero octets.
    pub serial: String,
    pub subject: String,
    pub user: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// Unix seconds, if revoked.
    pub revoked_at: Option<i64>,
    /// RFC 5280 section 5.3.1 reason name, if revoked.
    pub reason: Option<String>,
}

/// What the store knows about a presented certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateStatus {
    /// Not recorded (issued elsewhere): the store has no opinion.
    Unknown,
    /// Recorded for `user`, not revoked.
    Valid { user: String },
    /// Revoked at `at` (Unix seconds).
    Revoked {
        user: String,
        at: i64,
        reason: Option<String>,
    },
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Microseconds since the Unix epoch.
    pub at_micros: i64,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub detail: String,
}

/// CRLReason values (RFC 5280 section 5.3.1), by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationReasonName {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
    AaCompromise,
}

impl RevocationReasonName {
    const ALL: [RevocationReasonName; 9] = [
        RevocationReasonName::Unspecified,
        RevocationReasonName::KeyCompromise,
        RevocationReasonName::CaCompromise,
        RevocationReasonName::AffiliationChanged,
        RevocationReasonName::Superseded,
        RevocationReasonName::CessationOfOperation,
        RevocationReasonName::CertificateHold,
        RevocationReasonName::PrivilegeWithdrawn,
        RevocationReasonName::AaCompromise,
    ];

    /// The ASN.1 name, as RFC 5280 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReasonName::Unspecified => "unspecified",
            RevocationReasonName::KeyCompromise => "keyCompromise",
            RevocationReasonName::CaCompromise => "cACompromise",
            RevocationReasonName::AffiliationChanged => "affiliationChanged",
            RevocationReasonName::Superseded => "superseded",
            RevocationReasonName::CessationOfOperation => "cessationOfOperation",
            RevocationReasonName::CertificateHold => "certificateHold",
            RevocationReasonName::PrivilegeWithdrawn => "privilegeWithdrawn",
            RevocationReasonName::AaCompromise => "aACompromise",
        }
    }

    /// The reason for a name in any case, with or without `-`/`_`
    /// (`key-compromise`, `keyCompromise`, `KEY_COMPROMISE`).
    pub fn parse(s: &str) -> Option<RevocationReasonName> {
        let folded: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().to_ascii_lowercase() == folded)
    }

    /// The names accepted by [`RevocationReasonName::parse`], for help texts.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.into_iter().map(Self::as_str)
    }
}

impl fmt::Display for RevocationReasonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn timeout(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

pub(super) const USER_SELECT: &str = "SELECT name, enabled, group_name, vlan, session_timeout, \
     password_hash IS NOT NULL AS has_password, \
     nt_hash_encrypted IS NOT NULL AS has_nt_hash, created_at FROM users";

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    name: String,
    enabled: bool,
    group_name: Option<String>,
    vlan: Option<String>,
    session_timeout: Option<i64>,
    has_password: bool,
    has_nt_hash: bool,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        User {
            name: r.name,
            enabled: r.enabled,
            group: r.group_name,
            vlan: r.vlan,
            session_timeout: timeout(r.session_timeout),
            has_password: r.has_password,
            has_nt_hash: r.has_nt_hash,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuthorizationRow {
    enabled: bool,
    group_name: Option<String>,
    vlan: Option<String>,
    session_timeout: Option<i64>,
    group_vlan: Option<String>,
    group_session_timeout: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(super) struct PasswordRow {
    #[sqlx(flatten)]
    pub(super) authorization: AuthorizationRow,
    pub(super) password_hash: Option<String>,
}

/// A key that encrypts TLS session tickets, as stored. `secret` is wiped
/// when dropped and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TicketKeyRecord {
    /// Unique, increasing: the newest key has the highest generation.
    pub generation: i64,
    pub secret: zeroize::Zeroizing<Vec<u8>>,
    /// Unix seconds from which the key encrypts new tickets.
    pub not_before: i64,
    /// Unix seconds from which the key no longer decrypts any ticket.
    pub not_after: i64,
}

impl std::fmt::Debug for TicketKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketKeyRecord")
            .field("generation", &self.generation)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TicketKeyRow {
    pub(super) generation: i64,
    pub(super) secret: String,
    pub(super) not_before: i64,
    pub(super) not_after: i64,
}

impl From<AuthorizationRow> for Authorization {
    fn from(r: AuthorizationRow) -> Authorization {
        Authorization {
            enabled: r.enabled,
            group: r.group_name,
            vlan: r.vlan.or(r.group_vlan),
            session_timeout: timeout(r.session_timeout).or(timeout(r.group_session_timeout)),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct GroupRow {
    name: String,
    vlan: Option<String>,
    session_timeout: Option<i64>,
    created_at: i64,
    members: i64,
}

impl From<GroupRow> for Group {
    fn from(r: GroupRow) -> Group {
        Group {
            name: r.name,
            vlan: r.vlan,
            session_timeout: timeout(r.session_timeout),
            members: r.members,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ClientRow {
    name: String,
    address: String,
    require_message_authenticator: bool,
    das_port: Option<i64>,
    created_at: i64,
}

impl From<ClientRow> for NasClientRecord {
    fn from(r: ClientRow) -> NasClientRecord {
        NasClientRecord {
            name: r.name,
            address: r.address,
            require_message_authenticator: r.require_message_authenticator,
            das_port: super::nas::das_port_or_default(r.das_port),
            created_at: r.created_at,
        }
    }
}

/// Only read to build the server's client table; the secret goes straight
/// into a zeroizing buffer.
#[derive(sqlx::FromRow)]
pub(super) struct ClientSecretRow {
    pub(super) name: String,
    pub(super) address: String,
    #[sqlx(try_from = "String")]
    pub(super) secret: zeroize::Zeroizing<String>,
    pub(super) require_message_authenticator: bool,
}

pub(super) const CERT_SELECT: &str = "SELECT issuer, issuer_name, serial, subject, user_name, \
     issued_at, not_after, revoked_at, reason FROM certificates";

#[derive(sqlx::FromRow)]
pub(super) struct CertificateRow {
    pub(super) issuer: String,
    issuer_name: String,
    serial: String,
    subject: String,
    user_name: String,
    issued_at: i64,
    not_after: i64,
    revoked_at: Option<i64>,
    reason: Option<String>,
}

impl From<CertificateRow> for CertificateRecord {
    fn from(r: CertificateRow) -> CertificateRecord {
        CertificateRecord {
            issuer: r.issuer,
            issuer_name: r.issuer_name,
            serial: r.serial,
            subject: r.subject,
            user: r.user_name,
            issued_at: r.issued_at,
            not_after: r.not_after,
            revoked_at: r.revoked_at,
            reason: r.reason,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    at_micros: i64,
    actor: String,
    action: String,
    object: String,
    detail: String,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> AuditEntry {
        AuditEntry {
            at_micros: r.at_micros,
            actor: r.actor,
            action: r.action,
            object: r.object,
            detail: r.detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_reasons_parse_in_any_spelling() {
        assert_eq!(
            RevocationReasonName::parse("key-compromise"),
            Some(RevocationReasonName::KeyCompromise)
        );
        assert_eq!(
            RevocationReasonName::parse("keyCompromise"),
            Some(RevocationReasonName::KeyCompromise)
        );
        assert_eq!(
            RevocationReasonName::parse("CA_COMPROMISE"),
            Some(RevocationReasonName::CaCompromise)
        );
        assert_eq!(RevocationReasonName::parse("removeFromCRL"), None);
        assert_eq!(RevocationReasonName::parse(""), None);
        for name in RevocationReasonName::names() {
            assert_eq!(RevocationReasonName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn user_overrides_group() {
        let a = Authorization::from(AuthorizationRow {
            enabled: true,
            group_name: Some("staff".into()),
            vlan: None,
            session_timeout: Some(60),
            group_vlan: Some("10".into()),
            group_session_timeout: Some(3600),
        });
        assert_eq!(a.vlan.as_deref(), Some("10"));
        assert_eq!(a.session_timeout, Some(60));
    }

    #[test]
    fn update_description() {
        let u = UserUpdate {
            group: Change::Set("staff".into()),
            vlan: Change::Clear,
            session_timeout: Change::Keep,
        };
        assert_eq!(u.describe(), "group=staff vlan=-");
    }
}
