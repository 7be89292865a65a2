//! Small certificate helpers shared by the PKI, the store, the policy and
//! the admin commands: the one place that reads a PEM block, the one
//! place that takes a name's commonName, and what the policy and the Class
//! need from a client's leaf certificate ([`LeafFacts`]), read once.

use rustls_pki_types::pem::{PemObject, SectionKind};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::X509Name;

/// What authorization reads from a client's leaf certificate: its issuer
/// and serial (the store's key for a certificate), and each name the
/// policy's `[policy] identity` may choose. Parsed once, when the chain is
/// verified (`tls::verify_cache` keeps it with the verification), so an
/// authentication does not parse the leaf again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafFacts {
    /// The issuer Name, DER.
    pub issuer_der: Vec<u8>,
    /// The serial number, DER value octets.
    pub serial: Vec<u8>,
    /// The first subject commonName, if it is UTF-8.
    pub common_name: Option<String>,
    /// The first subjectAltName rfc822Name.
    pub san_email: Option<String>,
    /// The first subjectAltName dNSName.
    pub san_dns: Option<String>,
    /// The first subjectAltName URI.
    pub san_uri: Option<String>,
}

impl LeafFacts {
    /// Reads DER certificate `der`; the error says why it does not parse.
    pub fn parse(der: &[u8]) -> Result<LeafFacts, String> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| format!("client certificate does not parse: {e}"))?;
        Ok(LeafFacts::of(&cert))
    }

    /// The facts of a parsed certificate.
    pub fn of(cert: &X509Certificate<'_>) -> LeafFacts {
        let mut facts = LeafFacts {
            issuer_der: cert.issuer().as_raw().to_vec(),
            serial: cert.raw_serial().to_vec(),
            common_name: common_name(cert.subject()).map(str::to_owned),
            san_email: None,
            san_dns: None,
            san_uri: None,
        };
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for g in &ext.value.general_names {
                let (slot, s) = match g {
                    GeneralName::RFC822Name(s) => (&mut facts.san_email, s),
                    GeneralName::DNSName(s) => (&mut facts.san_dns, s),
                    GeneralName::URI(s) => (&mut facts.san_uri, s),
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = Some((*s).to_owned());
                }
            }
        }
        facts
    }

    /// The serial as the store writes serials (lowercase hex, no leading
    /// zero octets), as the Class carries it.
    pub fn serial_text(&self) -> Option<String> {
        crate::store::normalize_serial(&hex::encode(&self.serial)).ok()
    }
}

/// The DER of the first PEM block in `pem`, whatever its label.
pub fn pem_block_der(pem: &str) -> Option<Vec<u8>> {
    let (_, der) = <(SectionKind, Vec<u8>)>::from_pem_slice(pem.as_bytes()).ok()?;
    Some(der)
}

/// The DER of the first CERTIFICATE block in `pem` (other blocks, such as
/// a key before it, are skipped).
pub fn pem_certificate_der(pem: &str) -> Option<Vec<u8>> {
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .ok()
        .map(|c| c.to_vec())
}

/// The first commonName of `name` (RFC 5280 §4.1.2.6), if it is UTF-8.
pub fn common_name<'a>(name: &'a X509Name<'_>) -> Option<&'a str> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_and_common_name() {
        let mut params = rcgen::CertificateParams::new(vec!["x.example".into()]).unwrap();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, "alice");
        params.distinguished_name = dn;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        // A key first, then the certificate.
        let bundle = format!("{}{}", key.serialize_pem(), cert.pem());
        let first = pem_block_der(&bundle).unwrap();
        assert_eq!(first, key.serialize_der(), "the first block, the key");
        let der = pem_certificate_der(&bundle).unwrap();
        assert_eq!(der, cert.der().to_vec());
        let (_, x509) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(common_name(x509.subject()), Some("alice"));
        assert_eq!(common_name(x509.issuer()), Some("alice"));
        assert!(pem_block_der("no pem here").is_none());
        assert!(pem_certificate_der(&key.serialize_pem()).is_none());
    }
}
