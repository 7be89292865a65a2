//! The crypto providers EAP-TLS servers and peers are built on.
//!
//! [`server_provider`] is what authd's TLS servers (EAP-TLS, PEAP, TTLS,
//! RadSec) use outside `suite_b_192`, and what the bench's rustls floor
//! measures: the aws-lc-rs default provider with its cipher suites
//! reordered so that AES-128-GCM with SHA-256 comes first, for a server
//! that picks by its own order (`ServerConfig::ignore_client_order`).
//!
//! Why AES-128-GCM-SHA256 first:
//! - TLS_AES_128_GCM_SHA256 is the one suite every TLS 1.3 implementation
//!   MUST support (RFC 8446 §9.1); TLS_ECDHE_*_WITH_AES_128_GCM_SHA256
//!   are among RFC 9325 §4.2's recommended TLS 1.2 suites.
//! - Its strength matches the key exchange and signatures: X25519, P-256
//!   and ECDSA P-256 are 128-bit security. AES-256 with SHA-384 adds
//!   nothing to a handshake whose weakest part is a P-256 key; deployments
//!   that need 192-bit strength set `suite_b_192`, which keeps only the
//!   AES-256/SHA-384 suites and P-384.
//! - It is cheaper: the handshake's transcript hash, HKDF key schedule,
//!   TLS 1.2 PRF and the EAP key export all run on the suite's hash, and
//!   SHA-256 has hardware instructions (x86 SHA-NI, ARMv8 SHA2) that
//!   SHA-384 lacks on most CPUs; AES-128 runs 10 rounds to AES-256's 14.
//!   Measured with bench/compare.sh's floor (rustls alone, in memory), in
//!   repeated runs on one machine: 6 to 9 % less server CPU per full TLS
//!   1.3 handshake, 1 to 5 % per TLS 1.2 one.
//! - NSS and Go's crypto/tls order AES-128-GCM first the same way.
//!
//! A client that offers only AES-256-GCM (or ChaCha20) still gets it: the
//! order only decides between suites both sides support. The EAP keys do
//! not depend on the choice beyond the hash the TLS PRF or exporter uses
//! (RFC 5216 §2.3, RFC 9190 §2.3), which both sides take from the
//! negotiated suite.

use std::sync::Arc;

use rustls::CipherSuite;
use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs::{default_provider, kx_group};

/// The suites a server built on [`server_provider`] prefers, in this order,
/// before the rest of the aws-lc-rs defaults.
pub const PREFERRED_SUITES: [CipherSuite; 3] = [
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
];

/// The aws-lc-rs default provider, cipher suites in server preference
/// order: [`PREFERRED_SUITES`] first, then the others in rustls' default
/// order (kept). A server built on it applies [`choose_by_server_order`],
/// or rustls follows the client's order and the reordering does nothing.
pub fn server_provider() -> CryptoProvider {
    let mut provider = default_provider();
    provider.cipher_suites.sort_by_key(|s| {
        PREFERRED_SUITES
            .iter()
            .position(|p| *p == s.suite())
            .unwrap_or(PREFERRED_SUITES.len())
    });
    provider
}

/// The server picks the cipher suite by its provider's order, not the
/// client's: wpa_supplicant (OpenSSL 3) and rustls clients both lead with
/// AES-256-GCM-SHA384 (see the module documentation). authd's TLS servers
/// and the bench's floor both call this.
pub fn choose_by_server_order(config: &mut rustls::ServerConfig) {
    config.ignore_client_order = true;
}

/// A CryptoProvider that offers only X25519 then secp256r1 for key
/// exchange, like OpenSSL 3.0 supplicants, instead of the aws-lc-rs default
/// that leads with the large X25519MLKEM768 share.
pub fn classic_kx_provider() -> Arc<CryptoProvider> {
    let mut provider = default_provider();
    provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1];
    Arc::new(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes128_first_rest_in_default_order() {
        let default: Vec<_> = default_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        let ordered: Vec<_> = server_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        assert_eq!(ordered[..3], PREFERRED_SUITES);
        assert_eq!(ordered.len(), default.len());
        let rest: Vec<_> = default
            .iter()
            .copied()
            .filter(|s| !PREFERRED_SUITES.contains(s))
            .collect();
        assert_eq!(ordered[3..], rest[..]);
        // The default really leads with AES-256 (else this change is moot).
        assert_eq!(default[0], CipherSuite::TLS13_AES_256_GCM_SHA384);
    }
}
