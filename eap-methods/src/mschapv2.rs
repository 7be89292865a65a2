//! MS-CHAPv2 (RFC 2759) and its key derivation (RFC 3079): the
//! cryptography shared by EAP-MSCHAPv2 (inside PEAP and TTLS) and
//! TTLS-MSCHAPv2.
//!
//! Written here rather than taken from a crate: no maintained crate offers
//! the RFC 2759 functions together with the RFC 3079 keys and a type that
//! keeps the NT hash out of logs and wipes it.

use md4::{Digest, Md4};
use zeroize::Zeroizing;

/// Length of the NT password hash (RFC 2759 §8.3: MD4, 16 octets).
pub const NT_HASH_LEN: usize = 16;

/// The NT password hash, MD4 of the UTF-16LE password (RFC 2759 §8.3).
/// Password-equivalent for MS-CHAPv2: wiped on drop, no `Debug`.
#[derive(Clone)]
pub struct NtHash(Zeroizing<[u8; NT_HASH_LEN]>);

impl NtHash {
    /// Wraps hash octets.
    pub fn new(bytes: [u8; NT_HASH_LEN]) -> NtHash {
        NtHash(Zeroizing::new(bytes))
    }

    /// Copies a 16-octet slice; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<NtHash> {
        let arr: [u8; NT_HASH_LEN] = bytes.try_into().ok()?;
        Some(NtHash::new(arr))
    }

    /// NtPasswordHash (RFC 2759 §8.3) of a password.
    pub fn of_password(password: &str) -> NtHash {
        let mut md4 = Md4::new();
        for unit in password.encode_utf16() {
            md4.update(unit.to_le_bytes());
        }
        let mut out = [0u8; NT_HASH_LEN];
        out.copy_from_slice(&md4.finalize());
        NtHash::new(out)
    }

    /// The hash octets.
    pub fn as_bytes(&self) -> &[u8; NT_HASH_LEN] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2759 §9.2: Password "clientPass" ->
    /// PasswordHash 44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE.
    #[test]
    fn nt_password_hash_rfc2759_9_2() {
        assert_eq!(
            hex::encode(NtHash::of_password("clientPass").as_bytes()),
            "44ebba8d5312b8d611474411f56989ae"
        );
    }
}
