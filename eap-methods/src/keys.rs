//! EAP key material (RFC 5247 §1.2): the Master Session Key and the
//! Extended Master Session Key, 64 octets each.
//!
//! Both are wrapped in [`Zeroizing`] so they are wiped on drop, and neither
//! implements `Debug` or `Display`, so they cannot reach a log line by
//! accident.

use zeroize::Zeroizing;

/// Length of the MSK and the EMSK (RFC 5247 §1.2: at least 64 octets;
/// EAP-TLS exports exactly 64, RFC 5216 §2.3).
pub const KEY_LEN: usize = 64;

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Zeroizing<[u8; KEY_LEN]>);

        impl $name {
            /// Wraps key octets.
            pub fn new(bytes: [u8; KEY_LEN]) -> Self {
                Self(Zeroizing::new(bytes))
            }

            /// Copies a 64-octet slice; `None` for any other length.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                let mut key = Zeroizing::new([0u8; KEY_LEN]);
                key.copy_from_slice(bytes.get(..KEY_LEN).filter(|_| bytes.len() == KEY_LEN)?);
                Some(Self(key))
            }

            /// The key octets.
            pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
                &self.0
            }
        }

        impl PartialEq for $name {
            /// Constant-time comparison.
            fn eq(&self, other: &Self) -> bool {
                let mut diff = 0u8;
                for (a, b) in self.0.iter().zip(other.0.iter()) {
                    diff |= a ^ b;
                }
                diff == 0
            }
        }

        impl Eq for $name {}
    };
}

key_type!(
    /// Master Session Key (RFC 5247 §1.2). For Wi-Fi, the first 32 octets
    /// become the PMK; RADIUS carries MSK[0..32] as MS-MPPE-Recv-Key and
    /// MSK[32..64] as MS-MPPE-Send-Key (RFC 2548 §2.4.2, §2.4.3).
    Msk
);

key_type!(
    /// Extended Master Session Key (RFC 5247 §1.2). Never leaves the EAP
    /// server.
    Emsk
);

impl Msk {
    /// MSK[0..32]: the PMK of IEEE 802.11 and the MS-MPPE-Recv-Key sent by
    /// the RADIUS server (RFC 5216 §2.3 via RFC 3579 and RFC 2548).
    pub fn recv_key(&self) -> &[u8] {
        &self.0[..32]
    }

    /// MSK[32..64]: the MS-MPPE-Send-Key sent by the RADIUS server.
    pub fn send_key(&self) -> &[u8] {
        &self.0[32..]
    }
}

/// Splits a 128-octet exporter output into MSK and EMSK (RFC 5216 §2.3,
/// RFC 9190 §2.3: MSK is the first 64 octets, EMSK the next 64).
pub(crate) fn split_key_material(material: &[u8; 2 * KEY_LEN]) -> (Msk, Emsk) {
    let mut msk = Zeroizing::new([0u8; KEY_LEN]);
    let mut emsk = Zeroizing::new([0u8; KEY_LEN]);
    msk.copy_from_slice(&material[..KEY_LEN]);
    emsk.copy_from_slice(&material[KEY_LEN..]);
    (Msk(msk), Emsk(emsk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_accessors() {
        let mut material = [0u8; 128];
        for (i, b) in material.iter_mut().enumerate() {
            *b = i as u8;
        }
        let (msk, emsk) = split_key_material(&material);
        assert_eq!(msk.as_bytes()[0], 0);
        assert_eq!(msk.as_bytes()[63], 63);
        assert_eq!(emsk.as_bytes()[0], 64);
        assert_eq!(msk.recv_key(), &material[..32]);
        assert_eq!(msk.send_key(), &material[32..64]);
        assert!(Msk::from_slice(&material[..63]).is_none());
        assert!(Msk::from_slice(&material[..64]).unwrap() == msk);
        assert!(Msk::from_slice(&material[1..65]).unwrap() != msk);
    }
}
