//! CCMP-128 (IEEE 802.11-2020 §12.5.3): AES-CCM with an 8-octet MIC over an
//! 802.11 data MPDU, keyed with the TK.
//!
//! * Additional authentication data (§12.5.3.3.3): the MAC header with the
//!   mutable bits masked: Frame Control subtype b4..b6, Retry, Power
//!   Management and More Data cleared, Protected set, Order cleared for QoS
//!   frames; Sequence Control reduced to the fragment number; QoS Control
//!   reduced to the TID.
//! * Nonce (§12.5.3.3.4): flags (priority = TID, 0 for non-QoS) || A2 ||
//!   PN5..PN0.
//! * CCMP header (§12.5.3.2): PN0 PN1 0 (KeyID<<6 | ExtIV) PN2 PN3 PN4 PN5.
//!
//! Replay detection (§12.5.3.4.4) is per receiver: [`ReplayCounter`] accepts
//! only strictly increasing PNs. This simulator sends non-QoS frames only,
//! so one counter per key stands for the per-TID counters of the standard.

use aes::Aes128;
use ccm::{
    AeadInOut, Ccm, KeyInit,
    consts::{U8, U13},
};

use crate::frames::{data_header_len, fc};

type Aes128Ccm8 = Ccm<Aes128, U8, U13>;

/// Length of the CCMP header.
pub const CCMP_HEADER_LEN: usize = 8;
/// Length of the CCMP-128 MIC.
pub const CCMP_MIC_LEN: usize = 8;
/// Largest packet number (48 bits).
pub const MAX_PN: u64 = (1 << 48) - 1;

/// CCMP errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CcmpError {
    /// Not a data frame, or shorter than its header (plus CCMP overhead).
    #[error("not a data frame or truncated")]
    Malformed,
    /// Decryption of a frame without the Protected bit.
    #[error("frame is not protected")]
    NotProtected,
    /// The ExtIV bit is clear in the CCMP header.
    #[error("ExtIV bit not set")]
    NoExtIv,
    /// The PN is not greater than the last accepted one.
    #[error("replayed PN {0}")]
    Replay(u64),
    /// The MIC did not verify: wrong key or tampered frame.
    #[error("CCMP MIC check failed")]
    BadMic,
    /// PN above 2^48-1.
    #[error("PN exhausted")]
    PnExhausted,
}

/// A decrypted MPDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// MAC header (Protected bit cleared) followed by the plaintext body.
    pub frame: Vec<u8>,
    /// The frame's packet number.
    pub pn: u64,
    /// Key ID from the CCMP header.
    pub key_id: u8,
}

pub(crate) fn aad_and_nonce(header: &[u8], pn: u64) -> (Vec<u8>, [u8; 13]) {
    // `header` comes from `data_header_len`, so it is 24, 26, 30 or 32 long.
    let qos = header[0] & 0x80 != 0;
    let a4 = header[1] & (fc::TO_DS | fc::FROM_DS) == fc::TO_DS | fc::FROM_DS;
    let mut aad = Vec::with_capacity(30);
    aad.push(header[0] & 0x8f);
    let mut fc1 = header[1] & !(fc::RETRY | fc::POWER_MGMT | fc::MORE_DATA);
    fc1 |= fc::PROTECTED;
    if qos {
        fc1 &= !fc::ORDER;
    }
    aad.push(fc1);
    aad.extend_from_slice(&header[4..22]);
    aad.push(header[22] & 0x0f);
    aad.push(0);
    let mut qc_at = 24;
    if a4 {
        aad.extend_from_slice(&header[24..30]);
        qc_at = 30;
    }
    let mut priority = 0;
    if qos {
        priority = header[qc_at] & 0x0f;
        aad.push(priority);
        aad.push(0);
    }
    let mut nonce = [0u8; 13];
    nonce[0] = priority;
    nonce[1..7].copy_from_slice(&header[10..16]);
    nonce[7..].copy_from_slice(&pn.to_be_bytes()[2..]);
    (aad, nonce)
}

/// The 8-octet CCMP header for a PN and key ID (§12.5.3.2, Figure 12-16).
pub fn ccmp_header(pn: u64, key_id: u8) -> [u8; CCMP_HEADER_LEN] {
    let p = pn.to_le_bytes();
    [
        p[0],
        p[1],
        0,
        ((key_id & 0x03) << 6) | 0x20,
        p[2],
        p[3],
        p[4],
        p[5],
    ]
}

/// Encrypt an unprotected data MPDU (MAC header + plaintext body): the
/// result is the header with Protected set, the CCMP header, the encrypted
/// body and the MIC (§12.5.3.3).
pub fn ccmp_encrypt(
    tk: &[u8; 16],
    frame: &[u8],
    pn: u64,
    key_id: u8,
) -> Result<Vec<u8>, CcmpError> {
    if pn > MAX_PN {
        return Err(CcmpError::PnExhausted);
    }
    let hlen = data_header_len(frame).ok_or(CcmpError::Malformed)?;
    let (header, body) = frame.split_at(hlen);
    let (aad, nonce) = aad_and_nonce(header, pn);
    let mut out = Vec::with_capacity(frame.len() + CCMP_HEADER_LEN + CCMP_MIC_LEN);
    out.extend_from_slice(header);
    out[1] |= fc::PROTECTED;
    out.extend_from_slice(&ccmp_header(pn, key_id));
    let start = out.len();
    out.extend_from_slice(body);
    let cipher = Aes128Ccm8::new(tk.into());
    let tag = cipher
        .encrypt_inout_detached(&nonce.into(), &aad, (&mut out[start..]).into())
        .map_err(|_| CcmpError::Malformed)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypt and verify a protected data MPDU. Replay is checked by the
/// caller with [`ReplayCounter`] (after the MIC, §12.5.3.4.4).
pub fn ccmp_decrypt(tk: &[u8; 16], frame: &[u8]) -> Result<Decrypted, CcmpError> {
    let hlen = data_header_len(frame).ok_or(CcmpError::Malformed)?;
    if frame.len() < hlen + CCMP_HEADER_LEN + CCMP_MIC_LEN {
        return Err(CcmpError::Malformed);
    }
    let (header, rest) = frame.split_at(hlen);
    if header[1] & fc::PROTECTED == 0 {
        return Err(CcmpError::NotProtected);
    }
    let (ch, rest) = rest.split_at(CCMP_HEADER_LEN);
    if ch[3] & 0x20 == 0 {
        return Err(CcmpError::NoExtIv);
    }
    let key_id = ch[3] >> 6;
    let pn = u64::from_le_bytes([ch[0], ch[1], ch[4], ch[5], ch[6], ch[7], 0, 0]);
    let (ciphertext, mic) = rest.split_at(rest.len() - CCMP_MIC_LEN);
    let (aad, nonce) = aad_and_nonce(header, pn);
    let mut out = Vec::with_capacity(hlen + ciphertext.len());
    out.extend_from_slice(header);
    out[1] &= !fc::PROTECTED;
    out.extend_from_slice(ciphertext);
    let mut tag = [0u8; CCMP_MIC_LEN];
    tag.copy_from_slice(mic);
    let cipher = Aes128Ccm8::new(tk.into());
    cipher
        .decrypt_inout_detached(&nonce.into(), &aad, (&mut out[hlen..]).into(), &tag.into())
        .map_err(|_| CcmpError::BadMic)?;
    Ok(Decrypted {
        frame: out,
        pn,
        key_id,
    })
}

/// Receive-side replay counter (§12.5.3.4.4): PNs must strictly increase.
#[derive(Debug, Clone, Default)]
pub struct ReplayCounter {
    last: Option<u64>,
}

impl ReplayCounter {
    /// A counter that has accepted nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accept `pn` if it is greater than every PN accepted before.
    pub fn check_and_update(&mut self, pn: u64) -> Result<(), CcmpError> {
        match self.last {
            Some(last) if pn <= last => Err(CcmpError::Replay(pn)),
            _ => {
                self.last = Some(pn);
                Ok(())
            }
        }
    }
}

/// The data confidentiality protocol of a pairwise or group key (§12.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataCipher {
    /// CCMP-128 (§12.5.3): 16-octet TK, 8-octet MIC.
    Ccmp128,
    /// GCMP-256 (§12.5.5): 32-octet TK, 16-octet MIC.
    Gcmp256,
}

impl DataCipher {
    /// Octets of its temporal key (Table 12-8).
    pub fn key_len(self) -> usize {
        match self {
            DataCipher::Ccmp128 => 16,
            DataCipher::Gcmp256 => 32,
        }
    }

    /// Its cipher suite selector (Table 9-149).
    pub fn suite(self) -> crate::eapol::CipherSuite {
        match self {
            DataCipher::Ccmp128 => crate::eapol::CipherSuite::Ccmp128,
            DataCipher::Gcmp256 => crate::eapol::CipherSuite::Gcmp256,
        }
    }
}

/// One direction-pair of CCMP-128 or GCMP-256 protection with one TK: a
/// transmit PN and a receive replay counter.
pub struct CcmpSession {
    cipher: DataCipher,
    tk: zeroize::Zeroizing<Vec<u8>>,
    key_id: u8,
    next_pn: u64,
    replay: ReplayCounter,
}

impl CcmpSession {
    /// A CCMP-128 session with the given TK and key ID; PNs start at 1.
    pub fn new(tk: &[u8; 16], key_id: u8) -> Self {
        Self::with_cipher(DataCipher::Ccmp128, tk, key_id)
    }

    /// A session of `cipher`; a TK of the wrong length makes a session
    /// whose every frame fails.
    pub fn with_cipher(cipher: DataCipher, tk: &[u8], key_id: u8) -> Self {
        CcmpSession {
            cipher,
            tk: zeroize::Zeroizing::new(tk.to_vec()),
            key_id,
            next_pn: 1,
            replay: ReplayCounter::new(),
        }
    }

    /// Encrypt with the next PN.
    pub fn protect(&mut self, frame: &[u8]) -> Result<Vec<u8>, CcmpError> {
        let out = match self.cipher {
            DataCipher::Ccmp128 => {
                let tk = <&[u8; 16]>::try_from(&self.tk[..]).map_err(|_| CcmpError::Malformed)?;
                ccmp_encrypt(tk, frame, self.next_pn, self.key_id)?
            }
            DataCipher::Gcmp256 => {
                crate::gcmp::gcmp256_encrypt(&self.tk, frame, self.next_pn, self.key_id)?
            }
        };
        self.next_pn += 1;
        Ok(out)
    }

    /// Decrypt, verify the MIC, then check and advance the replay counter.
    pub fn unprotect(&mut self, frame: &[u8]) -> Result<Decrypted, CcmpError> {
        let d = match self.cipher {
            DataCipher::Ccmp128 => {
                let tk = <&[u8; 16]>::try_from(&self.tk[..]).map_err(|_| CcmpError::BadMic)?;
                ccmp_decrypt(tk, frame)?
            }
            DataCipher::Gcmp256 => crate::gcmp::gcmp256_decrypt(&self.tk, frame)?,
        };
        self.replay.check_and_update(d.pn)?;
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testvectors::h;

    // IEEE 802.11-2020 Annex J.6.4 "CCMP test vector" (also in the FreeBSD
    // net80211 regression test test_ccmp.c, test MPDU 1): TK, PN
    // 0xB5039776E70C, the data frame header and plaintext, and the
    // encrypted MPDU (without FCS).
    const TK: &str = "c97c1f67ce371185514a8a19f2bdd52f";
    const PN: u64 = 0xB5039776E70C;
    const HEADER: &str = "0848c32c0fd2e128a57c5030f1844408abaea5b8fcba8033";
    const PLAIN: &str = "f8ba1a55d02f85ae967bb62fb6cda8eb7e78a050";
    const ENCRYPTED: &str = "0848c32c0fd2e128a57c5030f1844408abaea5b8fcba8033\
        0ce70020769703b5\
        f3d0a2fe9a3dbf2342a643e43246e80c3c04d019\
        7845ce0b16f97623";

    #[test]
    fn annex_j_vector() {
        let tk: [u8; 16] = h(TK).try_into().unwrap();
        let mut frame = h(HEADER);
        frame.extend_from_slice(&h(PLAIN));
        let header = &frame[..24];
        let (aad, nonce) = aad_and_nonce(header, PN);
        assert_eq!(aad, h("08400fd2e128a57c5030f1844408abaea5b8fcba0000"));
        assert_eq!(nonce.to_vec(), h("005030f1844408b5039776e70c"));
        assert_eq!(ccmp_header(PN, 0).to_vec(), h("0ce70020769703b5"));
        let expected = h(ENCRYPTED);
        let out = ccmp_encrypt(&tk, &frame, PN, 0).unwrap();
        assert_eq!(out, expected);
        let d = ccmp_decrypt(&tk, &out).unwrap();
        assert_eq!(d.pn, PN);
        assert_eq!(d.key_id, 0);
        let mut unprotected = frame.clone();
        unprotected[1] &= !fc::PROTECTED;
        assert_eq!(d.frame, unprotected);
    }

    #[test]
    fn tamper_and_replay() {
        let tk = [3u8; 16];
        let plain = crate::frames::data_frame(
            crate::frames::Direction::ToAp,
            crate::frames::MacAddr([1; 6]),
            crate::frames::MacAddr([2; 6]),
            7,
            0x0800,
            b"hello, CCMP protected world",
        );
        let mut tx = CcmpSession::new(&tk, 0);
        let mut rx = CcmpSession::new(&tk, 0);
        let c1 = tx.protect(&plain).unwrap();
        let c2 = tx.protect(&plain).unwrap();
        assert_ne!(c1, c2);
        assert_eq!(rx.unprotect(&c1).unwrap().frame, plain);
        assert_eq!(rx.unprotect(&c1).err(), Some(CcmpError::Replay(1)));
        assert_eq!(rx.unprotect(&c2).unwrap().pn, 2);
        // Any changed bit of body, MIC or authenticated header fails.
        for i in [4usize, 24 + 8, c1.len() - 1] {
            let mut t = c1.clone();
            t[i] ^= 0x01;
            assert_eq!(
                ccmp_decrypt(&tk, &t).err(),
                Some(CcmpError::BadMic),
                "byte {i}"
            );
        }
        // Masked bits (Retry) may change in flight.
        let mut retried = c1.clone();
        retried[1] |= fc::RETRY;
        assert!(ccmp_decrypt(&tk, &retried).is_ok());
        assert_eq!(ccmp_decrypt(&[4u8; 16], &c1).err(), Some(CcmpError::BadMic));
        assert_eq!(
            ccmp_decrypt(&tk, &plain).err(),
            Some(CcmpError::NotProtected)
        );
        assert_eq!(
            ccmp_decrypt(&tk, &c1[..24 + 15]).err(),
            Some(CcmpError::Malformed)
        );
        assert_eq!(
            ccmp_encrypt(&tk, &plain, MAX_PN + 1, 0).err(),
            Some(CcmpError::PnExhausted)
        );
    }
}
