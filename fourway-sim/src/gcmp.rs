//! GCMP-256 (IEEE 802.11-2020 §12.5.5): AES-GCM with a 256-bit TK and a
//! 16-octet MIC over an 802.11 data MPDU, the data cipher of AKM 12 and 13.
//!
//! * AAD (§12.5.5.3.3): constructed as for CCMP (§12.5.3.3.3).
//! * Nonce (§12.5.5.3.4): A2 || PN5..PN0, 12 octets.
//! * GCMP header (§12.5.5.2): laid out as the CCMP header.
//!
//! Replay detection is the caller's, after the MIC (§12.5.5.4.4).

use aes_gcm::{Aes256Gcm, KeyInit, aead::AeadInOut};

use crate::ccmp::{CCMP_HEADER_LEN, CcmpError, Decrypted, MAX_PN, aad_and_nonce, ccmp_header};
use crate::frames::{data_header_len, fc};

/// Length of the GCMP MIC.
pub const GCMP_MIC_LEN: usize = 16;

fn nonce(header: &[u8], pn: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..6].copy_from_slice(&header[10..16]);
    n[6..].copy_from_slice(&pn.to_be_bytes()[2..]);
    n
}

fn cipher(tk: &[u8]) -> Result<Aes256Gcm, CcmpError> {
    Aes256Gcm::new_from_slice(tk).map_err(|_| CcmpError::BadMic)
}

/// Encrypt an unprotected data MPDU with GCMP-256: the header with
/// Protected set, the GCMP header, the encrypted body and the MIC
/// (§12.5.5.3). A TK other than 32 octets is refused.
pub fn gcmp256_encrypt(tk: &[u8], frame: &[u8], pn: u64, key_id: u8) -> Result<Vec<u8>, CcmpError> {
    if pn > MAX_PN {
        return Err(CcmpError::PnExhausted);
    }
    let hlen = data_header_len(frame).ok_or(CcmpError::Malformed)?;
    let (header, body) = frame.split_at(hlen);
    let (aad, _) = aad_and_nonce(header, pn);
    let mut out = Vec::with_capacity(frame.len() + CCMP_HEADER_LEN + GCMP_MIC_LEN);
    out.extend_from_slice(header);
    out[1] |= fc::PROTECTED;
    out.extend_from_slice(&ccmp_header(pn, key_id));
    let start = out.len();
    out.extend_from_slice(body);
    let tag = cipher(tk)?
        .encrypt_inout_detached(&nonce(header, pn).into(), &aad, (&mut out[start..]).into())
        .map_err(|_| CcmpError::Malformed)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypt and verify a GCMP-256 protected data MPDU.
pub fn gcmp256_decrypt(tk: &[u8], frame: &[u8]) -> Result<Decrypted, CcmpError> {
    let hlen = data_header_len(frame).ok_or(CcmpError::Malformed)?;
    if frame.len() < hlen + CCMP_HEADER_LEN + GCMP_MIC_LEN {
        return Err(CcmpError::Malformed);
    }
    let (header, rest) = frame.split_at(hlen);
    if header[1] & fc::PROTECTED == 0 {
        return Err(CcmpError::NotProtected);
    }
    let (gh, rest) = rest.split_at(CCMP_HEADER_LEN);
    if gh[3] & 0x20 == 0 {
        return Err(CcmpError::NoExtIv);
    }
    let key_id = gh[3] >> 6;
    let pn = u64::from_le_bytes([gh[0], gh[1], gh[4], gh[5], gh[6], gh[7], 0, 0]);
    let (ciphertext, mic) = rest.split_at(rest.len() - GCMP_MIC_LEN);
    let (aad, _) = aad_and_nonce(header, pn);
    let mut out = Vec::with_capacity(hlen + ciphertext.len());
    out.extend_from_slice(header);
    out[1] &= !fc::PROTECTED;
    out.extend_from_slice(ciphertext);
    let mut tag = [0u8; GCMP_MIC_LEN];
    tag.copy_from_slice(mic);
    cipher(tk)?
        .decrypt_inout_detached(
            &nonce(header, pn).into(),
            &aad,
            (&mut out[hlen..]).into(),
            &tag.into(),
        )
        .map_err(|_| CcmpError::BadMic)?;
    Ok(Decrypted {
        frame: out,
        pn,
        key_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testvectors::h;

    // IEEE P802.11ac/D7.0 Annex M.11.1 "GCMP-256 test vector" (IEEE
    // 802.11-2016 and -2020 Annex J.11.1; also in hostapd's
    // wlantest/test_vectors.c): TK, PN 0x00895F5F2B08, a QoS data frame
    // (26-octet header, TID 3) and the published encrypted MPDU.
    const TK: &str = "c97c1f67ce371185514a8a19f2bdd52f000102030405060708090a0b0c0d0e0f";
    const PN: u64 = 0x0089_5F5F_2B08;
    const PLAIN: &str = "88480b000fd2e128a57c5030f184440850 30f18444088033 0300\
        000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
        2021222324252627";
    const ENCRYPTED: &str = "88480b000fd2e128a57c5030f18444085030f18444088033 0300\
        082b00205f5f8900\
        658343c8b14447d9211defd46ad89c710c6fc33333236e3997b9176a5a8be779\
        b21266555e70ad79\
        11431685909547 3d5b1bd596b3dea3bf";

    fn hx(s: &str) -> Vec<u8> {
        h(&s.replace(' ', ""))
    }

    #[test]
    fn gcmp256_annex_vector() {
        let tk = hx(TK);
        let plain = hx(PLAIN);
        let out = gcmp256_encrypt(&tk, &plain, PN, 0).unwrap();
        assert_eq!(out, hx(ENCRYPTED));
        let d = gcmp256_decrypt(&tk, &out).unwrap();
        assert_eq!((d.pn, d.key_id), (PN, 0));
        let mut unprotected = plain.clone();
        unprotected[1] &= !fc::PROTECTED;
        assert_eq!(d.frame, unprotected);
    }

    #[test]
    fn gcmp256_tamper_and_keys() {
        let tk = hx(TK);
        let out = gcmp256_encrypt(&tk, &hx(PLAIN), PN, 1).unwrap();
        for i in [4usize, 26 + 8, out.len() - 1] {
            let mut t = out.clone();
            t[i] ^= 1;
            assert_eq!(
                gcmp256_decrypt(&tk, &t).err(),
                Some(CcmpError::BadMic),
                "{i}"
            );
        }
        let mut other = tk.clone();
        other[31] ^= 1;
        assert_eq!(gcmp256_decrypt(&other, &out).err(), Some(CcmpError::BadMic));
        assert_eq!(
            gcmp256_decrypt(&tk[..16], &out).err(),
            Some(CcmpError::BadMic)
        );
        assert_eq!(
            gcmp256_decrypt(&tk, &out[..26 + 8 + 15]).err(),
            Some(CcmpError::Malformed)
        );
        assert_eq!(
            gcmp256_encrypt(&tk, &hx(PLAIN), MAX_PN + 1, 0).err(),
            Some(CcmpError::PnExhausted)
        );
    }
}
