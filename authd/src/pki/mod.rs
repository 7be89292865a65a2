//! A small certificate authority for EAP-TLS deployments and tests.
//!
//! Profiles follow RFC 5280: the CA has basicConstraints `cA` with path
//! length 0 (section 4.2.1.9) and keyCertSign/cRLSign (section 4.2.1.3);
//! leaves carry `cA=FALSE`, digitalSignature, and the extended key usage
//! EAP-TLS expects (RFC 5216 section 5.3, RFC 9190 section 5.3): serverAuth
//! for the server, clientAuth for peers. Serial numbers are 16 random bytes,
//! positive, as section 4.1.2.2 asks (unique, at most 20 octets). CRLs are
//! version 2 with a CRL number (section 5.2.3).
//!
//! Keys are ECDSA P-256 by default; client certificates may use RSA-2048 for
//! supplicants that lack ECDSA.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    PublicKeyData, RevokedCertParams, SanType, SerialNumber,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

pub use rcgen::RevocationReason;

/// Tolerance for clocks behind ours: certificates start one hour ago.
const BACKDATE: Duration = Duration::from_secs(3600);

const DAY: Duration = Duration::from_secs(86_400);

/// Why a PKI operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Key generation, certificate encoding or signing failed.
    #[error("{what}: {source}")]
    Rcgen {
        /// What was being done.
        what: &'static str,
        /// The underlying error.
        source: rcgen::Error,
    },
    /// A certificate or key file does not hold what it should.
    #[error("{}: {reason}", path.display())]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Some development PKI files exist and others do not; nothing is
    /// overwritten or regenerated.
    #[error("{}: incomplete PKI, missing {}", dir.display(), missing.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Incomplete {
        /// The PKI directory.
        dir: PathBuf,
        /// The files that are missing.
        missing: Vec<PathBuf>,
    },
    /// The validity period is empty or not representable.
    #[error("invalid validity period: {0}")]
    InvalidValidity(&'static str),
    /// A name is not valid in a certificate (e.g. a DNS name with spaces).
    #[error("invalid name `{name}`: {source}")]
    InvalidName {
        /// The offending name.
        name: String,
        /// The underlying error.
        source: rcgen::Error,
    },
}

fn rcgen_err(what: &'static str) -> impl FnOnce(rcgen::Error) -> PkiError {
    move |source| PkiError::Rcgen { what, source }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The key algorithm of an issued certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyKind {
    /// ECDSA on P-256 with SHA-256 (RFC 5480).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384 (RFC 5480), as the 192-bit suites of
    /// WPA3-Enterprise require of every certificate (RFC 9190 §2.4, RFC
    /// 6460's Suite B profile).
    EcdsaP384,
    /// RSA 2048 bits, PKCS#1 v1.5 with SHA-256 (RFC 4055).
    Rsa2048,
}

impl KeyKind {
    fn generate(self) -> Result<KeyPair, PkiError> {
        match self {
            KeyKind::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyKind::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyKind::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            }
        }
        .map_err(rcgen_err("generating a key pair"))
    }
}

/// A certificate and its new private key.
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: Zeroizing<String>,
    /// The serial number's bytes (big-endian, positive, as in the DER).
    pub serial: Vec<u8>,
    /// End of validity.
    pub not_after: SystemTime,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("serial", &hex::encode(&self.serial))
            .field("not_after", &self.not_after)
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Issued {
    /// Writes the certificate (mode 0644) and key (mode 0600); fails rather
    /// than overwrite an existing file.
    pub fn write(&self, cert: &Path, key: &Path) -> Result<(), PkiError> {
        write_new(cert, self.cert_pem.as_bytes(), 0o644)?;
        write_new(key, self.key_pem.as_bytes(), 0o600)
    }
}

/// A CA certificate and its signing key.
pub struct CertificateAuthority {
    cert_pem: String,
    key_pem: Zeroizing<String>,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // rcgen's Issuer Debug elides the key.
        f.debug_struct("CertificateAuthority")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn to_offset(t: SystemTime) -> Result<OffsetDateTime, PkiError> {
    let t = OffsetDateTime::from(t);
    // X.509 GeneralizedTime holds four-digit years (RFC 5280 section 4.1.2.5.2).
    if !(1950..=9999).contains(&t.year()) {
        return Err(PkiError::InvalidValidity("year outside 1950..=9999"));
    }
    Ok(t)
}

fn validity(
    params: &mut CertificateParams,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<(), PkiError> {
    if not_after <= not_before {
        return Err(PkiError::InvalidValidity(
            "not_after is not after not_before",
        ));
    }
    params.not_before = to_offset(not_before)?;
    params.not_after = to_offset(not_after)?;
    Ok(())
}

fn days_from_now(days: u32) -> Result<(SystemTime, SystemTime), PkiError> {
    if days == 0 {
        return Err(PkiError::InvalidValidity("zero days"));
    }
    let now = SystemTime::now();
    let not_after = now
        .checked_add(DAY * days)
        .ok_or(PkiError::InvalidValidity("too many days"))?;
    Ok((now.checked_sub(BACKDATE).unwrap_or(now), not_after))
}

/// 16 random bytes, first bit clear (a positive INTEGER) and first byte
/// non-zero (so the DER encoding keeps all 16 bytes): RFC 5280 section
/// 4.1.2.2.
fn random_serial() -> Vec<u8> {
    let mut serial = [0u8; 16];
    rand::fill(&mut serial[..]);
    serial[0] = (serial[0] & 0x7f).max(1);
    serial.to_vec()
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(contents).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

impl CertificateAuthority {
    /// A new self-signed CA with an ECDSA P-256 key, valid `days` days.
    pub fn generate(common_name: &str, days: u32) -> Result<CertificateAuthority, PkiError> {
        Self::generate_with(common_name, days, KeyKind::EcdsaP256)
    }

    /// A new self-signed CA with a `key` key (ECDSA: signed with the
    /// curve's hash, SHA-384 for P-384), valid `days` days.
    pub fn generate_with(
        common_name: &str,
        days: u32,
        key: KeyKind,
    ) -> Result<CertificateAuthority, PkiError> {
        let (not_before, not_after) = days_from_now(days)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(common_name);
        // Leaves are signed directly by this CA: path length 0.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        params.key_identifier_method = KeyIdMethod::Sha256;
        validity(&mut params, not_before, not_after)?;
        let key = key.generate()?;
        let cert = params
            .self_signed(&key)
            .map_err(rcgen_err("self-signing the CA"))?;
        let key_pem = Zeroizing::new(key.serialize_pem());
        Ok(CertificateAuthority {
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA from its PEM certificate and PEM private key.
    pub fn load(cert: &Path, key: &Path) -> Result<CertificateAuthority, PkiError> {
        let cert_pem = fs::read_to_string(cert).map_err(io_err(cert))?;
        let key_pem = Zeroizing::new(fs::read_to_string(key).map_err(io_err(key))?);
        let key_pair = KeyPair::from_pem(&key_pem).map_err(|e| PkiError::InvalidFile {
            path: key.to_owned(),
            reason: format!("not a usable private key: {e}"),
        })?;
        let issuer =
            Issuer::from_ca_cert_pem(&cert_pem, key_pair).map_err(|e| PkiError::InvalidFile {
                path: cert.to_owned(),
                reason: format!("not a CA certificate: {e}"),
            })?;
        let ca = CertificateAuthority {
            cert_pem,
            key_pem,
            issuer,
        };
        if ca.certificate_public_key()? != ca.issuer.key().der_bytes() {
            return Err(PkiError::InvalidFile {
                path: key.to_owned(),
                reason: format!("does not match the certificate {}", cert.display()),
            });
        }
        Ok(ca)
    }

    /// The subjectPublicKey bits of the CA certificate (RFC 5280 section
    /// 4.1.2.7), to compare with the key's public half.
    fn certificate_public_key(&self) -> Result<Vec<u8>, PkiError> {
        let pem = crate::certs::pem_block_der(&self.cert_pem)
            .ok_or(PkiError::InvalidValidity("no PEM"))?;
        let (_, x509) =
            x509_parser::parse_x509_certificate(&pem).map_err(|e| PkiError::InvalidFile {
                path: PathBuf::new(),
                reason: format!("CA certificate does not parse: {e}"),
            })?;
        Ok(x509
            .tbs_certificate
            .subject_pki
            .subject_public_key
            .data
            .to_vec())
    }

    /// Writes the CA certificate (0644) and key (0600); never overwrites.
    pub fn save(&self, cert: &Path, key: &Path) -> Result<(), PkiError> {
        write_new(cert, self.cert_pem.as_bytes(), 0o644)?;
        write_new(key, self.key_pem.as_bytes(), 0o600)
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The kind of the CA's own key: a P-384 CA (a 192-bit PKI) issues
    /// P-384 leaves by default.
    pub fn key_kind(&self) -> KeyKind {
        let alg = self.issuer.key().algorithm();
        if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
            KeyKind::EcdsaP384
        } else if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
            KeyKind::EcdsaP256
        } else {
            KeyKind::Rsa2048
        }
    }

    fn sign_leaf(
        &self,
        mut params: CertificateParams,
        key: KeyKind,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Result<Issued, PkiError> {
        validity(&mut params, not_before, not_after)?;
        let serial = random_serial();
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = match key {
            KeyKind::EcdsaP256 | KeyKind::EcdsaP384 => vec![KeyUsagePurpose::DigitalSignature],
            // TLS 1.2 RSA key exchange also needs keyEncipherment.
            KeyKind::Rsa2048 => vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ],
        };
        let key_pair = key.generate()?;
        let cert = params
            .signed_by(&key_pair, &self.issuer)
            .map_err(rcgen_err("signing a certificate"))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: Zeroizing::new(key_pair.serialize_pem()),
            serial,
            not_after,
        })
    }

    /// Issues an ECDSA P-256 server certificate with the serverAuth EKU and
    /// the given DNS names as subjectAltName (RFC 5216 section 5.2).
    pub fn issue_server(
        &self,
        common_name: &str,
        dns_names: &[String],
        days: u32,
    ) -> Result<Issued, PkiError> {
        self.issue_server_with(common_name, dns_names, days, KeyKind::EcdsaP256)
    }

    /// [`issue_server`](Self::issue_server) with a `key` key.
    pub fn issue_server_with(
        &self,
        common_name: &str,
        dns_names: &[String],
        days: u32,
        key: KeyKind,
    ) -> Result<Issued, PkiError> {
        let (not_before, not_after) = days_from_now(days)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(common_name);
        params.subject_alt_names = dns_names
            .iter()
            .map(|n| {
                n.as_str()
                    .try_into()
                    .map(SanType::DnsName)
                    .map_err(|source| PkiError::InvalidName {
                        name: n.clone(),
                        source,
                    })
            })
            .collect::<Result<_, _>>()?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign_leaf(params, key, not_before, not_after)
    }

    /// Issues a client certificate with the clientAuth EKU. The subject CN
    /// is the user name (RFC 5216 section 5.2: the peer identity comes from
    /// the certificate); a name with `@` also gets an rfc822Name SAN.
    pub fn issue_client(
        &self,
        common_name: &str,
        key: KeyKind,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(common_name);
        if common_name.contains('@') {
            let email = common_name
                .try_into()
                .map_err(|source| PkiError::InvalidName {
                    name: common_name.to_owned(),
                    source,
                })?;
            params.subject_alt_names = vec![SanType::Rfc822Name(email)];
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign_leaf(params, key, not_before, not_after)
    }

    /// Issues a client certificate valid from an hour ago for `days` days.
    pub fn issue_client_for_days(
        &self,
        common_name: &str,
        key: KeyKind,
        days: u32,
    ) -> Result<Issued, PkiError> {
        let (not_before, not_after) = days_from_now(days)?;
        self.issue_client(common_name, key, not_before, not_after)
    }

    /// A signed CRL (RFC 5280 section 5) listing `revoked` as
    /// (serial, revocation time, reason), PEM.
    pub fn crl(
        &self,
        revoked: &[(Vec<u8>, SystemTime, Option<RevocationReason>)],
        this_update: SystemTime,
        next_update: SystemTime,
        crl_number: u64,
    ) -> Result<String, PkiError> {
        if next_update <= this_update {
            return Err(PkiError::InvalidValidity(
                "next_update is not after this_update",
            ));
        }
        let revoked_certs = revoked
            .iter()
            .map(|(serial, at, reason)| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: to_offset(*at)?,
                    reason_code: *reason,
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        let params = CertificateRevocationListParams {
            this_update: to_offset(this_update)?,
            next_update: to_offset(next_update)?,
            crl_number: SerialNumber::from_slice(&crl_number_bytes(crl_number)),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.issuer)
            .map_err(rcgen_err("signing a CRL"))?
            .pem()
            .map_err(rcgen_err("encoding a CRL"))
    }
}

/// The CRL number as a positive big-endian INTEGER body without leading zeros.
fn crl_number_bytes(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut out = Vec::with_capacity(9);
    if bytes.get(first).is_some_and(|b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(bytes.get(first..).unwrap_or(&[0]));
    out
}

mod dev;
pub use dev::{DEV_CA_NAME, DevPki, certificate_common_name, ensure_dev_pki};

#[cfg(test)]
mod tests;
