//! Small certificate helpers shared by the PKI, the store, the policy and
//! the admin commands: the one place that reads a PEM block and the one
//! place that takes a name's commonName.

use rustls_pki_types::pem::{PemObject, SectionKind};
use x509_parser::x509::X509Name;

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
