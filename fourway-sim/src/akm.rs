//! What each AKM suite selects in the key hierarchy (IEEE 802.11-2020
//! §12.7.1.3, §12.7.2, Table 9-151 "AKM suite selectors", Table 12-10
//! "Integrity and key wrap algorithms"): the function the PTK comes from,
//! the EAPOL-Key MIC algorithm and key descriptor version, and the hash of
//! the PMKID.
//!
//! | AKM | PTK from | Key Descriptor Version / MIC | PMKID |
//! |-----|----------|------------------------------|-------|
//! | 1, 2 | PRF-384 (HMAC-SHA-1, §12.7.1.2) | 2: HMAC-SHA-1-128 | HMAC-SHA-1-128 |
//! | 5, 6 | KDF-SHA-256-384 (§12.7.1.6.2) | 3: AES-128-CMAC | HMAC-SHA-256-128 |
//!
//! [`KeyProfile::for_akm`] refuses every other AKM by name: the simulator
//! never runs one AKM's handshake under another's selector.

use aes::Aes128;
use cmac::Cmac;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::eapol::{Akm, KeyDescriptorVersion};
use crate::keys::{KEY_LEN, MIC_LEN, NONCE_LEN, Nonce, Pmk, Ptk, prf_sha1};

/// Length of a PMKID (§9.4.2.24.5).
pub const PMKID_LEN: usize = 16;

/// A PMK identifier (§12.7.1.3): names a PMKSA, not secret.
pub type Pmkid = [u8; PMKID_LEN];

/// The pseudorandom function the PTK is expanded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// PRF-n with HMAC-SHA-1 (§12.7.1.2), for AKM 1 and 2.
    PrfSha1,
    /// KDF-SHA-256 (§12.7.1.6.2), for AKM 5 and 6 (and FT's AKM 3, 4).
    KdfSha256,
}

/// The EAPOL-Key MIC algorithm (Table 12-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicAlgorithm {
    /// HMAC-SHA-1-128: key descriptor version 2.
    HmacSha1_128,
    /// AES-128-CMAC: key descriptor version 3.
    AesCmac128,
}

/// The hash of the PMKID (§12.7.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PmkidHash {
    /// HMAC-SHA-1-128.
    Sha1,
    /// HMAC-SHA-256-128.
    Sha256,
}

/// An AKM suite this simulator does not implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not implemented by this simulator")]
pub struct UnsupportedAkm(pub Akm);

/// The algorithms one negotiated AKM selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyProfile {
    /// The AKM negotiated in the RSN elements.
    pub akm: Akm,
    /// PTK derivation.
    pub kdf: Kdf,
    /// EAPOL-Key MIC.
    pub mic: MicAlgorithm,
    /// The Key Descriptor Version subfield every EAPOL-Key frame carries.
    pub descriptor_version: KeyDescriptorVersion,
    /// PMKID hash.
    pub pmkid_hash: PmkidHash,
}

impl KeyProfile {
    /// The profile of `akm` with CCMP-128 as pairwise cipher, or the AKM
    /// named in an error when the simulator does not implement it.
    pub fn for_akm(akm: Akm) -> Result<Self, UnsupportedAkm> {
        let (kdf, mic, descriptor_version, pmkid_hash) = match akm {
            Akm::Ieee8021x | Akm::Psk => (
                Kdf::PrfSha1,
                MicAlgorithm::HmacSha1_128,
                KeyDescriptorVersion::HmacSha1Aes,
                PmkidHash::Sha1,
            ),
            Akm::Ieee8021xSha256 | Akm::PskSha256 => (
                Kdf::KdfSha256,
                MicAlgorithm::AesCmac128,
                KeyDescriptorVersion::AesCmac,
                PmkidHash::Sha256,
            ),
            other => return Err(UnsupportedAkm(other)),
        };
        Ok(KeyProfile {
            akm,
            kdf,
            mic,
            descriptor_version,
            pmkid_hash,
        })
    }

    /// PTK = PRF-384 or KDF-SHA-256-384 of (PMK, "Pairwise key expansion",
    /// Min(AA,SPA) || Max(AA,SPA) || Min(ANonce,SNonce) ||
    /// Max(ANonce,SNonce)) (§12.7.1.3), split into KCK, KEK and TK of 128
    /// bits each (Table 12-10, Table 12-7 for CCMP-128). Both roles call
    /// this one function.
    pub fn derive_ptk(
        &self,
        pmk: &Pmk,
        aa: &[u8; 6],
        spa: &[u8; 6],
        anonce: &Nonce,
        snonce: &Nonce,
    ) -> Ptk {
        let (mac_lo, mac_hi) = if aa <= spa { (aa, spa) } else { (spa, aa) };
        let (n_lo, n_hi) = if anonce <= snonce {
            (anonce, snonce)
        } else {
            (snonce, anonce)
        };
        let mut data = [0u8; 12 + 2 * NONCE_LEN];
        data[..6].copy_from_slice(mac_lo);
        data[6..12].copy_from_slice(mac_hi);
        data[12..44].copy_from_slice(n_lo);
        data[44..].copy_from_slice(n_hi);
        let mut out = Zeroizing::new([0u8; 3 * KEY_LEN]);
        let label = b"Pairwise key expansion";
        match self.kdf {
            Kdf::PrfSha1 => prf_sha1(pmk.as_bytes(), label, &data, out.as_mut_slice()),
            Kdf::KdfSha256 => kdf_sha256(pmk.as_bytes(), label, &data, out.as_mut_slice()),
        }
        let mut ptk = Ptk {
            kck: [0; KEY_LEN],
            kek: [0; KEY_LEN],
            tk: [0; KEY_LEN],
        };
        ptk.kck.copy_from_slice(&out[..16]);
        ptk.kek.copy_from_slice(&out[16..32]);
        ptk.tk.copy_from_slice(&out[32..48]);
        ptk
    }

    /// The Key MIC over an EAPOL frame whose MIC field is zero (§12.7.2 b) 1)).
    pub fn mic(&self, kck: &[u8; KEY_LEN], frame_with_zeroed_mic: &[u8]) -> [u8; MIC_LEN] {
        match self.mic {
            MicAlgorithm::HmacSha1_128 => crate::keys::eapol_mic(kck, frame_with_zeroed_mic),
            MicAlgorithm::AesCmac128 => aes_cmac(kck, &[frame_with_zeroed_mic]),
        }
    }

    /// Constant-time check of a received Key MIC.
    pub fn verify_mic(
        &self,
        kck: &[u8; KEY_LEN],
        frame_with_zeroed_mic: &[u8],
        mic: &[u8; MIC_LEN],
    ) -> bool {
        self.mic(kck, frame_with_zeroed_mic).ct_eq(mic).into()
    }

    /// PMKID = Truncate-128(HMAC-Hash(PMK, "PMK Name" || AA || SPA)) (§12.7.1.3).
    pub fn pmkid(&self, pmk: &Pmk, aa: &[u8; 6], spa: &[u8; 6]) -> Pmkid {
        let parts: [&[u8]; 3] = [b"PMK Name", aa, spa];
        let mut id = [0u8; PMKID_LEN];
        match self.pmkid_hash {
            PmkidHash::Sha1 => {
                let full = hmac::<Sha1>(pmk.as_bytes(), &parts);
                id.copy_from_slice(&full[..PMKID_LEN]);
            }
            PmkidHash::Sha256 => {
                let full = hmac::<Sha256>(pmk.as_bytes(), &parts);
                id.copy_from_slice(&full[..PMKID_LEN]);
            }
        }
        id
    }
}

fn hmac<D: hmac::EagerHash>(key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>>
where
    Hmac<D>: KeyInit + Mac,
{
    // HMAC takes keys of any length: `new_from_slice` cannot fail here.
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        mac.update(p);
    }
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

/// AES-128-CMAC (RFC 4493, NIST SP 800-38B) over the concatenation of
/// `parts`.
pub fn aes_cmac(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Cmac<Aes128> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        mac.update(p);
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// KDF-SHA-256 (IEEE 802.11-2020 §12.7.1.6.2):
/// `result = HMAC-SHA-256(K, i || Label || Context || Length)` for
/// i = 1, 2, ..., with `i` and `Length` (the output length in bits) as
/// 16-bit little-endian integers and no zero octet after the label,
/// concatenated and truncated to `out.len()` octets.
pub fn kdf_sha256(key: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) {
    // Length is a 16-bit field of bits: 8191 octets at most, far more than
    // any key this crate derives.
    let bits = u16::try_from(out.len() * 8).unwrap_or(u16::MAX);
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let counter = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let block = hmac::<Sha256>(
            key,
            &[&counter.to_le_bytes(), label, context, &bits.to_le_bytes()],
        );
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::psk_from_passphrase;
    use crate::testvectors::*;

    // RFC 4493 §4: AES-CMAC examples 1 to 4 (the key of NIST SP 800-38B
    // D.1, messages of 0, 16, 40 and 64 octets).
    #[test]
    fn aes_cmac_rfc4493_examples() {
        let key: [u8; 16] = h("2b7e151628aed2a6abf7158809cf4f3c").try_into().unwrap();
        let m = h("6bc1bee22e409f96e93d7e117393172a\
             ae2d8a571e03ac9c9eb76fac45af8e51\
             30c81c46a35ce411e5fbc1191a0a52ef\
             f69f2445df4f9b17ad2b417be66c3710");
        let cases = [
            (0, "bb1d6929e95937287fa37d129b756746"),
            (16, "070a16b46b4d4144f79bdd9dd04a287c"),
            (40, "dfa66747de9ae63030ca32611497c827"),
            (64, "51f0bebf7e3b9d92fc49741779363cfe"),
        ];
        for (len, tag) in cases {
            assert_eq!(aes_cmac(&key, &[&m[..len]]).to_vec(), h(tag), "{len}");
        }
        // Split input gives the same tag.
        assert_eq!(
            aes_cmac(&key, &[&m[..7], &m[7..40]]).to_vec(),
            h(cases[2].1)
        );
    }

    // RFC 4231 §4.2 and §4.3: HMAC-SHA-256 test cases 1 and 2, the
    // primitive of KDF-SHA-256 and the SHA-256 PMKID.
    #[test]
    fn hmac_sha256_rfc4231() {
        assert_eq!(
            hmac::<Sha256>(&[0x0b; 20], &[b"Hi There"]).to_vec(),
            h("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
        assert_eq!(
            hmac::<Sha256>(b"Jefe", &[b"what do ya want ", b"for nothing?"]).to_vec(),
            h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    // The example of hashcat's mode 22000 ("WPA-PBKDF2-PMKID+EAPOL",
    // hashcat wiki, example_hashes): WPA*01*PMKID*AP*STA*ESSID with the
    // password "hashcat!" and the ESSID "hashcat-essid". (The PMKID KDE in
    // wpa-Induction.pcap's message 1 is not one of the PSK: that AP named
    // another PMK, so it is no vector.)
    #[test]
    fn pmkid_sha1_hashcat_example() {
        let profile = KeyProfile::for_akm(Akm::Psk).unwrap();
        let pmk = psk_from_passphrase("hashcat!", b"hashcat-essid").unwrap();
        let aa = [0xfc, 0x69, 0x0c, 0x15, 0x82, 0x64];
        let spa = [0xf4, 0x74, 0x7f, 0x87, 0xf9, 0xf4];
        assert_eq!(
            profile.pmkid(&pmk, &aa, &spa).to_vec(),
            h("4d4fe7aac3a2cecab195321ceb99a7d0")
        );
    }

    // The SHA-1 profile is the pre-existing hierarchy: the Annex J.7 PTK
    // and the captured MICs.
    #[test]
    fn sha1_profile_is_prf_and_hmac_sha1() {
        let profile = KeyProfile::for_akm(Akm::Ieee8021x).unwrap();
        assert_eq!(
            profile.descriptor_version,
            KeyDescriptorVersion::HmacSha1Aes
        );
        let pmk = psk_from_passphrase(INDUCTION_PASSPHRASE, INDUCTION_SSID).unwrap();
        let anonce: Nonce = h(INDUCTION_M1)[17..49].try_into().unwrap();
        let snonce: Nonce = h(INDUCTION_M2)[17..49].try_into().unwrap();
        let ptk = profile.derive_ptk(&pmk, &INDUCTION_AA, &INDUCTION_SPA, &anonce, &snonce);
        assert_eq!(ptk.kck.to_vec(), h(INDUCTION_KCK));
        let mut m2 = h(INDUCTION_M2);
        let mic: [u8; 16] = m2[81..97].try_into().unwrap();
        m2[81..97].fill(0);
        assert!(profile.verify_mic(&ptk.kck, &m2, &mic));
    }

    #[test]
    fn sha256_profile_and_refusals() {
        let p = KeyProfile::for_akm(Akm::Ieee8021xSha256).unwrap();
        assert_eq!(p.descriptor_version, KeyDescriptorVersion::AesCmac);
        assert_eq!(p.kdf, Kdf::KdfSha256);
        assert_eq!(p.mic, MicAlgorithm::AesCmac128);
        let kck = [7u8; 16];
        assert_eq!(p.mic(&kck, b"frame"), aes_cmac(&kck, &[b"frame"]));
        for akm in [
            Akm::FtIeee8021x,
            Akm::Ieee8021xSuiteB192,
            Akm::FtIeee8021xSha384,
            Akm::Sae,
        ] {
            let e = KeyProfile::for_akm(akm).unwrap_err();
            assert_eq!(e, UnsupportedAkm(akm));
        }
        assert_eq!(
            UnsupportedAkm(Akm::Ieee8021xSuiteB192).to_string(),
            "AKM 00-0F-AC:12 (IEEE 802.1X Suite B 192-bit) is not implemented by this simulator"
        );
    }
}
