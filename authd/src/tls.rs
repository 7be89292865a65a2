//! Builds the rustls server configuration for EAP-TLS from [`TlsConfig`].
//!
//! EAP-TLS requires the peer to authenticate with a certificate (RFC 5216
//! section 2.1; RFC 9190 section 2.1), so client authentication is
//! mandatory. Revocation is checked against CRLs (RFC 5280 section 6.3) for
//! the peer's own certificate only; a certificate whose issuer has no CRL
//! loaded is not rejected for that reason, so deployments without CRLs
//! work.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};

use crate::config::{TlsConfig, TlsVersion};
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
/// the CRLs found in `tls.ca` and in the `tls.crl` files (end-entity check
/// only, unknown status allowed), and the configured protocol versions.
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
    let mut crls = Vec::new();
    let mut ca_count = 0;
    for item in <(SectionKind, Vec<u8>)>::pem_file_iter(&tls.ca).map_err(pem_error(&tls.ca))? {
        let (kind, der) = item.map_err(pem_error(&tls.ca))?;
        match kind {
            SectionKind::Certificate => {
                ca_count += 1;
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
    for (i, crl) in crls.iter().enumerate() {
        if let Err(e) = x509_parser::parse_x509_crl(crl) {
            return Err(TlsSetupError::InvalidCrl {
                path: tls.ca.clone(),
                index: i + 1,
                reason: e.to_string(),
            });
        }
    }
    for path in &tls.crl {
        let found = load_crls(path)?;
        if found.is_empty() {
            return Err(TlsSetupError::NoCrl { path: path.clone() });
        }
        crls.extend(found);
    }

    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .only_check_end_entity_revocation()
        .allow_unknown_revocation_status()
        .build()
        .map_err(|reason| TlsSetupError::Verifier {
            ca: tls.ca.clone(),
            reason,
        })?;

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
    Ok(ServerTls {
        config: Arc::new(config),
        verifier,
    })
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
