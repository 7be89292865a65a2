//! BIP-CMAC-128 and BIP-GMAC-256 (IEEE 802.11-2020 §12.5.4): integrity and
//! replay protection of group-addressed robust management frames, such as
//! a broadcast Deauthentication, under the IGTK.
//!
//! * The Management MIC element (MME, §9.4.2.54) is the last element of the
//!   frame body: Element ID 76, Length 16 (or 24), Key ID (2 octets), IPN
//!   (6 octets, little-endian), MIC (8 octets for BIP-CMAC-128, 16 for
//!   BIP-GMAC-256).
//! * AAD (§12.5.4.3): Frame Control with Retry, Power Management and More
//!   Data masked to 0, then A1, A2, A3 (Sequence Control excluded).
//! * BIP-CMAC-128: MIC = Truncate-64(AES-128-CMAC(IGTK, AAD || body with
//!   the MIC field zero)) (§12.5.4.4).
//! * BIP-GMAC-256: MIC = the GMAC tag of AES-256-GCM under the IGTK with
//!   nonce A2 || IPN (IPN most significant octet first), no plaintext,
//!   and the same AAD || body as additional data (§12.5.4.4).
//! * Receive (§12.5.4.5): a frame without an MME, with another Key ID, an
//!   IPN not greater than the last accepted one, or a wrong MIC is
//!   discarded; the replay counter moves only on a frame that verified.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::akm::aes_cmac;
use crate::frames::fc;

/// Element ID of the Management MIC element.
pub const MME_ID: u8 = 76;
/// Length of the MME for BIP-CMAC-128, header included.
pub const MME_LEN: usize = 18;

/// The group management cipher (§12.5.4, Table 9-149).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BipAlgorithm {
    /// BIP-CMAC-128: 16-octet IGTK, 8-octet MIC.
    Cmac128,
    /// BIP-GMAC-256: 32-octet IGTK, 16-octet MIC.
    Gmac256,
}

impl BipAlgorithm {
    /// Octets of the IGTK.
    pub fn key_len(self) -> usize {
        match self {
            BipAlgorithm::Cmac128 => 16,
            BipAlgorithm::Gmac256 => 32,
        }
    }

    /// Octets of the MME's MIC field.
    pub fn mic_len(self) -> usize {
        match self {
            BipAlgorithm::Cmac128 => 8,
            BipAlgorithm::Gmac256 => 16,
        }
    }

    /// Its cipher suite selector.
    pub fn suite(self) -> crate::eapol::CipherSuite {
        match self {
            BipAlgorithm::Cmac128 => crate::eapol::CipherSuite::BipCmac128,
            BipAlgorithm::Gmac256 => crate::eapol::CipherSuite::BipGmac256,
        }
    }
}
/// Management frame header length (no HT Control).
const MGMT_HEADER_LEN: usize = 24;
/// Largest IPN (48 bits).
pub const MAX_IPN: u64 = (1 << 48) - 1;

/// Why a protected management frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BipError {
    /// Not a management frame, or shorter than its header.
    #[error("not a management frame or truncated")]
    Malformed,
    /// No Management MIC element at the end of the body: an unprotected
    /// group-addressed robust management frame, refused once MFP is in use.
    #[error("no Management MIC element (unprotected frame)")]
    Unprotected,
    /// The MME names another IGTK.
    #[error("Management MIC element names key ID {0}, not the installed IGTK")]
    UnknownKey(u16),
    /// The IPN is not greater than the last accepted one.
    #[error("replayed IPN {0}")]
    Replay(u64),
    /// The MIC did not verify: forged or altered.
    #[error("BIP MIC check failed")]
    BadMic,
    /// IPN above 2^48-1.
    #[error("IPN exhausted")]
    IpnExhausted,
}

/// The MIC of a frame whose MME (with `ipn`) has a zero MIC field; empty
/// when the IGTK's length is not the algorithm's.
fn mic(alg: BipAlgorithm, igtk: &[u8], ipn: u64, frame_with_zero_mic: &[u8]) -> Vec<u8> {
    let mut aad = [0u8; 20];
    aad[0] = frame_with_zero_mic[0];
    aad[1] = frame_with_zero_mic[1] & !(fc::RETRY | fc::POWER_MGMT | fc::MORE_DATA);
    aad[2..20].copy_from_slice(&frame_with_zero_mic[4..22]);
    let body = &frame_with_zero_mic[MGMT_HEADER_LEN..];
    match alg {
        BipAlgorithm::Cmac128 => match <&[u8; 16]>::try_from(igtk) {
            Ok(k) => aes_cmac(k, &[&aad, body])[..8].to_vec(),
            Err(_) => Vec::new(),
        },
        BipAlgorithm::Gmac256 => {
            use aes_gcm::{Aes256Gcm, KeyInit, aead::AeadInOut};
            let Ok(gcm) = Aes256Gcm::new_from_slice(igtk) else {
                return Vec::new();
            };
            let mut nonce = [0u8; 12];
            nonce[..6].copy_from_slice(&frame_with_zero_mic[10..16]);
            nonce[6..].copy_from_slice(&ipn.to_be_bytes()[2..]);
            let mut ad = Vec::with_capacity(aad.len() + body.len());
            ad.extend_from_slice(&aad);
            ad.extend_from_slice(body);
            gcm.encrypt_inout_detached(&nonce.into(), &ad, (&mut [][..]).into())
                .map(|t| t.to_vec())
                .unwrap_or_default()
        }
    }
}

fn is_management(frame: &[u8]) -> bool {
    frame.len() >= MGMT_HEADER_LEN && frame[0] & 0x0c == 0x00
}

/// Append an MME with `key_id` and `ipn` to a management frame and fill in
/// its MIC.
pub fn bip_protect(
    igtk: &[u8; 16],
    key_id: u16,
    ipn: u64,
    frame: &[u8],
) -> Result<Vec<u8>, BipError> {
    bip_protect_with(BipAlgorithm::Cmac128, igtk, key_id, ipn, frame)
}

/// [`bip_protect`] with the given algorithm; an IGTK of another length
/// than the algorithm's is refused.
pub fn bip_protect_with(
    alg: BipAlgorithm,
    igtk: &[u8],
    key_id: u16,
    ipn: u64,
    frame: &[u8],
) -> Result<Vec<u8>, BipError> {
    if igtk.len() != alg.key_len() {
        return Err(BipError::BadMic);
    }
    if !is_management(frame) {
        return Err(BipError::Malformed);
    }
    if ipn > MAX_IPN {
        return Err(BipError::IpnExhausted);
    }
    let mic_len = alg.mic_len();
    let mut out = Vec::with_capacity(frame.len() + 10 + mic_len);
    out.extend_from_slice(frame);
    out.push(MME_ID);
    out.push((8 + mic_len) as u8);
    out.extend_from_slice(&key_id.to_le_bytes());
    out.extend_from_slice(&ipn.to_le_bytes()[..6]);
    out.extend(std::iter::repeat_n(0, mic_len));
    let m = mic(alg, igtk, ipn, &out);
    if m.len() != mic_len {
        return Err(BipError::BadMic);
    }
    let n = out.len();
    out[n - mic_len..].copy_from_slice(&m);
    Ok(out)
}

/// The receiving side: the installed IGTK and its replay counter.
pub struct BipReceiver {
    alg: BipAlgorithm,
    igtk: Zeroizing<Vec<u8>>,
    key_id: u16,
    /// Last accepted IPN; frames must carry a greater one.
    last_ipn: u64,
}

impl BipReceiver {
    /// Install an IGTK with the IPN of its IGTK KDE: the first accepted
    /// frame must carry an IPN greater than or equal to it (§12.7.2: the
    /// IPN is the last one used, so a receiver starts from it).
    pub fn new(igtk: [u8; 16], key_id: u16, ipn: [u8; 6]) -> Self {
        Self::with_algorithm(BipAlgorithm::Cmac128, &igtk, key_id, ipn)
    }

    /// As [`new`](Self::new) for `alg`; an IGTK of the wrong length makes
    /// a receiver that refuses every frame.
    pub fn with_algorithm(alg: BipAlgorithm, igtk: &[u8], key_id: u16, ipn: [u8; 6]) -> Self {
        let mut b = [0u8; 8];
        b[..6].copy_from_slice(&ipn);
        BipReceiver {
            alg,
            igtk: Zeroizing::new(igtk.to_vec()),
            key_id,
            last_ipn: u64::from_le_bytes(b).saturating_sub(1),
        }
    }

    /// Check a received group-addressed robust management frame; on
    /// success return the frame without its MME and advance the counter.
    pub fn verify<'a>(&mut self, frame: &'a [u8]) -> Result<&'a [u8], BipError> {
        if !is_management(frame) {
            return Err(BipError::Malformed);
        }
        let mic_len = self.alg.mic_len();
        let Some(split) = frame
            .len()
            .checked_sub(10 + mic_len)
            .filter(|s| *s >= MGMT_HEADER_LEN)
        else {
            return Err(BipError::Unprotected);
        };
        let mme = &frame[split..];
        if mme[0] != MME_ID || usize::from(mme[1]) != 8 + mic_len {
            return Err(BipError::Unprotected);
        }
        let key_id = u16::from_le_bytes([mme[2], mme[3]]);
        if key_id != self.key_id {
            return Err(BipError::UnknownKey(key_id));
        }
        let mut b = [0u8; 8];
        b[..6].copy_from_slice(&mme[4..10]);
        let ipn = u64::from_le_bytes(b);
        if ipn <= self.last_ipn {
            return Err(BipError::Replay(ipn));
        }
        let mut zeroed = frame.to_vec();
        let n = zeroed.len();
        zeroed[n - mic_len..].fill(0);
        let expected = mic(self.alg, &self.igtk, ipn, &zeroed);
        if expected.len() != mic_len || !bool::from(expected.as_slice().ct_eq(&mme[10..])) {
            return Err(BipError::BadMic);
        }
        self.last_ipn = ipn;
        Ok(&frame[..split])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testvectors::h;

    // IEEE 802.11-2012 Annex M.9.1 (J.9.1 in 802.11-2016 and -2020), "BIP
    // with broadcast Deauthentication frame": IGTK, IPN 4, Key ID 4, the
    // plaintext frame and the published protected MPDU (MME 4c 10 04 00
    // 04 00 00 00 00 00 48 df bf a7 b8 27 88 72).
    const IGTK: &str = "4ea9543e09cf2b1eca66ffc58bdecbcf";
    const PLAIN: &str = "c0000000ffffffffffff02000000000002000000000009000200";
    const PROTECTED: &str =
        "c0000000ffffffffffff020000000000020000000000090002004c10040004000000000048dfbfa7b8278872";

    #[test]
    fn bip_annex_m91_vector() {
        let igtk: [u8; 16] = h(IGTK).try_into().unwrap();
        let prot = bip_protect(&igtk, 4, 4, &h(PLAIN)).unwrap();
        assert_eq!(prot, h(PROTECTED));
        let mut rx = BipReceiver::new(igtk, 4, [4, 0, 0, 0, 0, 0]);
        assert_eq!(rx.verify(&prot), Ok(&h(PLAIN)[..]));
        // The same frame again is a replay.
        assert_eq!(rx.verify(&prot), Err(BipError::Replay(4)));
    }

    // IEEE P802.11ac/D7.0 Annex M.9.1 (IEEE 802.11-2016 and -2020 J.9.1;
    // also in hostapd's wlantest/test_vectors.c) "BIP-GMAC-256 with
    // broadcast Deauthentication frame": the same frame and IPN, a 256-bit
    // IGTK, and the published MME 4c 18 04 00 04 00 00 00 00 00 with its
    // 16-octet MIC.
    const IGTK_256: &str = "4ea9543e09cf2b1eca66ffc58bdecbcf000102030405060708090a0b0c0d0e0f";
    const PROTECTED_GMAC_256: &str = "c0000000ffffffffffff020000000000020000000000090002004c18\
        0400040000000000 23be59dcc7022ee383627ebb1017ddfc";

    #[test]
    fn bip_gmac_256_annex_vector() {
        let igtk = h(IGTK_256);
        let alg = BipAlgorithm::Gmac256;
        let prot = bip_protect_with(alg, &igtk, 4, 4, &h(PLAIN)).unwrap();
        assert_eq!(prot, h(&PROTECTED_GMAC_256.replace(' ', "")));
        let mut rx = BipReceiver::with_algorithm(alg, &igtk, 4, [4, 0, 0, 0, 0, 0]);
        assert_eq!(rx.verify(&prot), Ok(&h(PLAIN)[..]));
        assert_eq!(rx.verify(&prot), Err(BipError::Replay(4)));
        // A BIP-CMAC-128 frame, an unprotected one and a forged one are
        // refused by a BIP-GMAC-256 receiver.
        let mut rx = BipReceiver::with_algorithm(alg, &igtk, 4, [1, 0, 0, 0, 0, 0]);
        assert_eq!(rx.verify(&h(PROTECTED)), Err(BipError::Unprotected));
        assert_eq!(rx.verify(&h(PLAIN)), Err(BipError::Unprotected));
        let forged = bip_protect_with(alg, &[7; 32], 4, 9, &h(PLAIN)).unwrap();
        assert_eq!(rx.verify(&forged), Err(BipError::BadMic));
        assert!(bip_protect_with(alg, &igtk[..16], 4, 9, &h(PLAIN)).is_err());
    }

    #[test]
    fn forged_unprotected_and_masked_bits() {
        let igtk: [u8; 16] = h(IGTK).try_into().unwrap();
        let mut rx = BipReceiver::new(igtk, 4, [1, 0, 0, 0, 0, 0]);
        let plain = h(PLAIN);
        // Unprotected deauthentication.
        assert_eq!(rx.verify(&plain), Err(BipError::Unprotected));
        // Forged: a MIC from a key that is not the IGTK.
        let forged = bip_protect(&[0x42; 16], 4, 9, &plain).unwrap();
        assert_eq!(rx.verify(&forged), Err(BipError::BadMic));
        // Altered reason code under a genuine MIC.
        let mut altered = h(PROTECTED);
        altered[24] = 7;
        assert_eq!(rx.verify(&altered), Err(BipError::BadMic));
        // Another key ID.
        let other = bip_protect(&igtk, 5, 9, &plain).unwrap();
        assert_eq!(rx.verify(&other), Err(BipError::UnknownKey(5)));
        // Retry, Power Management and More Data are masked in the AAD.
        let mut retry = h(PROTECTED);
        retry[1] |= fc::RETRY | fc::POWER_MGMT | fc::MORE_DATA;
        assert!(rx.verify(&retry).is_ok());
        // The failures did not move the counter; an older IPN is refused.
        let older = bip_protect(&igtk, 4, 3, &plain).unwrap();
        assert_eq!(rx.verify(&older), Err(BipError::Replay(3)));
        assert_eq!(rx.verify(&plain[..10]), Err(BipError::Malformed));
    }
}
