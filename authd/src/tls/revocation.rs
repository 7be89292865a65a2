//! Revocation explained: the client verifier with CRLs, wrapped so that a
//! refusal for a revocation reason (revoked, no CRL for an issuer, a CRL
//! past its nextUpdate) is logged naming the certificate, its CA and the
//! CRLs loaded (RFC 9190 §5.4, RFC 5280 §6.3).

use super::*;

/// What the explanation of a revocation failure needs from one loaded CRL.
#[derive(Debug)]
pub(super) struct LoadedCrl {
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
    pub(super) fn parse(der: &[u8], source: &Path) -> Result<LoadedCrl, String> {
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

    /// nextUpdate, Unix seconds, if the CRL has one.
    pub(super) fn next_update(&self) -> Option<i64> {
        self.next_update
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
pub(super) struct RevocationExplainer {
    pub(super) inner: Arc<dyn ClientCertVerifier>,
    /// Subject Names (DER) of the trust anchors: webpki ends the path at
    /// the first certificate one of them issued, and checks no further.
    pub(super) anchors: Vec<Vec<u8>>,
    pub(super) crls: Vec<LoadedCrl>,
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
