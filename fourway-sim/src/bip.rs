//! BIP-CMAC-128 (IEEE 802.11-2020 §12.5.4): integrity and replay protection
//! of group-addressed robust management frames, such as a broadcast
//! Deauthentication, under the IGTK.
//!
//! * The Management MIC element (MME, §9.4.2.54) is the last element of the
//!   frame body: Element ID 76, Length 16, Key ID (2 octets), IPN (6
//!   octets, little-endian), MIC (8 octets).
//! * AAD (§12.5.4.3): Frame Control with Retry, Power Management and More
//!   Data masked to 0, then A1, A2, A3 (Sequence Control excluded).
//! * MIC = Truncate-64(AES-128-CMAC(IGTK, AAD || body with the MIC field
//!   zero)) (§12.5.4.4).
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

fn mic(igtk: &[u8; 16], frame_with_zero_mic: &[u8]) -> [u8; 8] {
    let mut aad = [0u8; 20];
    aad[0] = frame_with_zero_mic[0];
    aad[1] = frame_with_zero_mic[1] & !(fc::RETRY | fc::POWER_MGMT | fc::MORE_DATA);
    aad[2..20].copy_from_slice(&frame_with_zero_mic[4..22]);
    let full = aes_cmac(igtk, &[&aad, &frame_with_zero_mic[MGMT_HEADER_LEN..]]);
    let mut m = [0u8; 8];
    m.copy_from_slice(&full[..8]);
    m
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
    if !is_management(frame) {
        return Err(BipError::Malformed);
    }
    if ipn > MAX_IPN {
        return Err(BipError::IpnExhausted);
    }
    let mut out = Vec::with_capacity(frame.len() + MME_LEN);
    out.extend_from_slice(frame);
    out.push(MME_ID);
    out.push(16);
    out.extend_from_slice(&key_id.to_le_bytes());
    out.extend_from_slice(&ipn.to_le_bytes()[..6]);
    out.extend_from_slice(&[0; 8]);
    let m = mic(igtk, &out);
    let n = out.len();
    out[n - 8..].copy_from_slice(&m);
    Ok(out)
}

/// The receiving side: the installed IGTK and its replay counter.
pub struct BipReceiver {
    igtk: Zeroizing<[u8; 16]>,
    key_id: u16,
    /// Last accepted IPN; frames must carry a greater one.
    last_ipn: u64,
}

impl BipReceiver {
    /// Install an IGTK with the IPN of its IGTK KDE: the first accepted
    /// frame must carry an IPN greater than or equal to it (§12.7.2: the
    /// IPN is the last one used, so a receiver starts from it).
    pub fn new(igtk: [u8; 16], key_id: u16, ipn: [u8; 6]) -> Self {
        let mut b = [0u8; 8];
        b[..6].copy_from_slice(&ipn);
        BipReceiver {
            igtk: Zeroizing::new(igtk),
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
        let Some(split) = frame
            .len()
            .checked_sub(MME_LEN)
            .filter(|s| *s >= MGMT_HEADER_LEN)
        else {
            return Err(BipError::Unprotected);
        };
        let mme = &frame[split..];
        if mme[0] != MME_ID || mme[1] != 16 {
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
        zeroed[n - 8..].fill(0);
        let expected = mic(&self.igtk, &zeroed);
        if !bool::from(expected.ct_eq(&mme[10..18])) {
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
