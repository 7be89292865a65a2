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
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
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

/// The files of a development PKI (see [`ensure_dev_pki`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPki {
    /// The directory holding the files.
    pub dir: PathBuf,
    /// `ca.pem`: the CA certificate (trust anchor for both sides).
    pub ca_cert: PathBuf,
    /// `ca.key`: the CA key, to issue more certificates.
    pub ca_key: PathBuf,
    /// `server.pem`: the server's certificate (the leaf alone).
    pub server_cert: PathBuf,
    /// `server.key`: its key.
    pub server_key: PathBuf,
    /// `client.pem`: the demo user's certificate.
    pub client_cert: PathBuf,
    /// `client.key`: its key.
    pub client_key: PathBuf,
    /// `crl.pem`: a CRL from the CA, empty when created.
    pub crl: PathBuf,
    /// The demo user's name (the client certificate's CN).
    pub demo_user: String,
}

/// Common name of the development CA.
pub const DEV_CA_NAME: &str = "authd development CA";

impl DevPki {
    pub(crate) fn paths(dir: &Path, demo_user: &str) -> DevPki {
        DevPki {
            dir: dir.to_owned(),
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
            crl: dir.join("crl.pem"),
            demo_user: demo_user.to_owned(),
        }
    }

    fn files(&self) -> [&PathBuf; 7] {
        [
            &self.ca_cert,
            &self.ca_key,
            &self.server_cert,
            &self.server_key,
            &self.client_cert,
            &self.client_key,
            &self.crl,
        ]
    }
}

/// Makes sure `dir` holds a development PKI and returns its paths, and
/// whether it was created now.
///
/// If none of the files exist, creates `dir` (mode 0700 when new) and writes
/// a CA ("authd development CA", 10 years), a server certificate (CN
/// "authd", SAN DNS "authd.local" and "localhost", signed directly by the CA
/// so the chain is the leaf alone and EAP-TLS takes fewer round trips), a
/// client certificate for `demo_user`, and an empty CRL. Keys are mode 0600.
///
/// Never overwrites: if all files exist they are used as they are (the demo
/// user is read from the client certificate); if only some exist, this is an
/// [`PkiError::Incomplete`] error naming the missing ones.
pub fn ensure_dev_pki(dir: &Path, demo_user: &str) -> Result<(DevPki, bool), PkiError> {
    let mut pki = DevPki::paths(dir, demo_user);
    let mut missing = Vec::new();
    let mut present = 0;
    for f in pki.files() {
        match fs::symlink_metadata(f) {
            Ok(_) => present += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(f.clone()),
            Err(e) => {
                return Err(PkiError::Io {
                    path: f.clone(),
                    source: e,
                });
            }
        }
    }
    if missing.is_empty() {
        pki.demo_user = certificate_common_name(&pki.client_cert)?;
        return Ok((pki, false));
    }
    if present > 0 {
        return Err(PkiError::Incomplete {
            dir: dir.to_owned(),
            missing,
        });
    }

    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir))?;
    }
    let ca = CertificateAuthority::generate(DEV_CA_NAME, 3650)?;
    let server = ca.issue_server(
        "authd",
        &["authd.local".to_owned(), "localhost".to_owned()],
        825,
    )?;
    let client = ca.issue_client_for_days(demo_user, KeyKind::EcdsaP256, 365)?;
    let now = SystemTime::now();
    let crl = ca.crl(
        &[],
        now.checked_sub(BACKDATE).unwrap_or(now),
        now + DAY * 30,
        1,
    )?;

    ca.save(&pki.ca_cert, &pki.ca_key)?;
    server.write(&pki.server_cert, &pki.server_key)?;
    client.write(&pki.client_cert, &pki.client_key)?;
    write_new(&pki.crl, crl.as_bytes(), 0o644)?;
    Ok((pki, true))
}

/// The subject CN of the certificate in PEM file `path`.
pub fn certificate_common_name(path: &Path) -> Result<String, PkiError> {
    let pem = fs::read_to_string(path).map_err(io_err(path))?;
    let invalid = |reason: &str| PkiError::InvalidFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let der = crate::certs::pem_block_der(&pem).ok_or_else(|| invalid("no PEM certificate"))?;
    let (_, x509) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| invalid(&format!("certificate does not parse: {e}")))?;
    let cn = crate::certs::common_name(x509.subject())
        .ok_or_else(|| invalid("certificate has no UTF-8 common name"))?;
    Ok(cn.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use x509_parser::prelude::*;

    fn temp_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "authd-pki-{name}-{}-{}",
            std::process::id(),
            hex::encode(random_serial())
        ))
    }

    fn parse_pem(pem: &str) -> Vec<u8> {
        crate::certs::pem_block_der(pem).expect("PEM")
    }

    /// The leaf names the CA as issuer, by name and by key identifier
    /// (RFC 5280 sections 4.1.2.4 and 4.2.1.1). Signatures are checked by
    /// the TLS tests, which run real handshakes.
    fn assert_issued_by(leaf: &X509Certificate<'_>, ca: &X509Certificate<'_>) {
        assert_eq!(leaf.issuer(), ca.subject());
        let ski = ca
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
                _ => None,
            })
            .expect("CA has a subject key identifier");
        let aki = leaf
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| k.0)
                }
                _ => None,
            })
            .expect("leaf has an authority key identifier");
        assert_eq!(aki, ski);
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn ca_profile() {
        let ca = CertificateAuthority::generate("Test CA", 10).unwrap();
        let der = parse_pem(&ca.cert_pem());
        let (_, cert) = parse_x509_certificate(&der).unwrap();
        let bc = cert.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign());
        assert_eq!(cert.subject(), cert.issuer());
        assert!(format!("{ca:?}").contains("elided"));
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }

    #[test]
    fn server_and_client_profiles() {
        let ca = CertificateAuthority::generate("Test CA", 10).unwrap();
        let server = ca
            .issue_server("authd", &["authd.local".into(), "localhost".into()], 10)
            .unwrap();
        let der = parse_pem(&server.cert_pem);
        let (_, cert) = parse_x509_certificate(&der).unwrap();
        assert!(
            cert.extended_key_usage()
                .unwrap()
                .unwrap()
                .value
                .server_auth
        );
        assert!(
            !cert
                .extended_key_usage()
                .unwrap()
                .unwrap()
                .value
                .client_auth
        );
        assert!(!cert.basic_constraints().unwrap().unwrap().value.ca);
        let san = cert.subject_alternative_name().unwrap().unwrap().value;
        let names: Vec<_> = san
            .general_names
            .iter()
            .filter_map(|g| match g {
                GeneralName::DNSName(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["authd.local", "localhost"]);
        assert_eq!(cert.raw_serial(), &server.serial[..]);
        assert_eq!(server.serial.len(), 16);
        assert!(server.serial[0] & 0x80 == 0 && server.serial[0] != 0);

        // The leaf verifies under the CA key.
        let ca_der = parse_pem(&ca.cert_pem());
        let (_, ca_cert) = parse_x509_certificate(&ca_der).unwrap();
        assert_issued_by(&cert, &ca_cert);

        let now = SystemTime::now();
        let client = ca
            .issue_client("alice@example.org", KeyKind::Rsa2048, now, now + DAY)
            .unwrap();
        let der = parse_pem(&client.cert_pem);
        let (_, cert) = parse_x509_certificate(&der).unwrap();
        assert!(
            cert.extended_key_usage()
                .unwrap()
                .unwrap()
                .value
                .client_auth
        );
        let cn = cert.subject().iter_common_name().next().unwrap();
        assert_eq!(cn.as_str().unwrap(), "alice@example.org");
        let san = cert.subject_alternative_name().unwrap().unwrap().value;
        assert_eq!(san.general_names.len(), 1);
        assert!(matches!(
            san.general_names[0],
            GeneralName::RFC822Name("alice@example.org")
        ));
        assert!(client.key_pem.contains("BEGIN PRIVATE KEY"));
        assert!(matches!(
            cert.public_key().parsed().unwrap(),
            x509_parser::public_key::PublicKey::RSA(ref k) if k.key_size() == 2048
        ));
        assert_issued_by(&cert, &ca_cert);
        assert!(!format!("{client:?}").contains("PRIVATE"));
        assert_ne!(client.serial, server.serial);
    }

    #[test]
    fn expired_validity_is_kept() {
        let ca = CertificateAuthority::generate("Test CA", 10).unwrap();
        let now = SystemTime::now();
        let issued = ca
            .issue_client("old", KeyKind::EcdsaP256, now - DAY * 10, now - DAY)
            .unwrap();
        let der = parse_pem(&issued.cert_pem);
        let (_, cert) = parse_x509_certificate(&der).unwrap();
        assert!(!cert.validity().is_valid());
        assert!(ca.issue_client("x", KeyKind::EcdsaP256, now, now).is_err());
    }

    #[test]
    fn crl_lists_serials() {
        let ca = CertificateAuthority::generate("Test CA", 10).unwrap();
        let now = SystemTime::now();
        let a = ca
            .issue_client_for_days("a", KeyKind::EcdsaP256, 1)
            .unwrap();
        let pem = ca
            .crl(
                &[(a.serial.clone(), now, Some(RevocationReason::KeyCompromise))],
                now,
                now + DAY,
                300,
            )
            .unwrap();
        assert!(pem.contains("BEGIN X509 CRL"));
        let der = parse_pem(&pem);
        let (_, crl) = parse_x509_crl(&der).unwrap();
        let serials: Vec<_> = crl
            .iter_revoked_certificates()
            .map(|r| r.raw_serial().to_vec())
            .collect();
        assert_eq!(serials, vec![a.serial.clone()]);
        assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("300".into()));
        assert!(ca.crl(&[], now, now, 1).is_err());
    }

    // A 192-bit PKI: P-384 keys everywhere, every signature
    // ecdsa-with-SHA384 (RFC 5758 §3.2), and a loaded P-384 CA reports its
    // kind so that its client certificates are P-384 too.
    #[test]
    fn p384_pki() {
        use x509_parser::oid_registry::{OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA384};
        let ca = CertificateAuthority::generate_with("suite b CA", 30, KeyKind::EcdsaP384).unwrap();
        assert_eq!(ca.key_kind(), KeyKind::EcdsaP384);
        let server = ca
            .issue_server_with("authd", &["authd.local".into()], 30, KeyKind::EcdsaP384)
            .unwrap();
        let client = ca.issue_client_for_days("alice", ca.key_kind(), 1).unwrap();
        let ca_der = parse_pem(&ca.cert_pem());
        let (_, ca_cert) = X509Certificate::from_der(&ca_der).unwrap();
        for (i, pem) in [&ca.cert_pem(), &server.cert_pem, &client.cert_pem]
            .into_iter()
            .enumerate()
        {
            let der = parse_pem(pem);
            let (_, cert) = X509Certificate::from_der(&der).unwrap();
            assert_eq!(
                cert.signature_algorithm.algorithm,
                OID_SIG_ECDSA_WITH_SHA384
            );
            let params = cert.public_key().algorithm.parameters.as_ref().unwrap();
            assert_eq!(params.as_oid().unwrap(), OID_NIST_EC_P384);
            if i > 0 {
                assert_issued_by(&cert, &ca_cert);
            }
        }
        let dir = temp_dir("p384");
        fs::create_dir_all(&dir).unwrap();
        ca.save(&dir.join("ca.pem"), &dir.join("ca.key")).unwrap();
        let loaded = CertificateAuthority::load(&dir.join("ca.pem"), &dir.join("ca.key")).unwrap();
        assert_eq!(loaded.key_kind(), KeyKind::EcdsaP384);
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(
            CertificateAuthority::generate("p256", 1)
                .unwrap()
                .key_kind(),
            KeyKind::EcdsaP256
        );
    }

    #[test]
    fn crl_number_encoding() {
        assert_eq!(crl_number_bytes(0), [0]);
        assert_eq!(crl_number_bytes(1), [1]);
        assert_eq!(crl_number_bytes(0x80), [0, 0x80]);
        assert_eq!(crl_number_bytes(0x1234), [0x12, 0x34]);
        assert_eq!(
            crl_number_bytes(u64::MAX),
            [0, 255, 255, 255, 255, 255, 255, 255, 255]
        );
    }

    #[test]
    fn save_load_round_trip() {
        let dir = temp_dir("ca");
        fs::create_dir_all(&dir).unwrap();
        let ca = CertificateAuthority::generate("Round Trip CA", 10).unwrap();
        let (cert, key) = (dir.join("ca.pem"), dir.join("ca.key"));
        ca.save(&cert, &key).unwrap();
        assert_eq!(mode(&key), 0o600);
        assert!(ca.save(&cert, &key).is_err(), "never overwrites");
        let loaded = CertificateAuthority::load(&cert, &key).unwrap();
        assert_eq!(loaded.cert_pem(), ca.cert_pem());
        // A leaf issued by the loaded CA verifies under the original.
        let leaf = loaded
            .issue_client_for_days("bob", KeyKind::EcdsaP256, 1)
            .unwrap();
        let der = parse_pem(&leaf.cert_pem);
        let (_, leaf) = parse_x509_certificate(&der).unwrap();
        let ca_der = parse_pem(&ca.cert_pem());
        let (_, ca_cert) = parse_x509_certificate(&ca_der).unwrap();
        assert_issued_by(&leaf, &ca_cert);
        assert_eq!(leaf.issuer(), ca_cert.subject());

        // The wrong key is refused, naming the key file.
        let other = CertificateAuthority::generate("Other", 10).unwrap();
        let (ocert, okey) = (dir.join("o.pem"), dir.join("o.key"));
        other.save(&ocert, &okey).unwrap();
        let err = CertificateAuthority::load(&cert, &okey).unwrap_err();
        assert!(err.to_string().contains("o.key"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dev_pki_is_created_once_and_never_overwritten() {
        let dir = temp_dir("dev").join("pki");
        let (pki, created) = ensure_dev_pki(&dir, "demo").unwrap();
        assert!(created);
        assert_eq!(mode(&dir), 0o700);
        for key in [&pki.ca_key, &pki.server_key, &pki.client_key] {
            assert_eq!(mode(key), 0o600, "{}", key.display());
        }
        assert_eq!(mode(&pki.server_cert), 0o644);
        let before: Vec<_> = pki.files().iter().map(|f| fs::read(f).unwrap()).collect();

        let (again, created) = ensure_dev_pki(&dir, "someone-else").unwrap();
        assert!(!created);
        assert_eq!(again.demo_user, "demo");
        assert_eq!(again.ca_cert, pki.ca_cert);
        let after: Vec<_> = pki.files().iter().map(|f| fs::read(f).unwrap()).collect();
        assert_eq!(before, after);

        // Server certificate: CN authd, both DNS names, issued by the CA.
        let der = parse_pem(&fs::read_to_string(&pki.server_cert).unwrap());
        let (_, cert) = parse_x509_certificate(&der).unwrap();
        assert_eq!(
            cert.subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            "authd"
        );
        let ca = CertificateAuthority::load(&pki.ca_cert, &pki.ca_key).unwrap();
        let ca_der = parse_pem(&ca.cert_pem());
        let (_, ca_cert) = parse_x509_certificate(&ca_der).unwrap();
        assert_eq!(
            ca_cert
                .subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            DEV_CA_NAME
        );
        assert_issued_by(&cert, &ca_cert);
        let crl_der = parse_pem(&fs::read_to_string(&pki.crl).unwrap());
        let (_, crl) = parse_x509_crl(&crl_der).unwrap();
        assert_eq!(crl.iter_revoked_certificates().count(), 0);

        // One file gone: an error naming it, nothing regenerated.
        fs::remove_file(&pki.client_key).unwrap();
        match ensure_dev_pki(&dir, "demo") {
            Err(PkiError::Incomplete { missing, .. }) => {
                assert_eq!(missing, vec![pki.client_key.clone()])
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(&pki.ca_key).unwrap(), before[1]);
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
