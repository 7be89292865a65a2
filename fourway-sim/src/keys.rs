//! The IEEE 802.11 pairwise key hierarchy (IEEE 802.11-2020 §12.7.1): the
//! SHA-1 primitives of AKM 1 and 2 (HMAC-SHA1, AES key wrap, key descriptor
//! version 2); what the other AKMs select is in [`crate::akm`].
//!
//! * [`Pmk`]: the pairwise master key, either taken from the EAP MSK
//!   (§12.7.1.3: its first 256 bits, 384 for AKM 12 and 13) or the PSK
//!   derived from a passphrase (§J.4.1).
//! * [`prf_sha1`]: the PRF of §12.7.1.2.
//! * [`derive_ptk`]: PRF-384 "Pairwise key expansion" (§12.7.1.3), the ONE
//!   function both the authenticator and the supplicant call.
//! * [`eapol_mic`], [`wrap_key_data`], [`unwrap_key_data`]: the EAPOL-Key
//!   integrity and confidentiality algorithms of §12.7.2 (Table 12-10/12-11).
//!
//! Secrets live in zeroizing types that implement neither `Debug` nor
//! `Display`, so they cannot leak through logs by accident.

use aes_kw::{KwAes128, KwAes256};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

type HmacSha1 = Hmac<Sha1>;

/// Length of a PMK for the SHA-1 and SHA-256 based AKMs (§12.7.1.3).
pub const PMK_LEN: usize = 32;
/// Length of the PMK of AKM 12 and 13: L(MSK, 0, 384) (§12.7.1.3).
pub const PMK_384_LEN: usize = 48;
/// Length of the MSK of EAP-TLS (RFC 5216 §2.3).
pub const MSK_LEN: usize = 64;
/// Length of an ANonce / SNonce (§12.7.2, Key Nonce field).
pub const NONCE_LEN: usize = 32;
/// Length of the KCK, KEK and CCMP-128 TK of AKM 1, 2, 5 and 6 (Table
/// 12-10, Table 12-7).
pub const KEY_LEN: usize = 16;
/// Length of the EAPOL-Key MIC of every AKM but 12 and 13 (Table 12-10).
pub const MIC_LEN: usize = 16;

/// A nonce of the four-way handshake (ANonce or SNonce).
pub type Nonce = [u8; NONCE_LEN];

/// Errors of the key hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The MSK is shorter than the 32 octets a PMK needs (§12.7.1.3).
    #[error("MSK is {0} octets, a PMK needs at least 32")]
    MskTooShort(usize),
    /// A passphrase must be 8..=63 printable ASCII characters (§J.4.1).
    #[error("passphrase must be 8..=63 printable ASCII characters")]
    InvalidPassphrase,
    /// An SSID is 1..=32 octets (§9.4.2.2).
    #[error("SSID must be 1..=32 octets")]
    InvalidSsid,
    /// Key data to wrap is too long for an EAPOL-Key frame.
    #[error("key data too long to wrap")]
    KeyDataTooLong,
    /// A KEK of a length AES key wrap does not take here (16 or 32).
    #[error("KEK of {0} octets")]
    KekLength(usize),
    /// Wrapped key data is not a multiple of 8 octets or shorter than 24.
    #[error("wrapped key data has an invalid length {0}")]
    WrappedLength(usize),
    /// The RFC 3394 integrity check failed: wrong KEK or tampered data.
    #[error("AES key unwrap integrity check failed")]
    Unwrap,
}

/// Pairwise master key (IEEE 802.11-2020 §12.7.1.3): 256 bits, or 384 for
/// AKM 12 and 13.
///
/// Taken from an MSK it holds the whole MSK (64 octets for EAP-TLS), from
/// which every AKM takes its own part: its PMK is a prefix
/// ([`crate::akm::KeyProfile::pmk`]: L(MSK, 0, 256) or L(MSK, 0, 384)),
/// FT's XXKey another part ([`crate::ft::xxkey`]). Zeroized on drop;
/// deliberately without `Debug`, `Display` or `Clone` derive (use
/// [`Pmk::clone_secret`] when a copy is really needed).
pub struct Pmk(Zeroizing<Vec<u8>>);

impl Pmk {
    /// Wrap raw key bytes (for example a PSK given as 64 hex digits).
    pub fn from_bytes(bytes: [u8; PMK_LEN]) -> Self {
        Pmk(Zeroizing::new(bytes.to_vec()))
    }

    /// Wrap a 256- or 384-bit PMK (or a 512-bit MSK).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        match bytes.len() {
            PMK_LEN | PMK_384_LEN | MSK_LEN => Ok(Pmk(Zeroizing::new(bytes.to_vec()))),
            n => Err(KeyError::MskTooShort(n)),
        }
    }

    /// The EAP MSK (its first 64 octets; RFC 5216 §2.3: EAP-TLS's MSK is
    /// 64 octets), or its first 256 bits when that is all an AP received
    /// (§12.7.1.3: PMK = L(MSK, 0, 256), or L(MSK, 0, 384) for AKM 12 and
    /// 13).
    pub fn from_msk(msk: &[u8]) -> Result<Self, KeyError> {
        if msk.len() < PMK_LEN {
            return Err(KeyError::MskTooShort(msk.len()));
        }
        let n = msk.len().min(MSK_LEN);
        Ok(Pmk(Zeroizing::new(msk[..n].to_vec())))
    }

    /// The key octets (all of them: see [`Pmk::prefix`] for an AKM's PMK).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The first `len` octets, the PMK of an AKM that takes `len`; `None`
    /// when this key is shorter.
    pub fn prefix(&self, len: usize) -> Option<&[u8]> {
        self.0.get(..len)
    }

    /// An explicit copy of the secret.
    pub fn clone_secret(&self) -> Self {
        Pmk(self.0.clone())
    }

    /// Constant-time equality, for reporting whether two sides agree.
    pub fn ct_eq(&self, other: &Pmk) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }
}

/// PSK = PBKDF2(HMAC-SHA1, passphrase, ssid, 4096, 256) (IEEE 802.11-2020
/// §J.4.1, the passphrase-to-PSK mapping).
pub fn psk_from_passphrase(passphrase: &str, ssid: &[u8]) -> Result<Pmk, KeyError> {
    let printable = passphrase.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if !(8..=63).contains(&passphrase.len()) || !printable {
        return Err(KeyError::InvalidPassphrase);
    }
    if !(1..=32).contains(&ssid.len()) {
        return Err(KeyError::InvalidSsid);
    }
    let mut psk = Zeroizing::new(vec![0u8; PMK_LEN]);
    pbkdf2::pbkdf2_hmac::<Sha1>(passphrase.as_bytes(), ssid, 4096, psk.as_mut_slice());
    Ok(Pmk(psk))
}

/// HMAC-SHA1 over the concatenation of `parts`.
fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <HmacSha1 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The IEEE 802.11 PRF (§12.7.1.2): `R = HMAC-SHA1(K, A || 0 || B || i)` for
/// i = 0, 1, ... concatenated and truncated to `out.len()` octets.
pub fn prf_sha1(key: &[u8], label: &[u8], data: &[u8], out: &mut [u8]) {
    for (i, chunk) in out.chunks_mut(20).enumerate() {
        // PRF-384 needs 3 rounds, PRF-512 4; a u8 counter covers 5100 octets.
        let counter = [i as u8];
        let mut block = Zeroizing::new(hmac_sha1(key, &[label, &[0], data, &counter]));
        chunk.copy_from_slice(&block[..chunk.len()]);
        block.zeroize();
    }
}

/// Pairwise transient key (§12.7.1.3): KCK, KEK and TK, of the lengths the
/// AKM and pairwise cipher select (Table 12-10, Table 12-8): 16 octets each
/// for AKM 1, 2, 5 and 6 with CCMP-128; 24, 32 and 32 for AKM 12 with
/// GCMP-256. Zeroized on drop; no `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Ptk {
    /// EAPOL-Key confirmation key (MIC key).
    pub kck: Vec<u8>,
    /// EAPOL-Key encryption key (AES key wrap key).
    pub kek: Vec<u8>,
    /// Temporal key for CCMP or GCMP.
    pub tk: Vec<u8>,
}

impl Ptk {
    /// Split a KDF output into KCK, KEK and TK of the given lengths.
    pub fn split(out: &[u8], kck_len: usize, kek_len: usize) -> Ptk {
        let kck_end = kck_len.min(out.len());
        let kek_end = (kck_len + kek_len).min(out.len());
        Ptk {
            kck: out[..kck_end].to_vec(),
            kek: out[kck_end..kek_end].to_vec(),
            tk: out[kek_end..].to_vec(),
        }
    }

    /// Constant-time equality of all three keys.
    pub fn ct_eq(&self, other: &Ptk) -> bool {
        (self.kck.as_slice().ct_eq(&other.kck)
            & self.kek.as_slice().ct_eq(&other.kek)
            & self.tk.as_slice().ct_eq(&other.tk))
        .into()
    }
}

fn min_max<'a>(a: &'a [u8], b: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    if a <= b { (a, b) } else { (b, a) }
}

/// PTK = PRF-384(PMK, "Pairwise key expansion", Min(AA,SPA) || Max(AA,SPA) ||
/// Min(ANonce,SNonce) || Max(ANonce,SNonce)) (IEEE 802.11-2020 §12.7.1.3).
///
/// Both roles call this one function; the min/max ordering makes the result
/// independent of which side computes it.
pub fn derive_ptk(pmk: &Pmk, aa: &[u8; 6], spa: &[u8; 6], anonce: &Nonce, snonce: &Nonce) -> Ptk {
    let (mac_lo, mac_hi) = min_max(aa, spa);
    let (nonce_lo, nonce_hi) = min_max(anonce, snonce);
    let mut data = [0u8; 6 + 6 + NONCE_LEN + NONCE_LEN];
    data[..6].copy_from_slice(mac_lo);
    data[6..12].copy_from_slice(mac_hi);
    data[12..44].copy_from_slice(nonce_lo);
    data[44..].copy_from_slice(nonce_hi);
    let mut out = Zeroizing::new([0u8; 3 * KEY_LEN]);
    // AKM 1 and 2 take the first 256 bits (a Pmk from an MSK holds more).
    prf_sha1(
        pmk.prefix(PMK_LEN).unwrap_or(pmk.as_bytes()),
        b"Pairwise key expansion",
        &data,
        out.as_mut_slice(),
    );
    Ptk::split(out.as_slice(), KEY_LEN, KEY_LEN)
}

/// EAPOL-Key MIC for key descriptor version 2: HMAC-SHA1-128 over the whole
/// EAPOL frame with the MIC field zeroed (IEEE 802.11-2020 §12.7.2 b) 1),
/// Table 12-10).
pub fn eapol_mic(kck: &[u8], frame_with_zeroed_mic: &[u8]) -> [u8; MIC_LEN] {
    let full = hmac_sha1(kck, &[frame_with_zeroed_mic]);
    let mut mic = [0u8; MIC_LEN];
    mic.copy_from_slice(&full[..MIC_LEN]);
    mic
}

/// Constant-time check of a received MIC.
pub fn verify_eapol_mic(kck: &[u8], frame_with_zeroed_mic: &[u8], mic: &[u8; MIC_LEN]) -> bool {
    eapol_mic(kck, frame_with_zeroed_mic).ct_eq(mic).into()
}

/// Largest key data this crate wraps (the Key Data Length field is 16 bits).
const MAX_KEY_DATA: usize = 4096;

/// Pad key data as IEEE 802.11-2020 §12.7.2 j) requires before AES key wrap:
/// if it is shorter than 16 octets or not a multiple of 8, append 0xdd and
/// then zeros up to a multiple of 8 that is at least 16.
pub fn pad_key_data(data: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut padded = Zeroizing::new(data.to_vec());
    if padded.len() < 16 || !padded.len().is_multiple_of(8) {
        padded.push(0xdd);
        while padded.len() < 16 || !padded.len().is_multiple_of(8) {
            padded.push(0);
        }
    }
    padded
}

/// Pad (see [`pad_key_data`]) and wrap key data with the KEK using the AES
/// key wrap of RFC 3394 (§12.7.2, Table 12-11): AES-128 with a 16-octet
/// KEK, AES-256 with the 32-octet KEK of AKM 12 and 13.
pub fn wrap_key_data(kek: &[u8], data: &[u8]) -> Result<Vec<u8>, KeyError> {
    if data.len() > MAX_KEY_DATA {
        return Err(KeyError::KeyDataTooLong);
    }
    let padded = pad_key_data(data);
    let mut out = vec![0u8; padded.len() + 8];
    let done = match kek.len() {
        16 => KwAes128::new_from_slice(kek)
            .map_err(|_| KeyError::KekLength(16))?
            .wrap_key(&padded, &mut out)
            .map(|_| ()),
        32 => KwAes256::new_from_slice(kek)
            .map_err(|_| KeyError::KekLength(32))?
            .wrap_key(&padded, &mut out)
            .map(|_| ()),
        n => return Err(KeyError::KekLength(n)),
    };
    done.map_err(|_| KeyError::KeyDataTooLong)?;
    Ok(out)
}

/// Unwrap key data with the KEK (RFC 3394 §2.2.2 with its integrity check).
/// The result still carries the §12.7.2 padding; the key data element parser
/// recognises and skips it.
pub fn unwrap_key_data(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) || wrapped.len() > MAX_KEY_DATA + 16 {
        return Err(KeyError::WrappedLength(wrapped.len()));
    }
    let mut out = Zeroizing::new(vec![0u8; wrapped.len() - 8]);
    let done = match kek.len() {
        16 => KwAes128::new_from_slice(kek)
            .map_err(|_| KeyError::KekLength(16))?
            .unwrap_key(wrapped, &mut out)
            .map(|_| ()),
        32 => KwAes256::new_from_slice(kek)
            .map_err(|_| KeyError::KekLength(32))?
            .unwrap_key(wrapped, &mut out)
            .map(|_| ()),
        n => return Err(KeyError::KekLength(n)),
    };
    done.map_err(|_| KeyError::Unwrap)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("test hex")
    }

    // PRF-SHA1 vectors of the original IEEE 802.11i draft ("SSN for 802.11"),
    // as carried by hostapd's tests/test-sha1.c (test cases 0..2, all with
    // label "prefix", 64-octet output).
    #[test]
    fn prf_sha1_known_answers() {
        let mut out = [0u8; 64];
        prf_sha1(&[0x0b; 20], b"prefix", b"Hi There", &mut out);
        assert_eq!(
            out.to_vec(),
            h(
                "bcd4c650b30b9684951829e0d75f9d54b862175ed9f00606e17d8da35402ffee\
               75df78c3d31e0f889f012120c0862beb67753e7439ae242edb8373698356cf5a"
            )
        );
        prf_sha1(
            b"Jefe",
            b"prefix",
            b"what do ya want for nothing?",
            &mut out,
        );
        assert_eq!(
            out.to_vec(),
            h(
                "51f4de5b33f249adf81aeb713a3c20f4fe631446fabdfa58244759ae58ef9009\
               a99abf4eac2ca5fa87e692c440eb40023e7babb206d61de7b92f41529092b8fc"
            )
        );
        prf_sha1(&[0xaa; 20], b"prefix", &[0xdd; 50], &mut out);
        assert_eq!(
            out.to_vec(),
            h(
                "e1ac546ec4cb636f9976487be5c86be17a0252ca5d8d8df12cfb0473525249ce\
               9dd8d177ead710bc9b590547239107aef7b4abd43d87f0a68f1cbd9e2b6f7607"
            )
        );
        // A shorter output is a prefix of the longer one.
        let mut short = [0u8; 24];
        prf_sha1(&[0x0b; 20], b"prefix", b"Hi There", &mut short);
        assert_eq!(
            short.to_vec(),
            h("bcd4c650b30b9684951829e0d75f9d54b862175ed9f00606")
        );
    }

    // IEEE 802.11-2020 Annex J.4.2 (passphrase-to-PSK test vectors), also in
    // hostapd's tests/test-sha1.c.
    #[test]
    fn psk_known_answers() {
        let psk = psk_from_passphrase("password", b"IEEE").unwrap();
        assert_eq!(
            psk.as_bytes().to_vec(),
            h("f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e")
        );
        let psk = psk_from_passphrase("ThisIsAPassword", b"ThisIsASSID").unwrap();
        assert_eq!(
            psk.as_bytes().to_vec(),
            h("0dc0d6eb90555ed6419756b9a15ec3e3209b63df707dd508d14581f8982721af")
        );
        let psk = psk_from_passphrase(&"a".repeat(32), &[b'Z'; 32]).unwrap();
        assert_eq!(
            psk.as_bytes().to_vec(),
            h("becb93866bb8c3832cb777c2f559807c8c59afcb6eae734885001300a981cc62")
        );
    }

    #[test]
    fn psk_input_validation() {
        assert_eq!(
            psk_from_passphrase("short", b"x").err(),
            Some(KeyError::InvalidPassphrase)
        );
        assert_eq!(
            psk_from_passphrase(&"a".repeat(64), b"x").err(),
            Some(KeyError::InvalidPassphrase)
        );
        assert_eq!(
            psk_from_passphrase("pass\u{e9}word", b"x").err(),
            Some(KeyError::InvalidPassphrase)
        );
        assert_eq!(
            psk_from_passphrase("password", b"").err(),
            Some(KeyError::InvalidSsid)
        );
        assert_eq!(
            psk_from_passphrase("password", &[0; 33]).err(),
            Some(KeyError::InvalidSsid)
        );
        assert!(psk_from_passphrase(&"a".repeat(63), &[0; 32]).is_ok());
    }

    #[test]
    fn pmk_from_msk() {
        let msk: Vec<u8> = (0u8..64).collect();
        let pmk = Pmk::from_msk(&msk).unwrap();
        assert_eq!(pmk.as_bytes(), &msk[..]);
        assert_eq!(pmk.prefix(32), Some(&msk[..32]));
        assert_eq!(pmk.prefix(48), Some(&msk[..48]));
        assert_eq!(Pmk::from_msk(&msk[..48]).unwrap().prefix(49), None);
        let pmk = Pmk::from_msk(&msk[..32]).unwrap();
        assert_eq!(pmk.as_bytes(), &msk[..32]);
        assert_eq!(
            Pmk::from_msk(&msk[..31]).err(),
            Some(KeyError::MskTooShort(31))
        );
        assert!(pmk.ct_eq(&Pmk::from_slice(&msk[..32]).unwrap()));
        assert!(!pmk.ct_eq(&Pmk::from_bytes([0; 32])));
    }

    // IEEE 802.11-2016 Annex J.7.1 (Table J-13) inputs and J.7.2 (Table J-14)
    // CCMP PTK; the PMK is the "ThisIsAPassword"/"ThisIsASSID" PSK. Note the
    // standard's AA really is a0-a1-a1-a3-a4-a5.
    #[test]
    fn ptk_known_answer() {
        let pmk = Pmk::from_bytes(
            h("0dc0d6eb90555ed6419756b9a15ec3e3209b63df707dd508d14581f8982721af")
                .try_into()
                .unwrap(),
        );
        let aa = [0xa0, 0xa1, 0xa1, 0xa3, 0xa4, 0xa5];
        let spa = [0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5];
        let snonce: Nonce = h("c0c1c2c3c4c5c6c7c8c9d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5")
            .try_into()
            .unwrap();
        let anonce: Nonce = h("e0e1e2e3e4e5e6e7e8e9f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405")
            .try_into()
            .unwrap();
        let ptk = derive_ptk(&pmk, &aa, &spa, &anonce, &snonce);
        assert_eq!(ptk.kck.to_vec(), h("379f9852d0199236b94e407ce4c00ec8"));
        assert_eq!(ptk.kek.to_vec(), h("47c9edc01c2c6e5b4910caddfb3e51a7"));
        assert_eq!(ptk.tk.to_vec(), h("b2360c79e9710fdd58bea93deaf06599"));
        // Same keys whichever role passes which argument order of nonces.
        let swapped = derive_ptk(&pmk, &spa, &aa, &anonce, &snonce);
        assert!(ptk.ct_eq(&swapped));
        let other = derive_ptk(&pmk, &aa, &spa, &snonce, &anonce);
        assert!(ptk.ct_eq(&other));
        let wrong = derive_ptk(&Pmk::from_bytes([0; 32]), &aa, &spa, &anonce, &snonce);
        // A Pmk holding a whole MSK derives from its first 256 bits.
        let msk = [pmk.as_bytes(), &[0x77; 32][..]].concat();
        let from_msk = derive_ptk(&Pmk::from_msk(&msk).unwrap(), &aa, &spa, &anonce, &snonce);
        assert!(ptk.ct_eq(&from_msk));
        assert!(!ptk.ct_eq(&wrong));
    }

    // RFC 3394 §4.1: wrap 128 bits of key data with a 128-bit KEK.
    #[test]
    fn rfc3394_key_wrap_vector() {
        let kek: [u8; 16] = h("000102030405060708090A0B0C0D0E0F").try_into().unwrap();
        let data = h("00112233445566778899AABBCCDDEEFF");
        let wrapped = wrap_key_data(&kek, &data).unwrap();
        assert_eq!(
            wrapped,
            h("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
        );
        assert_eq!(unwrap_key_data(&kek, &wrapped).unwrap().to_vec(), data);
        let mut bad = wrapped.clone();
        bad[5] ^= 1;
        assert_eq!(unwrap_key_data(&kek, &bad).err(), Some(KeyError::Unwrap));
        assert_eq!(
            unwrap_key_data(&kek, &wrapped[..16]).err(),
            Some(KeyError::WrappedLength(16))
        );
        assert_eq!(
            unwrap_key_data(&kek, &wrapped[..23]).err(),
            Some(KeyError::WrappedLength(23))
        );
    }

    // RFC 3394 §4.6: wrap 256 bits of key data with a 256-bit KEK (the KEK
    // length of AKM 12 and 13).
    #[test]
    fn rfc3394_key_wrap_256_vector() {
        let kek = h("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
        let data = h("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
        let wrapped = wrap_key_data(&kek, &data).unwrap();
        assert_eq!(
            wrapped,
            h("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21")
        );
        assert_eq!(unwrap_key_data(&kek, &wrapped).unwrap().to_vec(), data);
        assert_eq!(
            unwrap_key_data(&kek[..16], &wrapped).err(),
            Some(KeyError::Unwrap)
        );
        assert_eq!(
            wrap_key_data(&kek[..24], &data).err(),
            Some(KeyError::KekLength(24))
        );
    }

    #[test]
    fn key_data_padding() {
        assert_eq!(
            pad_key_data(&[1; 22]).to_vec(),
            [&[1u8; 22][..], &[0xdd, 0]].concat()
        );
        assert_eq!(pad_key_data(&[1; 3]).len(), 16);
        assert_eq!(pad_key_data(&[1; 3])[3], 0xdd);
        assert_eq!(pad_key_data(&[1; 24]).to_vec(), vec![1; 24]);
        assert_eq!(pad_key_data(&[1; 8]).len(), 16);
        let kek = [7u8; 16];
        let wrapped = wrap_key_data(&kek, &[9; 30]).unwrap();
        assert_eq!(wrapped.len(), 40);
        let plain = unwrap_key_data(&kek, &wrapped).unwrap();
        assert_eq!(&plain[..30], &[9; 30]);
        assert_eq!(&plain[30..], &[0xdd, 0]);
    }

    // RFC 2202 §3 test case 1 checks the HMAC-SHA1 the PRF and MIC use.
    #[test]
    fn mic_is_truncated_hmac_sha1() {
        assert_eq!(
            hmac_sha1(&[0x0b; 20], &[b"Hi ", b"There"]).to_vec(),
            h("b617318655057264e28bc0b6fb378c8ef146be00")
        );
        let kck = [0x0b; 16];
        let full = hmac_sha1(&kck, &[b"frame"]);
        assert_eq!(eapol_mic(&kck, b"frame")[..], full[..16]);
        let mic = eapol_mic(&kck, b"frame");
        assert!(verify_eapol_mic(&kck, b"frame", &mic));
        assert!(!verify_eapol_mic(&kck, b"frame!", &mic));
    }

    // wpa-Induction.pcap (see crate::testvectors): PSK from the passphrase,
    // PTK from the captured nonces, and the captured MICs of messages 2, 3
    // and 4 recomputed; the GTK unwrapped from message 3 with the KEK.
    #[test]
    fn induction_capture_mics_and_key_data() {
        use crate::testvectors::*;
        let pmk = psk_from_passphrase(INDUCTION_PASSPHRASE, INDUCTION_SSID).unwrap();
        let m1 = h(INDUCTION_M1);
        let m2 = h(INDUCTION_M2);
        let anonce: Nonce = m1[17..49].try_into().unwrap();
        let snonce: Nonce = m2[17..49].try_into().unwrap();
        let ptk = derive_ptk(&pmk, &INDUCTION_AA, &INDUCTION_SPA, &anonce, &snonce);
        assert_eq!(ptk.kck.to_vec(), h(INDUCTION_KCK));
        assert_eq!(ptk.kek.to_vec(), h(INDUCTION_KEK));
        for frame in [INDUCTION_M2, INDUCTION_M3, INDUCTION_M4] {
            let mut bytes = h(frame);
            let captured: [u8; 16] = bytes[81..97].try_into().unwrap();
            bytes[81..97].fill(0);
            assert_eq!(eapol_mic(&ptk.kck, &bytes), captured);
            assert!(verify_eapol_mic(&ptk.kck, &bytes, &captured));
        }
        let m3 = h(INDUCTION_M3);
        let plain = unwrap_key_data(&ptk.kek, &m3[99..]).unwrap();
        let ap_rsne = h(INDUCTION_AP_RSNE);
        assert_eq!(&plain[..ap_rsne.len()], &ap_rsne[..]);
        let gtk = h(INDUCTION_GTK);
        let kde = &plain[ap_rsne.len()..];
        assert_eq!(&kde[..6], &[0xdd, 38, 0x00, 0x0f, 0xac, 0x01]);
        assert_eq!(&kde[8..40], &gtk[..]);
    }
}
