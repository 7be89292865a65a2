//! The TLS of WPA3-Enterprise 192-bit (AKM 00-0F-AC:12), for both ends:
//! authd's `[tls] suite_b_192` and the simulated station. RFC 9190 §2.4 and
//! RFC 6460 (Suite B profile for TLS) allow, with a 192-bit security level,
//! only TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (TLS 1.2) and
//! TLS_AES_256_GCM_SHA384 (TLS 1.3), ECDHE on P-384, and ECDSA P-384
//! signatures with SHA-384 on the handshake and on every certificate.
//! [`provider`] restricts rustls to exactly that: cipher suites, key
//! exchange group, and the signature algorithms webpki accepts on a chain
//! (a P-256 or RSA key or a SHA-256 signature anywhere fails) and on
//! CertificateVerify.

use std::sync::{Arc, OnceLock};

use rustls::SignatureScheme;
use rustls::crypto::aws_lc_rs::{cipher_suite, kx_group};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls_pki_types::alg_id;

fn algorithms() -> WebPkiSupportedAlgorithms {
    static ALGS: OnceLock<WebPkiSupportedAlgorithms> = OnceLock::new();
    *ALGS.get_or_init(|| {
        let all = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        let p384: Vec<_> = all
            .all
            .iter()
            .copied()
            .filter(|a| {
                a.public_key_alg_id() == alg_id::ECDSA_P384
                    && a.signature_alg_id() == alg_id::ECDSA_SHA384
            })
            .collect();
        let p384: &'static [_] = Box::leak(p384.into_boxed_slice());
        let mapping: Vec<_> = all
            .mapping
            .iter()
            .filter(|(scheme, _)| *scheme == SignatureScheme::ECDSA_NISTP384_SHA384)
            .map(|(scheme, _)| (*scheme, p384))
            .collect();
        // Built once per process: the two small slices live as long as it.
        WebPkiSupportedAlgorithms {
            all: p384,
            mapping: Box::leak(mapping.into_boxed_slice()),
        }
    })
}

/// The aws-lc-rs provider restricted to the 192-bit suites, key exchange
/// group and signature algorithms.
pub fn provider() -> Arc<CryptoProvider> {
    let base = rustls::crypto::aws_lc_rs::default_provider();
    Arc::new(CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ],
        kx_groups: vec![kx_group::SECP384R1],
        signature_verification_algorithms: algorithms(),
        ..base
    })
}
