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

/// The aws-lc-rs crypto provider used for every TLS session.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
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
/// uses, kept to check the certificate of a resumed session again.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    pub verifier: Arc<dyn ClientCertVerifier>,
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
    let provider = crypto_provider();

    let chain = load_certificates(&tls.certificate)?;
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
    let verifier: Arc<dyn ClientCertVerifier> = if crls.is_empty() {
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

    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol_versions(tls))
        .map_err(|reason| TlsSetupError::Versions {
            min: tls.min_version,
            max: tls.max_version,
            reason,
        })?
        .with_client_cert_verifier(verifier.clone());
    let mut config = builder.with_single_cert(chain, key).map_err(|e| match e {
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
    })?;
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

/// What the explanation of a revocation failure needs from one loaded CRL.
#[derive(Debug)]
struct LoadedCrl {
    /// The file it came from.
    source: PathBuf,
    /// The issuer Name, DER, compared with certificates' issuer bytes as
    /// webpki does.
    issuer_der: Vec<u8>,
    /// The issuer as text, e.g. `CN=Example Intermediate`.
    issuer: String,
    /// cRLNumber (RFC 5280 section 5.2.3), if present, decimal.
    number: Option<String>,
    /// nextUpdate, Unix seconds, if present.
    next_update: Option<i64>,
    /// The same as text.
    next_update_text: Option<String>,
    /// Serial numbers listed, DER value octets.
    revoked: Vec<Vec<u8>>,
}

impl LoadedCrl {
    fn parse(der: &[u8], source: &Path) -> Result<LoadedCrl, String> {
        let (_, crl) = x509_parser::parse_x509_crl(der).map_err(|e| e.to_string())?;
        Ok(LoadedCrl {
            source: source.to_owned(),
            issuer_der: crl.issuer().as_raw().to_vec(),
            issuer: crl.issuer().to_string(),
            number: crl.crl_number().map(|n| n.to_string()),
            next_update: crl.next_update().map(|t| t.timestamp()),
            next_update_text: crl.next_update().map(|t| t.to_string()),
            revoked: crl
                .iter_revoked_certificates()
                .map(|r| r.raw_serial().to_vec())
                .collect(),
        })
    }

    /// `CRL of CN=X (file F, number N, nextUpdate T)`.
    fn describe(&self) -> String {
        let mut s = format!("CRL of {} ({}", self.issuer, self.source.display());
        if let Some(n) = &self.number {
            s.push_str(&format!(", number {n}"));
        }
        match &self.next_update_text {
            Some(t) => s.push_str(&format!(", nextUpdate {t}")),
            None => s.push_str(", no nextUpdate"),
        }
        s.push(')');
        s
    }
}

/// Longest explanation logged, bytes: a chain and a few CRLs fit.
const EXPLANATION_MAX: usize = 4096;

/// The webpki verifier, and what it was given, to say which CA and which
/// CRL a revocation failure is about: rustls' error names neither.
#[derive(Debug)]
struct RevocationExplainer {
    inner: Arc<dyn ClientCertVerifier>,
    /// Subject Names (DER) of the trust anchors: webpki ends the path at
    /// the first certificate one of them issued, and checks no further.
    anchors: Vec<Vec<u8>>,
    crls: Vec<LoadedCrl>,
}

/// One certificate of the client's chain, as the explanation names it.
struct ChainLink {
    subject: String,
    serial: Vec<u8>,
    issuer_der: Vec<u8>,
    issuer: String,
}

impl ChainLink {
    fn describe(&self) -> String {
        format!(
            "{} (serial {}, issued by {})",
            self.subject,
            hex::encode(&self.serial),
            self.issuer
        )
    }
}

impl RevocationExplainer {
    /// The certificates whose revocation webpki checks: from the leaf
    /// through the presented intermediates (matched by Name) up to the
    /// first one a trust anchor issued.
    fn path(&self, leaf: &[u8], intermediates: &[CertificateDer<'_>]) -> Vec<ChainLink> {
        let link = |der: &[u8]| {
            X509Certificate::from_der(der).ok().map(|(_, c)| {
                (
                    c.subject().as_raw().to_vec(),
                    ChainLink {
                        subject: c.subject().to_string(),
                        serial: c.raw_serial().to_vec(),
                        issuer_der: c.issuer().as_raw().to_vec(),
                        issuer: c.issuer().to_string(),
                    },
                )
            })
        };
        let presented: Vec<_> = intermediates.iter().filter_map(|c| link(c)).collect();
        let mut path = Vec::new();
        let Some((_, mut current)) = link(leaf) else {
            return path;
        };
        // Bounded: a chain cannot be longer than what was presented.
        for _ in 0..=presented.len() {
            let next = if self.anchors.contains(&current.issuer_der) {
                None
            } else {
                presented
                    .iter()
                    .find(|(subject, _)| *subject == current.issuer_der)
                    .map(|(_, l)| ChainLink {
                        subject: l.subject.clone(),
                        serial: l.serial.clone(),
                        issuer_der: l.issuer_der.clone(),
                        issuer: l.issuer.clone(),
                    })
            };
            path.push(current);
            match next {
                Some(n) => current = n,
                None => break,
            }
        }
        path
    }

    fn crls_of<'a>(&'a self, issuer_der: &'a [u8]) -> impl Iterator<Item = &'a LoadedCrl> + 'a {
        self.crls.iter().filter(move |c| c.issuer_der == issuer_der)
    }

    /// One sentence saying which certificate, CA and CRL a revocation
    /// failure `error` is about; `None` for other errors.
    fn explain(
        &self,
        error: &CertificateError,
        leaf: &[u8],
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Option<String> {
        let path = self.path(leaf, intermediates);
        let loaded = || {
            let list: Vec<_> = self.crls.iter().map(LoadedCrl::describe).collect();
            list.join("; ")
        };
        let found = match error {
            CertificateError::Revoked => path.iter().find_map(|l| {
                self.crls_of(&l.issuer_der)
                    .find(|c| c.revoked.contains(&l.serial))
                    .map(|c| {
                        format!(
                            "certificate {} is revoked: listed in the {}",
                            l.describe(),
                            c.describe()
                        )
                    })
            }),
            CertificateError::UnknownRevocationStatus => path
                .iter()
                .find(|l| self.crls_of(&l.issuer_der).next().is_none())
                .map(|l| {
                    format!(
                        "no CRL of CA {} is loaded, so the revocation status of {} is \
                         unknown (CRLs loaded: {}); add that CA's CRL to [tls] crl, or set \
                         crl_missing = \"allow\"",
                        l.issuer,
                        l.describe(),
                        loaded()
                    )
                }),
            CertificateError::ExpiredRevocationList
            | CertificateError::ExpiredRevocationListContext { .. } => {
                let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
                path.iter().find_map(|l| {
                    self.crls_of(&l.issuer_der)
                        .find(|c| c.next_update.is_some_and(|t| t < now))
                        .map(|c| {
                            format!(
                                "the {} is past its nextUpdate, so it cannot vouch for {} \
                                 (RFC 5280 section 5.1.2.5); install a current CRL of CA {}, \
                                 or set crl_expired = \"allow\"",
                                c.describe(),
                                l.describe(),
                                c.issuer
                            )
                        })
                })
            }
            _ => return None,
        };
        Some(found.unwrap_or_else(|| {
            let chain: Vec<_> = path.iter().map(ChainLink::describe).collect();
            format!(
                "revocation check failed ({error:?}) for the chain {}; CRLs loaded: {}",
                chain.join(" <- "),
                loaded()
            )
        }))
    }
}

impl ClientCertVerifier for RevocationExplainer {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
            .inspect_err(|e| {
                if let rustls::Error::InvalidCertificate(ce) = e
                    && let Some(why) = self.explain(ce, end_entity, intermediates, now)
                {
                    // Names come from the peer's certificates.
                    tracing::warn!(
                        "client certificate refused: {}",
                        crate::logsafe::escaped(&why).max(EXPLANATION_MAX)
                    );
                }
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CertificateAuthority, KeyKind, ensure_dev_pki};
    use rustls::{ClientConfig, ClientConnection, ServerConnection};
    use std::fs;
    use std::time::{Duration, SystemTime};

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let mut r = [0u8; 8];
            rand::fill(&mut r[..]);
            let p = std::env::temp_dir().join(format!(
                "authd-tls-{name}-{}-{}",
                std::process::id(),
                hex::encode(r)
            ));
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn dev_config(dir: &Path) -> (TlsConfig, crate::pki::DevPki) {
        let (pki, _) = ensure_dev_pki(&dir.join("pki"), "demo").unwrap();
        (
            TlsConfig::new(&pki.server_cert, &pki.server_key, &pki.ca_cert),
            pki,
        )
    }

    /// Runs a handshake in memory; `Ok(version)` or the first error.
    fn handshake(
        server: Arc<ServerConfig>,
        client_cert: &Path,
        client_key: &Path,
        ca: &Path,
    ) -> Result<rustls::ProtocolVersion, rustls::Error> {
        handshake_as(server, Some((client_cert, client_key)), ca)
    }

    fn handshake_as(
        server: Arc<ServerConfig>,
        client_auth: Option<(&Path, &Path)>,
        ca: &Path,
    ) -> Result<rustls::ProtocolVersion, rustls::Error> {
        let mut roots = RootCertStore::empty();
        for c in load_certificates(ca).unwrap() {
            roots.add(c).unwrap();
        }
        let builder = ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let client_config = match client_auth {
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    load_certificates(cert).unwrap(),
                    load_private_key(key).unwrap(),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        let mut client =
            ClientConnection::new(Arc::new(client_config), "authd.local".try_into().unwrap())
                .unwrap();
        let mut server = ServerConnection::new(server).unwrap();
        for _ in 0..10 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                server.read_tls(&mut rd).unwrap();
            }
            server.process_new_packets()?;
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                client.read_tls(&mut rd).unwrap();
            }
            client.process_new_packets()?;
            if !server.is_handshaking() && !client.is_handshaking() {
                return Ok(server.protocol_version().unwrap());
            }
        }
        panic!("handshake did not finish");
    }

    #[test]
    fn builds_from_dev_pki_and_authenticates_a_client() {
        let tmp = TempDir::new("ok");
        let (tls, pki) = dev_config(&tmp.0);
        let config = build_server_config(&tls).unwrap();
        assert_eq!(
            handshake(
                config.clone(),
                &pki.client_cert,
                &pki.client_key,
                &pki.ca_cert
            ),
            Ok(rustls::ProtocolVersion::TLSv1_3)
        );
        let mut tls12 = tls.clone();
        tls12.max_version = TlsVersion::Tls12;
        let config = build_server_config(&tls12).unwrap();
        assert_eq!(
            handshake(config, &pki.client_cert, &pki.client_key, &pki.ca_cert),
            Ok(rustls::ProtocolVersion::TLSv1_2)
        );
    }

    #[test]
    fn client_certificate_is_required() {
        let tmp = TempDir::new("noclient");
        let (tls, pki) = dev_config(&tmp.0);
        let config = build_server_config(&tls).unwrap();
        let err = handshake_as(config, None, &pki.ca_cert).unwrap_err();
        assert!(
            matches!(err, rustls::Error::NoCertificatesPresented),
            "{err:?}"
        );
    }

    #[test]
    fn mismatched_key_is_named() {
        let tmp = TempDir::new("mismatch");
        let (mut tls, pki) = dev_config(&tmp.0);
        tls.private_key = pki.client_key.clone();
        let err = build_server_config(&tls).unwrap_err();
        assert!(matches!(err, TlsSetupError::KeyMismatch { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("client.key") && msg.contains("server.pem"),
            "{msg}"
        );
    }

    #[test]
    fn empty_and_missing_files_are_named() {
        let tmp = TempDir::new("empty");
        let (mut tls, _) = dev_config(&tmp.0);
        let empty = tmp.0.join("empty.pem");
        fs::write(&empty, "").unwrap();

        let mut t = tls.clone();
        t.certificate = empty.clone();
        let err = build_server_config(&t).unwrap_err();
        assert!(matches!(err, TlsSetupError::NoCertificate { .. }));
        assert!(
            err.to_string().contains("empty.pem: no certificate found"),
            "{err}"
        );

        let mut t = tls.clone();
        t.private_key = empty.clone();
        let err = build_server_config(&t).unwrap_err();
        assert!(matches!(err, TlsSetupError::NoPrivateKey { .. }), "{err}");

        let mut t = tls.clone();
        t.ca = empty.clone();
        assert!(matches!(
            build_server_config(&t).unwrap_err(),
            TlsSetupError::NoCertificate { .. }
        ));

        tls.ca = tmp.0.join("absent.pem");
        let err = build_server_config(&tls).unwrap_err();
        assert!(err.to_string().contains("absent.pem"), "{err}");
    }

    #[test]
    fn bad_crl_file_is_named() {
        let tmp = TempDir::new("badcrl");
        let (mut tls, pki) = dev_config(&tmp.0);
        // A file without a CRL.
        tls.crl = vec![pki.ca_cert.clone()];
        let err = build_server_config(&tls).unwrap_err();
        assert!(matches!(err, TlsSetupError::NoCrl { .. }), "{err}");
        // A CRL block whose body is not a CRL.
        let bogus = tmp.0.join("bogus.crl");
        fs::write(
            &bogus,
            "-----BEGIN X509 CRL-----\nMAMCAQE=\n-----END X509 CRL-----\n",
        )
        .unwrap();
        tls.crl = vec![bogus];
        let err = build_server_config(&tls).unwrap_err();
        assert!(
            matches!(err, TlsSetupError::InvalidCrl { index: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("bogus.crl"), "{err}");
    }

    #[test]
    fn revoked_client_is_refused_via_crl_in_ca_file_or_crl_list() {
        let tmp = TempDir::new("crl");
        let (tls, pki) = dev_config(&tmp.0);
        let ca = CertificateAuthority::load(&pki.ca_cert, &pki.ca_key).unwrap();
        let now = SystemTime::now();
        let revoked = ca
            .issue_client_for_days("mallory", KeyKind::EcdsaP256, 1)
            .unwrap();
        let (rc, rk) = (tmp.0.join("r.pem"), tmp.0.join("r.key"));
        revoked.write(&rc, &rk).unwrap();
        let crl = ca
            .crl(
                &[(revoked.serial.clone(), now, None)],
                now - Duration::from_secs(60),
                now + Duration::from_secs(3600),
                2,
            )
            .unwrap();

        // Without a CRL, the client is accepted.
        let plain = build_server_config(&tls).unwrap();
        assert!(handshake(plain, &rc, &rk, &pki.ca_cert).is_ok());

        // CA file holding the CA and the CRL.
        let bundle = tmp.0.join("ca+crl.pem");
        fs::write(&bundle, format!("{}{}", ca.cert_pem(), crl)).unwrap();
        let mut t = tls.clone();
        t.ca = bundle;
        let config = build_server_config(&t).unwrap();
        let err = handshake(config.clone(), &rc, &rk, &pki.ca_cert).unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)
            ),
            "{err:?}"
        );
        // The good client still gets in.
        assert!(handshake(config, &pki.client_cert, &pki.client_key, &pki.ca_cert).is_ok());

        // Same CRL through `crl = [...]`.
        let crl_file = tmp.0.join("revoked.crl");
        fs::write(&crl_file, &crl).unwrap();
        let mut t = tls.clone();
        t.crl = vec![crl_file];
        let config = build_server_config(&t).unwrap();
        assert!(handshake(config, &rc, &rk, &pki.ca_cert).is_err());
    }

    /// A CA of a test hierarchy, built with rcgen directly: the development
    /// PKI signs leaves only.
    struct TestCa {
        issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
        pem: String,
        serial: Vec<u8>,
    }

    fn test_serial() -> Vec<u8> {
        let mut s = [0u8; 16];
        rand::fill(&mut s[..]);
        s[0] = (s[0] & 0x7f).max(1);
        s.to_vec()
    }

    fn test_params(cn: &str, serial: &[u8]) -> rcgen::CertificateParams {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
        let now = time::OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::hours(1);
        p.not_after = now + time::Duration::days(1);
        p.key_identifier_method = rcgen::KeyIdMethod::Sha256;
        p
    }

    fn ca_params(cn: &str, serial: &[u8]) -> rcgen::CertificateParams {
        let mut p = test_params(cn, serial);
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        p
    }

    impl TestCa {
        fn root(cn: &str) -> TestCa {
            let serial = test_serial();
            let params = ca_params(cn, &serial);
            let key = rcgen::KeyPair::generate().unwrap();
            let pem = params.self_signed(&key).unwrap().pem();
            TestCa {
                issuer: rcgen::Issuer::new(params, key),
                pem,
                serial,
            }
        }

        fn intermediate(&self, cn: &str) -> TestCa {
            let serial = test_serial();
            let mut params = ca_params(cn, &serial);
            params.use_authority_key_identifier_extension = true;
            let key = rcgen::KeyPair::generate().unwrap();
            let pem = params.signed_by(&key, &self.issuer).unwrap().pem();
            TestCa {
                issuer: rcgen::Issuer::new(params, key),
                pem,
                serial,
            }
        }

        /// A client certificate; its file holds the leaf then `self`.
        fn leaf(&self, dir: &Path, cn: &str) -> (PathBuf, PathBuf, Vec<u8>) {
            let serial = test_serial();
            let mut params = test_params(cn, &serial);
            params.is_ca = rcgen::IsCa::ExplicitNoCa;
            params.use_authority_key_identifier_extension = true;
            params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            let (c, k) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
            fs::write(&c, format!("{}{}", cert.pem(), self.pem)).unwrap();
            fs::write(&k, key.serialize_pem()).unwrap();
            (c, k, serial)
        }

        /// A CRL of this CA revoking `serials`, written to `dir/file`;
        /// `age` moves thisUpdate and nextUpdate that far into the past.
        fn crl(&self, dir: &Path, file: &str, serials: &[&[u8]], age: Duration) -> PathBuf {
            let now = time::OffsetDateTime::now_utc() - age;
            let params = rcgen::CertificateRevocationListParams {
                this_update: now - time::Duration::minutes(1),
                next_update: now + time::Duration::minutes(30),
                crl_number: rcgen::SerialNumber::from_slice(&[1]),
                issuing_distribution_point: None,
                revoked_certs: serials
                    .iter()
                    .map(|s| rcgen::RevokedCertParams {
                        serial_number: rcgen::SerialNumber::from_slice(s),
                        revocation_time: now - time::Duration::minutes(1),
                        reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                        invalidity_date: None,
                    })
                    .collect(),
                key_identifier_method: rcgen::KeyIdMethod::Sha256,
            };
            let path = dir.join(file);
            fs::write(
                &path,
                params.signed_by(&self.issuer).unwrap().pem().unwrap(),
            )
            .unwrap();
            path
        }
    }

    /// Collects what `tracing` logs on this thread while `f` runs.
    fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
        #[derive(Clone, Default)]
        struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let out = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        (out, text)
    }

    /// The server of the dev PKI trusting `root` for clients, with `crls`.
    fn hierarchy_config(
        tls: &TlsConfig,
        dir: &Path,
        root: &TestCa,
        crls: Vec<PathBuf>,
    ) -> TlsConfig {
        let ca = dir.join("root.pem");
        fs::write(&ca, &root.pem).unwrap();
        let mut t = tls.clone();
        t.ca = ca;
        t.crl = crls;
        t
    }

    fn is_cert_error(
        r: &Result<rustls::ProtocolVersion, rustls::Error>,
        want: fn(&CertificateError) -> bool,
    ) -> bool {
        matches!(r, Err(rustls::Error::InvalidCertificate(e)) if want(e))
    }

    #[test]
    fn revoked_intermediate_is_refused_while_a_sibling_is_accepted() {
        let tmp = TempDir::new("revinter");
        let (tls, pki) = dev_config(&tmp.0);
        let root = TestCa::root("Test Root");
        let revoked = root.intermediate("Revoked Intermediate");
        let good = root.intermediate("Good Intermediate");
        let (bc, bk, _) = revoked.leaf(&tmp.0, "bob");
        let (gc, gk, _) = good.leaf(&tmp.0, "alice");
        let crls = vec![
            root.crl(&tmp.0, "root.crl", &[&revoked.serial], Duration::ZERO),
            revoked.crl(&tmp.0, "revoked.crl", &[], Duration::ZERO),
            good.crl(&tmp.0, "good.crl", &[], Duration::ZERO),
        ];
        let t = hierarchy_config(&tls, &tmp.0, &root, crls);
        let config = build_server_config(&t).unwrap();

        // Positive control: a leaf under the intermediate that is not revoked.
        assert!(handshake(config.clone(), &gc, &gk, &pki.ca_cert).is_ok());
        // The leaf itself is in no CRL; its issuer is revoked in the root's.
        let (r, log) = logged(|| handshake(config, &bc, &bk, &pki.ca_cert));
        assert!(
            is_cert_error(&r, |e| *e == CertificateError::Revoked),
            "{r:?}"
        );
        assert!(
            log.contains("CN=Revoked Intermediate") && log.contains("CRL of CN=Test Root"),
            "{log}"
        );
        assert!(
            log.contains("root.crl") && log.contains(&hex::encode(&revoked.serial)),
            "{log}"
        );

        // Without any CRL nothing is checked for revocation, as before.
        let none = hierarchy_config(&tls, &tmp.0, &root, Vec::new());
        assert!(handshake(build_server_config(&none).unwrap(), &bc, &bk, &pki.ca_cert).is_ok());
    }

    #[test]
    fn stale_crl_is_refused_unless_relaxed() {
        let tmp = TempDir::new("stalecrl");
        let (tls, pki) = dev_config(&tmp.0);
        let root = TestCa::root("Stale Root");
        let inter = root.intermediate("Stale Intermediate");
        let (c, k, leaf_serial) = inter.leaf(&tmp.0, "carol");
        let root_crl = root.crl(&tmp.0, "root.crl", &[], Duration::ZERO);
        let fresh = inter.crl(&tmp.0, "fresh.crl", &[], Duration::ZERO);
        // nextUpdate an hour and a half ago.
        let stale = inter.crl(&tmp.0, "stale.crl", &[], Duration::from_secs(7200));

        // Positive control: the same chain with a current CRL.
        let t = hierarchy_config(&tls, &tmp.0, &root, vec![root_crl.clone(), fresh]);
        assert!(handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert).is_ok());

        let mut t = hierarchy_config(&tls, &tmp.0, &root, vec![root_crl.clone(), stale]);
        let (r, log) = logged(|| handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert));
        assert!(
            is_cert_error(&r, |e| matches!(
                e,
                CertificateError::ExpiredRevocationList
                    | CertificateError::ExpiredRevocationListContext { .. }
            )),
            "{r:?}"
        );
        assert!(
            log.contains("CRL of CN=Stale Intermediate")
                && log.contains("stale.crl")
                && log.contains("past its nextUpdate"),
            "{log}"
        );

        t.crl_expired = CrlPolicy::Allow;
        assert!(handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert).is_ok());
        // Relaxed, a stale CRL still revokes what it lists.
        let listing = inter.crl(
            &tmp.0,
            "stale-listing.crl",
            &[&leaf_serial],
            Duration::from_secs(7200),
        );
        t.crl = vec![root_crl, listing];
        let r = handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert);
        assert!(
            is_cert_error(&r, |e| *e == CertificateError::Revoked),
            "{r:?}"
        );
    }

    #[test]
    fn missing_crl_is_refused_unless_relaxed() {
        let tmp = TempDir::new("missingcrl");
        let (tls, pki) = dev_config(&tmp.0);
        let root = TestCa::root("Known Root");
        let inter = root.intermediate("Intermediate Without CRL");
        let (c, k, _) = inter.leaf(&tmp.0, "dave");
        let root_crl = root.crl(&tmp.0, "root.crl", &[], Duration::ZERO);
        let inter_crl = inter.crl(&tmp.0, "inter.crl", &[], Duration::ZERO);

        // Positive control: both CAs of the path have a CRL.
        let t = hierarchy_config(&tls, &tmp.0, &root, vec![root_crl.clone(), inter_crl]);
        assert!(handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert).is_ok());

        // Only the root's CRL: the leaf's status is unknown.
        let mut t = hierarchy_config(&tls, &tmp.0, &root, vec![root_crl]);
        let (r, log) = logged(|| handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert));
        assert!(
            is_cert_error(&r, |e| *e == CertificateError::UnknownRevocationStatus),
            "{r:?}"
        );
        assert!(
            log.contains("no CRL of CA CN=Intermediate Without CRL")
                && log.contains("CN=dave")
                && log.contains("CRL of CN=Known Root (")
                && log.contains("crl_missing"),
            "{log}"
        );

        t.crl_missing = CrlPolicy::Allow;
        assert!(handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert).is_ok());
    }

    #[test]
    fn untrusted_and_expired_clients_are_refused() {
        let tmp = TempDir::new("untrusted");
        let (tls, pki) = dev_config(&tmp.0);
        let config = build_server_config(&tls).unwrap();

        let other = CertificateAuthority::generate("Other CA", 1).unwrap();
        let stranger = other
            .issue_client_for_days("eve", KeyKind::EcdsaP256, 1)
            .unwrap();
        let (sc, sk) = (tmp.0.join("s.pem"), tmp.0.join("s.key"));
        stranger.write(&sc, &sk).unwrap();
        assert!(handshake(config.clone(), &sc, &sk, &pki.ca_cert).is_err());

        let ca = CertificateAuthority::load(&pki.ca_cert, &pki.ca_key).unwrap();
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let expired = ca
            .issue_client("old", KeyKind::Rsa2048, now - day * 30, now - day)
            .unwrap();
        let (ec, ek) = (tmp.0.join("e.pem"), tmp.0.join("e.key"));
        expired.write(&ec, &ek).unwrap();
        let err = handshake(config, &ec, &ek, &pki.ca_cert).unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ExpiredContext { .. }
                        | rustls::CertificateError::Expired
                )
            ),
            "{err:?}"
        );
    }

    #[test]
    fn versions_follow_config() {
        let tls = TlsConfig::new("a", "b", "c");
        assert_eq!(protocol_versions(&tls).len(), 2);
        let mut only13 = tls.clone();
        only13.min_version = TlsVersion::Tls13;
        assert_eq!(protocol_versions(&only13), vec![&rustls::version::TLS13]);
        let mut only12 = tls;
        only12.max_version = TlsVersion::Tls12;
        assert_eq!(protocol_versions(&only12), vec![&rustls::version::TLS12]);
    }
}
