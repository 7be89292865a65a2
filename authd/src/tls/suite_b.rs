//! `[tls] suite_b_192`: the TLS of WPA3-Enterprise 192-bit (AKM
//! 00-0F-AC:12). RFC 9190 §2.4 and RFC 6460 (Suite B profile for TLS)
//! allow, with a 192-bit security level, only
//! TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (TLS 1.2) and
//! TLS_AES_256_GCM_SHA384 (TLS 1.3), ECDHE on P-384, and ECDSA P-384
//! signatures with SHA-384 on the handshake and on every certificate.
//!
//! [`provider`] restricts rustls to exactly that: cipher suites, key
//! exchange group, and the signature algorithms webpki accepts on a client
//! chain (so a chain with a P-256 or RSA key or a SHA-256 signature
//! anywhere fails verification) and on CertificateVerify.
//! [`check_certificate`] refuses at start-up a server certificate or a CA
//! that is not P-384 / ecdsa-with-SHA384.

use std::path::Path;

use x509_parser::oid_registry::{
    OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA384,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::TlsSetupError;

pub use eap_methods::suite_b::provider;

/// Refuse a certificate (the server's, or CA number `index` of `path`)
/// whose key is not ECDSA P-384 or whose signature is not
/// ecdsa-with-SHA384.
pub fn check_certificate(der: &[u8], path: &Path, index: usize) -> Result<(), TlsSetupError> {
    let refuse = |what: &str| TlsSetupError::NotSuiteB {
        path: path.to_owned(),
        index,
        what: what.to_owned(),
    };
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| refuse("does not parse"))?;
    let spki = &cert.public_key().algorithm;
    let curve = spki.parameters.as_ref().and_then(|p| p.as_oid().ok());
    if spki.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY || curve != Some(OID_NIST_EC_P384) {
        return Err(refuse("its key is not ECDSA P-384"));
    }
    if cert.signature_algorithm.algorithm != OID_SIG_ECDSA_WITH_SHA384 {
        return Err(refuse("it is not signed with ecdsa-with-SHA384"));
    }
    Ok(())
}
