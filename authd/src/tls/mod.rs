//! Builds the rustls server configuration for EAP-TLS from [`TlsConfig`].
//!
//! EAP-TLS requires the peer to authenticate with a certificate (RFC 5216
//! section 2.1; RFC 9190 section 2.1), so client authentication is
//! mandatory. With CRLs configured, revocation is checked (RFC 9190
//! section 5.4, RFC 5280 section 6.3) for every certificate of the client's
//! chain except the trust anchor: a revoked one, one whose issuer has no CRL
//! loaded (`[tls] crl_missing`) and one checked against a CRL past its
//! nextUpdate (`[tls] crl_expired`) are refused, and a log line names the CA
//! and the CRL concerned. Without any CRL nothing is checked for
//! revocation, so deployments without CRLs work.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eap_methods::tls_common::choose_by_server_order;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::UnixTime;
use rustls::pki_types::pem::{self, PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme, SupportedProtocolVersion,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::{CrlPolicy, TlsConfig, TlsVersion};
use crate::tickets::{TicketKeyring, TicketMethod, Ticketer};

/// Why the TLS configuration could not be built. Every variant names the
/// file concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// A PEM file could not be read or decoded.
    #[error("{}: cannot read PEM: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{}: no certificate found", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key.
    #[error("{}: no private key found (expected PKCS#8, SEC1 or PKCS#1 PEM)", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// The private key cannot be used.
    #[error("{}: unusable private key: {reason}", path.display())]
    InvalidPrivateKey {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        reason: rustls::Error,
    },
    /// The private key is not the key of the certificate.
    #[error("{}: private key does not match certificate {}", private_key.display(), certificate.display())]
    KeyMismatch {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        private_key: PathBuf,
    },
    /// The certificate and key were refused for another reason.
    #[error("{}: certificate refused: {reason}", path.display())]
    InvalidCertificate {
        /// The certificate file.
        path: PathBuf,
        /// The underlying error.
        reason: rustls::Error,
    },
    /// A CA certificate cannot be a trust anchor.
    #[error("{}: CA certificate #{index} is not usable: {reason}", path.display())]
    InvalidCaCertificate {
        /// The CA file.
        path: PathBuf,
        /// Position of the certificate in the file, from 1.
        index: usize,
        /// The underlying error.
        reason: rustls::Error,
    },
    /// A CRL does not parse.
    #[error("{}: CRL #{index} is not valid: {reason}", path.display())]
    InvalidCrl {
        /// The file.
        path: PathBuf,
        /// Position of the CRL in the file, from 1.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file named in `crl` holds no CRL.
    #[error("{}: no CRL found", path.display())]
    NoCrl {
        /// The file.
        path: PathBuf,
    },
    /// The client certificate verifier could not be built.
    #[error("{}: client certificate verifier: {reason}", ca.display())]
    Verifier {
        /// The CA file.
        ca: PathBuf,
        /// The underlying error.
        reason: rustls::server::VerifierBuilderError,
    },
    /// `suite_b_192`: a server or CA certificate that is not ECDSA P-384
    /// signed with SHA-384.
    #[error("{}: certificate #{index} cannot serve suite_b_192: {what}", path.display())]
    NotSuiteB {
        /// The certificate or CA file.
        path: PathBuf,
        /// Position of the certificate in the file, from 1.
        index: usize,
        /// What is wrong.
        what: String,
    },
    /// The protocol versions are not supported together.
    #[error("TLS versions {min}..={max}: {reason}")]
    Versions {
        /// Configured minimum.
        min: TlsVersion,
        /// Configured maximum.
        max: TlsVersion,
        /// The underlying error.
        reason: rustls::Error,
    },
}

fn pem_error(path: &Path) -> impl Fn(pem::Error) -> TlsSetupError + '_ {
    move |source| TlsSetupError::Pem {
        path: path.to_owned(),
        source,
    }
}

/// Reads every certificate in a PEM file, leaf first.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(path))?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, SEC1 or PKCS#1) of a PEM file.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsSetupError::NoPrivateKey {
            path: path.to_owned(),
        },
        source => TlsSetupError::Pem {
            path: path.to_owned(),
            source,
        },
    })
}

/// Reads every CRL of a PEM file (possibly none), checking each parses.
fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsSetupError> {
    let crls = CertificateRevocationListDer::pem_file_iter(path)
        .map_err(pem_error(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(path))?;
    for (i, crl) in crls.iter().enumerate() {
        // rustls parses CRLs only when the verifier is built, and its error
        // does not say which file: check here to name it.
        if let Err(e) = x509_parser::parse_x509_crl(crl) {
            return Err(TlsSetupError::InvalidCrl {
                path: path.to_owned(),
                index: i + 1,
                reason: e.to_string(),
            });
        }
    }
    Ok(crls)
}

/// The aws-lc-rs crypto provider used for every TLS session, cipher suites
/// in authd's server preference order: AES-128-GCM with SHA-256 first
/// ([`eap_methods::tls_common::server_provider`] says why). The servers
/// choose by that order ([`choose_by_server_order`]; under `suite_b_192`
/// only the 192-bit suites exist, so the order there is moot).
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(eap_methods::tls_common::server_provider())
}

/// The provider of `tls`: [`crypto_provider`], or with `suite_b_192` the
/// 192-bit suites only ([`suite_b::provider`]).
fn provider_for(tls: &TlsConfig) -> Arc<CryptoProvider> {
    if tls.suite_b_192 {
        suite_b::provider()
    } else {
        crypto_provider()
    }
}

/// The server chain, each certificate checked for `suite_b_192`.
fn server_chain(tls: &TlsConfig) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let chain = load_certificates(&tls.certificate)?;
    if tls.suite_b_192 {
        for (i, c) in chain.iter().enumerate() {
            suite_b::check_certificate(c, &tls.certificate, i + 1)?;
        }
    }
    Ok(chain)
}

fn protocol_versions(tls: &TlsConfig) -> Vec<&'static SupportedProtocolVersion> {
    [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (tls.min_version..=tls.max_version).contains(v))
    .map(|(_, p)| p)
    .collect()
}

/// Builds the EAP-TLS server configuration: the server chain and key, a
/// mandatory client certificate verified against the CAs in `tls.ca`, with
/// the CRLs found in `tls.ca` and in the `tls.crl` files (every certificate
/// of the chain but the trust anchor; a missing or expired CRL as
/// `tls.crl_missing` and `tls.crl_expired` say), and the configured
/// protocol versions.
/// Without `tickets`, sessions resume from rustls' in-memory cache of this
/// process (when `tls.resumption` is on).
pub fn build_server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, TlsSetupError> {
    build_server_tls(tls, None).map(|s| s.config)
}

/// The EAP-TLS server configuration, and the client certificate verifier it
/// uses (with its chain verification cache, `verify_cache.rs`), kept to
/// check the certificate of a resumed session again and to read the
/// verified leaf.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    pub verifier: Arc<CachingVerifier>,
}

/// TLS 1.3 tickets sent after a full handshake: one is enough for EAP, and
/// each costs bytes in the last server flight.
const TLS13_TICKETS: usize = 1;

/// [`build_server_config`] with session tickets sealed by `tickets` when
/// `tls.resumption` is on: TLS 1.2 SessionTicket (RFC 5077) and TLS 1.3
/// tickets (RFC 9190 section 2.1.2).
pub fn build_server_tls(
    tls: &TlsConfig,
    tickets: Option<&Arc<TicketKeyring>>,
) -> Result<ServerTls, TlsSetupError> {
    build_server_tls_counted(tls, tickets, Arc::default())
}

/// [`build_server_tls`] with a verifier that counts into `counters` (a
/// listener's, kept across reloads: `metrics/verify_cache.rs`).
pub fn build_server_tls_counted(
    tls: &TlsConfig,
    tickets: Option<&Arc<TicketKeyring>>,
    counters: Arc<crate::metrics::verify_cache::ChainCacheCounters>,
) -> Result<ServerTls, TlsSetupError> {
    let provider = provider_for(tls);

    let chain = server_chain(tls)?;
    let key = load_private_key(&tls.private_key)?;

    let mut roots = RootCertStore::empty();
    let mut anchors = Vec::new();
    let mut crls = Vec::new();
    let mut ca_count = 0;
    for item in <(SectionKind, Vec<u8>)>::pem_file_iter(&tls.ca).map_err(pem_error(&tls.ca))? {
        let (kind, der) = item.map_err(pem_error(&tls.ca))?;
        match kind {
            SectionKind::Certificate => {
                ca_count += 1;
                if tls.suite_b_192 {
                    suite_b::check_certificate(&der, &tls.ca, ca_count)?;
                }
                if let Ok((_, cert)) = X509Certificate::from_der(&der) {
                    anchors.push(cert.subject().as_raw().to_vec());
                }
                roots.add(CertificateDer::from(der)).map_err(|reason| {
                    TlsSetupError::InvalidCaCertificate {
                        path: tls.ca.clone(),
                        index: ca_count,
                        reason,
                    }
                })?;
            }
            SectionKind::Crl => crls.push(CertificateRevocationListDer::from(der)),
            _ => {}
        }
    }
    if ca_count == 0 {
        return Err(TlsSetupError::NoCertificate {
            path: tls.ca.clone(),
        });
    }
    let mut loaded = Vec::with_capacity(crls.len());
    for (i, crl) in crls.iter().enumerate() {
        match LoadedCrl::parse(crl, &tls.ca) {
            Ok(l) => loaded.push(l),
            Err(e) => {
                return Err(TlsSetupError::InvalidCrl {
                    path: tls.ca.clone(),
                    index: i + 1,
                    reason: e,
                });
            }
        }
    }
    for path in &tls.crl {
        let found = load_crls(path)?;
        if found.is_empty() {
            return Err(TlsSetupError::NoCrl { path: path.clone() });
        }
        for crl in &found {
            // load_crls checked that each parses.
            if let Ok(l) = LoadedCrl::parse(crl, path) {
                loaded.push(l);
            }
        }
        crls.extend(found);
    }

    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let next_updates: Vec<i64> = loaded.iter().filter_map(LoadedCrl::next_update).collect();
    let inner: Arc<dyn ClientCertVerifier> = if crls.is_empty() {
        // No CRL at all: no revocation checking, as before CRLs were set up.
        builder.build().map_err(|reason| TlsSetupError::Verifier {
            ca: tls.ca.clone(),
            reason,
        })?
    } else {
        // Every certificate of the chain but the trust anchor (RFC 5280
        // section 6.3, as RFC 9190 section 5.4 asks).
        let mut builder = builder.with_crls(crls);
        if tls.crl_missing == CrlPolicy::Allow {
            builder = builder.allow_unknown_revocation_status();
        }
        if tls.crl_expired == CrlPolicy::Reject {
            builder = builder.enforce_revocation_expiration();
        }
        let inner = builder.build().map_err(|reason| TlsSetupError::Verifier {
            ca: tls.ca.clone(),
            reason,
        })?;
        Arc::new(RevocationExplainer {
            inner,
            anchors,
            crls: loaded,
        })
    };
    // A new verifier, a new generation: nothing verified against the CA
    // set or CRLs of an earlier one is answered from its cache.
    let verifier = Arc::new(CachingVerifier::counted(inner, next_updates, counters));

    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol_versions(tls))
        .map_err(|reason| TlsSetupError::Versions {
            min: tls.min_version,
            max: tls.max_version,
            reason,
        })?
        .with_client_cert_verifier(verifier.clone());
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| certificate_error(tls, e))?;
    choose_by_server_order(&mut config);
    match (tls.resumption, tickets) {
        (false, _) => {
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        (true, Some(ring)) => {
            config.ticketer = Ticketer::new(ring.clone(), TicketMethod::EapTls);
            config.send_tls13_tickets = TLS13_TICKETS;
        }
        (true, None) => config.send_tls13_tickets = TLS13_TICKETS,
    }
    // RFC 9190 figure 3 lets a resumed TLS 1.3 server send the commitment
    // message with its Finished (half-RTT data), saving a round trip, and
    // eap-methods does so when `send_half_rtt_data` is set. It stays off:
    // wpa_supplicant 2.10 answers such a flight with an ACK of the
    // commitment instead of its Finished, and the handshake cannot end.
    // Resumed TLS 1.3 therefore takes as many round trips as a full
    // handshake (the saving is the certificate exchange and its CPU).
    config.send_half_rtt_data = false;
    // A peer the policy refuses after the handshake gets a TLS
    // access_denied alert (RFC 9190 §2.5, RFC 5216 §2.1.3). rustls sends no
    // chosen alert itself, so eap-methods seals that one record with the
    // connection's write keys, which it may take only with this set. The
    // keys go no further than that record.
    config.enable_secret_extraction = true;
    Ok(ServerTls {
        config: Arc::new(config),
        verifier,
    })
}

/// Why the server certificate and key were refused.
fn certificate_error(tls: &TlsConfig, e: rustls::Error) -> TlsSetupError {
    match e {
        rustls::Error::InconsistentKeys(_) => TlsSetupError::KeyMismatch {
            certificate: tls.certificate.clone(),
            private_key: tls.private_key.clone(),
        },
        rustls::Error::General(_) => TlsSetupError::InvalidPrivateKey {
            path: tls.private_key.clone(),
            reason: e,
        },
        reason => TlsSetupError::InvalidCertificate {
            path: tls.certificate.clone(),
            reason,
        },
    }
}

/// The server configuration of PEAP or TTLS (`method`): the same server
/// certificate, key, protocol versions and (with `suite_b_192`) 192-bit
/// restriction as EAP-TLS, no client certificate requested (the user
/// authenticates inside the tunnel), and for PEAP session tickets sealed
/// by `tickets` for this method only (a PEAP ticket does not resume
/// EAP-TLS); TTLS does not resume (see below).
pub fn build_tunnel_tls(
    tls: &TlsConfig,
    tickets: Option<&Arc<TicketKeyring>>,
    method: TicketMethod,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let chain = server_chain(tls)?;
    let key = load_private_key(&tls.private_key)?;
    let mut config = ServerConfig::builder_with_provider(provider_for(tls))
        .with_protocol_versions(&protocol_versions(tls))
        .map_err(|reason| TlsSetupError::Versions {
            min: tls.min_version,
            max: tls.max_version,
            reason,
        })?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| certificate_error(tls, e))?;
    choose_by_server_order(&mut config);
    // TTLS never resumes. wpa_supplicant 2.10 skips phase 2 on a resumed
    // TTLS session (RFC 5281 §7.3 lets a server end the method there), but
    // a ticket or session ID is issued when the handshake ends, before
    // phase 2 has said anything about the user: honouring the skip would
    // let in a peer whose phase 2 failed, and refusing it (authd always
    // runs phase 2) rejects every re-authentication of such clients. A
    // full handshake each time is what stays correct. PEAP peers run the
    // inner method again on a resumed session, so PEAP resumes.
    let resumption = tls.resumption && method != TicketMethod::Ttls;
    match (resumption, tickets) {
        (false, _) => {
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        (true, Some(ring)) => {
            config.ticketer = Ticketer::new(ring.clone(), method);
            config.send_tls13_tickets = TLS13_TICKETS;
        }
        (true, None) => config.send_tls13_tickets = TLS13_TICKETS,
    }
    // The inner Identity request waits for the peer's Finished: no data
    // before the handshake completes.
    config.send_half_rtt_data = false;
    Ok(Arc::new(config))
}

mod revocation;
mod suite_b;
pub mod verify_cache;

use revocation::{LoadedCrl, RevocationExplainer};
pub use verify_cache::{CachingVerifier, VerifiedChain};

#[cfg(test)]
mod tests;
