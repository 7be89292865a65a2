//! Authorization: after EAP authenticated a peer, decide whether it may
//! connect and with which attributes.
//!
//! For EAP-TLS the identity is the one the certificate proves, not the EAP
//! identity, which a peer may set to anything (RFC 5216 section 5.2). Which
//! part of the certificate names the user is configurable
//! ([`IdentitySource`]): the subject CN by default, or a subjectAltName.
//!
//! Without a store every authenticated peer is accepted under that name.
//! With a store ([`Policy::with_store`]) the name must be an enabled user,
//! and a certificate the store recorded (by issuer and serial, whichever CA
//! issued it) must not be revoked there; the Access-Accept carries the
//! user's VLAN and Session-Timeout, else its group's. What the store said
//! is cached until its change generation moves (every audited change bumps
//! it; servers poll it every second), so a change applies within a second,
//! without a restart, and an authentication usually costs no query. CRL files are checked beside this by the
//! TLS layer. A store that cannot be read rejects (fail closed).

use eap_methods::server::PeerVerified;

use std::sync::Arc;
use std::time::Instant;

use crate::certs::LeafFacts;
use crate::gencache::{GenerationCache, UNKNOWN_GENERATION};
use crate::store::breaker::Breaker;
use crate::store::{Authorization, CertificateStatus, Store};

/// What the policy decided.
#[derive(Debug)]
pub enum Decision {
    Accept(Accept),
    Reject { label: &'static str, why: String },
}

/// Attributes of an Access-Accept that depend on the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    pub user_name: String,
    /// Tunnel-Private-Group-Id with Tunnel-Type VLAN (13) and
    /// Tunnel-Medium-Type IEEE-802 (6) (RFC 3580 section 3.31).
    pub vlan: Option<String>,
    /// Session-Timeout, seconds (RFC 2865 section 5.27).
    pub session_timeout: Option<u32>,
}

pub use crate::config::IdentitySource;

impl IdentitySource {
    fn describe(self) -> &'static str {
        match self {
            IdentitySource::CommonName => "subject common name",
            IdentitySource::SanEmail => "subjectAltName rfc822Name",
            IdentitySource::SanDns => "subjectAltName dNSName",
            IdentitySource::SanUri => "subjectAltName URI",
        }
    }
}

/// Bound on each cached map.
const MAX_CACHED: usize = 65_536;

/// What the store said about users and certificates, valid while its change
/// generation (bumped by every audited change, polled every second) stays
/// the same: an authentication then costs no query.
#[derive(Debug)]
struct StoreCache {
    users: GenerationCache<String, Option<Authorization>>,
    /// Keyed by [`CertificateKey::bytes`].
    certificates: GenerationCache<Vec<u8>, CertificateStatus>,
}

impl Default for StoreCache {
    fn default() -> StoreCache {
        StoreCache {
            users: GenerationCache::new(MAX_CACHED, None),
            certificates: GenerationCache::new(MAX_CACHED, None),
        }
    }
}

impl StoreCache {
    /// Returns whether the generation moved (everything cached dropped).
    fn set_generation(&self, generation: i64) -> bool {
        let users = self.users.set_generation(generation);
        let certificates = self.certificates.set_generation(generation);
        users || certificates
    }
}

#[derive(Debug, Default)]
pub struct Policy {
    store: Option<Store>,
    identity: IdentitySource,
    cache: StoreCache,
    /// Store reads fail fast while the store is down (shared with PAP).
    breaker: Option<Arc<Breaker>>,
}

impl Policy {
    /// No store: accept every authenticated peer under its certificate name.
    pub fn new() -> Self {
        Policy::default()
    }

    /// Authorize against `store`.
    pub fn with_store(store: Store) -> Self {
        Policy {
            store: Some(store),
            identity: IdentitySource::default(),
            cache: StoreCache::default(),
            breaker: None,
        }
    }

    /// Read the store through `breaker`: after repeated failures the
    /// policy refuses at once (store_unavailable) instead of waiting on a
    /// store that is down.
    pub fn with_breaker(mut self, breaker: Arc<Breaker>) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// The breaker store reads go through, if any.
    pub fn breaker(&self) -> Option<&Arc<Breaker>> {
        self.breaker.as_ref()
    }

    /// One store read, through the breaker when there is one.
    async fn read<T>(
        &self,
        read: impl std::future::Future<Output = Result<T, crate::store::StoreError>>,
    ) -> Result<T, String> {
        match &self.breaker {
            Some(b) => b
                .call(Instant::now(), read)
                .await
                .map_err(|e| e.to_string()),
            None => read.await.map_err(|e| e.to_string()),
        }
    }

    /// Name users by `source` instead of the subject CN.
    pub fn identity_source(mut self, source: IdentitySource) -> Self {
        self.identity = source;
        self
    }

    /// The store, if any.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// The store's change generation is `generation`: what was cached under
    /// another one is dropped. `true` if it moved.
    pub fn set_store_generation(&self, generation: i64) -> bool {
        self.cache.set_generation(generation)
    }

    /// The change generation could not be read: drop the cache and read
    /// the store on every authentication until it can.
    pub fn store_generation_unknown(&self) {
        self.cache.set_generation(UNKNOWN_GENERATION);
    }

    async fn certificate_status(
        &self,
        store: &Store,
        cert: &CertificateKey,
    ) -> Result<CertificateStatus, String> {
        let now = Instant::now();
        let generation = self.cache.certificates.generation();
        if let Some(s) = self.cache.certificates.get(&cert.bytes[..], now) {
            return Ok(s);
        }
        let status = self
            .read(store.certificate_status(cert.issuer(), cert.serial()))
            .await?;
        self.cache
            .certificates
            .put(cert.bytes.clone(), generation, status.clone(), now);
        Ok(status)
    }

    async fn authorization(
        &self,
        store: &Store,
        user: &str,
    ) -> Result<Option<Authorization>, String> {
        let now = Instant::now();
        let generation = self.cache.users.generation();
        if let Some(a) = self.cache.users.get(user, now) {
            return Ok(a);
        }
        let found = self.read(store.authorization(user)).await?;
        self.cache
            .users
            .put(user.to_owned(), generation, found.clone(), now);
        Ok(found)
    }

    pub async fn authorize(&self, auth: &PeerVerified) -> Decision {
        let leaf = auth.peer_certificates.first().map(|c| c.as_ref());
        self.authorize_peer(&auth.identity, leaf).await
    }

    /// The decision for a peer that proved `leaf` (DER, if it presented a
    /// certificate) and said `eap_identity`.
    pub async fn authorize_peer(&self, eap_identity: &str, leaf: Option<&[u8]>) -> Decision {
        let leaf = leaf.map(LeafFacts::parse);
        self.authorize_leaf(eap_identity, leaf.as_ref().map(|r| r.as_ref()))
            .await
    }

    /// [`Policy::authorize_peer`] with the leaf already read (or why it
    /// could not be): what the verification cache keeps.
    pub async fn authorize_leaf(
        &self,
        eap_identity: &str,
        leaf: Option<Result<&LeafFacts, &String>>,
    ) -> Decision {
        let (user_name, cert) = match leaf {
            Some(read) => match read
                .map_err(String::clone)
                .and_then(|l| leaf_identity(l, self.identity))
            {
                Ok(found) => found,
                Err(why) => {
                    return Decision::Reject {
                        label: "certificate_without_identity",
                        why,
                    };
                }
            },
            None => (eap_identity.to_owned(), None),
        };
        let Some(store) = &self.store else {
            return Decision::Accept(Accept {
                user_name,
                ..Accept::default()
            });
        };
        if let Some(cert) = &cert {
            let serial = cert.serial();
            match self.certificate_status(store, cert).await {
                Ok(CertificateStatus::Unknown) => {}
                Ok(CertificateStatus::Valid { user }) if user == user_name => {}
                Ok(CertificateStatus::Valid { user }) => {
                    return Decision::Reject {
                        label: "certificate_user_mismatch",
                        why: format!(
                            "certificate {} names {user_name:?} but was issued to user {user:?}",
                            hex::encode(serial)
                        ),
                    };
                }
                Ok(CertificateStatus::Revoked { at, reason, .. }) => {
                    return Decision::Reject {
                        label: "certificate_revoked",
                        why: format!(
                            "certificate {} of {user_name:?} was revoked at {at} (reason {})",
                            hex::encode(serial),
                            reason.as_deref().unwrap_or("unspecified")
                        ),
                    };
                }
                Err(e) => return store_unavailable(e),
            }
        }
        match self.authorization(store, &user_name).await {
            Ok(None) => Decision::Reject {
                label: "unknown_user",
                why: format!("user {user_name:?} is not in the store"),
            },
            Ok(Some(a)) if !a.enabled => Decision::Reject {
                label: "user_disabled",
                why: format!("user {user_name:?} is disabled"),
            },
            Ok(Some(a)) => Decision::Accept(Accept {
                user_name,
                vlan: a.vlan,
                session_timeout: a.session_timeout,
            }),
            Err(e) => store_unavailable(e),
        }
    }
}

fn store_unavailable(e: String) -> Decision {
    Decision::Reject {
        label: "store_unavailable",
        why: format!("cannot read the store: {e}"),
    }
}

/// A certificate as the store knows it: issuer and serial number (a serial
/// is unique only per issuer, RFC 5280 section 4.1.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateKey {
    /// The issuer Name's DER, then the serial's DER value octets: the Name
    /// is a DER SEQUENCE with its own length, so the pair reads back
    /// unambiguously.
    bytes: Vec<u8>,
    issuer_len: usize,
}

impl CertificateKey {
    fn new(issuer: &[u8], serial: &[u8]) -> CertificateKey {
        let mut bytes = Vec::with_capacity(issuer.len() + serial.len());
        bytes.extend_from_slice(issuer);
        bytes.extend_from_slice(serial);
        CertificateKey {
            bytes,
            issuer_len: issuer.len(),
        }
    }

    /// The issuer Name, DER.
    pub fn issuer(&self) -> &[u8] {
        self.bytes.get(..self.issuer_len).unwrap_or_default()
    }

    /// The serial number, DER value octets.
    pub fn serial(&self) -> &[u8] {
        self.bytes.get(self.issuer_len..).unwrap_or_default()
    }
}

/// The user name `source` finds in DER certificate `der`, and the
/// certificate's issuer and serial number.
pub fn certificate_identity(
    der: &[u8],
    source: IdentitySource,
) -> Result<(String, Option<CertificateKey>), String> {
    leaf_identity(&LeafFacts::parse(der)?, source)
}

/// [`certificate_identity`] of a leaf already read.
pub fn leaf_identity(
    leaf: &LeafFacts,
    source: IdentitySource,
) -> Result<(String, Option<CertificateKey>), String> {
    let key = Some(CertificateKey::new(&leaf.issuer_der, &leaf.serial));
    let name = match source {
        IdentitySource::CommonName => &leaf.common_name,
        IdentitySource::SanEmail => &leaf.san_email,
        IdentitySource::SanDns => &leaf.san_dns,
        IdentitySource::SanUri => &leaf.san_uri,
    };
    match name {
        Some(n) if !n.is_empty() => Ok((n.clone(), key)),
        _ => Err(format!("client certificate has no {}", source.describe())),
    }
}

/// The subject CN of a DER certificate, if it has a readable one.
pub fn certificate_common_name(der: &[u8]) -> Option<String> {
    certificate_identity(der, IdentitySource::CommonName)
        .ok()
        .map(|(n, _)| n)
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    fn authz(vlan: &str) -> Option<Authorization> {
        Some(Authorization {
            enabled: true,
            group: None,
            vlan: Some(vlan.into()),
            session_timeout: None,
        })
    }

    #[test]
    fn users_and_certificates_follow_one_generation() {
        let c = StoreCache::default();
        let now = Instant::now();
        // Generation unknown (never polled): nothing cached.
        c.users
            .put("bob".into(), c.users.generation(), authz("1"), now);
        assert_eq!(c.users.get("bob", now), None);
        assert!(c.set_generation(7));
        assert!(!c.set_generation(7), "same generation: nothing dropped");
        c.users.put("bob".into(), 7, authz("2"), now);
        // "No such user" is an answer worth caching too.
        c.users.put("nobody".into(), 7, None, now);
        c.certificates
            .put(vec![1, 2], 7, CertificateStatus::Unknown, now);
        assert_eq!(c.users.get("bob", now), Some(authz("2")));
        assert_eq!(c.users.get("nobody", now), Some(None));
        assert_eq!(
            c.certificates.get(&[1u8, 2][..], now),
            Some(CertificateStatus::Unknown)
        );
        // A new generation drops both maps.
        assert!(c.set_generation(8));
        assert!(c.users.is_empty() && c.certificates.is_empty());
    }
}

#[cfg(test)]
mod breaker_tests {
    use super::*;
    use crate::store::breaker::BreakerSettings;
    use std::time::Duration;

    #[tokio::test]
    async fn an_open_breaker_refuses_at_once_and_a_closed_one_reads() {
        let dir = std::env::temp_dir().join(format!("authd-policy-breaker-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::connect(&format!("sqlite://{}/authd.db", dir.display()))
            .await
            .unwrap();
        let breaker = Arc::new(Breaker::new(BreakerSettings {
            failures: 2,
            open_for: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
        }));
        let policy = Policy::with_store(store).with_breaker(breaker.clone());
        // Closed: the store is read (the user is not there).
        match policy.authorize_peer("nobody", None).await {
            Decision::Reject { label, .. } => assert_eq!(label, "unknown_user"),
            other => panic!("{other:?}"),
        }
        // Two failures seen elsewhere (PAP, another request) open it: the
        // policy answers store_unavailable without reading.
        breaker.record(false, Instant::now());
        breaker.record(false, Instant::now());
        match policy.authorize_peer("nobody", None).await {
            Decision::Reject { label, why } => {
                assert_eq!(label, "store_unavailable");
                assert!(why.contains("circuit open"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
