//! The station's TLS for WPA3-Enterprise 192-bit (AKM 00-0F-AC:12).
//!
//! The WPA3 Specification's WPA3-Enterprise 192-bit mode requires a STA to
//! set MFPR = 1 (PMF required). Its EAP cipher suites are
//! TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 on P-384 and, with RSA of at
//! least 3072 bits, TLS_ECDHE_RSA_ and TLS_DHE_RSA_WITH_AES_256_GCM_SHA384;
//! this station, like authd's `[tls] suite_b_192`, offers the ECDSA one only
//! (RFC 6460's Suite B profile, RFC 9190 §2.4): on TLS 1.2
//! TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, on TLS 1.3
//! TLS_AES_256_GCM_SHA384, ECDHE on P-384, and ECDSA P-384 signatures with
//! SHA-384 on the handshake and on every certificate of the server's chain.
//! [`provider`] restricts rustls to exactly that (wpa_supplicant does the
//! like with TLS_CONN_SUITEB in its `tls_set_conn_flags`).

/// What the station offers, in words, for an error message.
pub const OFFER: &str = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (TLS 1.2) or \
     TLS_AES_256_GCM_SHA384 (TLS 1.3), ECDHE on P-384, ECDSA P-384 with SHA-384 signatures";

pub use eap_methods::suite_b::provider;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_192_bit_suites_group_and_signature() {
        let p = provider();
        let suites: Vec<_> = p.cipher_suites.iter().map(|s| s.suite()).collect();
        assert_eq!(
            suites,
            [
                rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
                rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            ]
        );
        let groups: Vec<_> = p.kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(groups, [rustls::NamedGroup::secp384r1]);
        let schemes: Vec<_> = p
            .signature_verification_algorithms
            .mapping
            .iter()
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(schemes, [rustls::SignatureScheme::ECDSA_NISTP384_SHA384]);
        // The default provider has more of each: the restriction is real.
        let d = rustls::crypto::aws_lc_rs::default_provider();
        assert!(d.cipher_suites.len() > 2 && d.kx_groups.len() > 1);
    }
}
