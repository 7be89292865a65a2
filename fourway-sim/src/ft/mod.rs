//! Fast BSS transition (IEEE 802.11-2020 §12.7.1.6, §13): the FT key
//! hierarchy, the Mobility Domain and Fast BSS Transition elements, and the
//! over-the-air FT protocol (§13.5.1) as sans-IO exchanges ([`exchange`]).
//!
//! Clause numbers are IEEE 802.11-2020's: its FT key hierarchy is
//! 12.7.1.6 (KDF 12.7.1.6.2, PMK-R0 .3, PMK-R1 .4, PTK .5); 802.11-2016
//! numbered the same text 12.7.1.7 (Wireshark and iwd cite "802.11-2016
//! 12.7.1.7.3 PMK-R0") and 802.11-2012 11.6.1.7.
//!
//! Key hierarchy (§12.7.1.6.3, §12.7.1.6.4, §12.7.1.6.5), Hash = SHA-256
//! for AKM 3 and SHA-384 for AKM 13, Q its output length:
//!
//! ```text
//! XXKey           = L(MSK, 256, 256) (AKM 3) | L(MSK, 0, 384) (AKM 13)
//! R0-Key-Data     = KDF-Hash-(Q+128)(XXKey, "FT-R0", SSIDlength || SSID ||
//!                     MDID || R0KHlength || R0KH-ID || S0KH-ID)
//! PMK-R0          = L(R0-Key-Data, 0, Q)
//! PMK-R0Name-Salt = L(R0-Key-Data, Q, 128)
//! PMKR0Name       = Truncate-128(Hash("FT-R0N" || PMK-R0Name-Salt))
//! PMK-R1          = KDF-Hash-Q(PMK-R0, "FT-R1", R1KH-ID || S1KH-ID)
//! PMKR1Name       = Truncate-128(Hash("FT-R1N" || PMKR0Name || R1KH-ID || S1KH-ID))
//! PTK             = KDF-Hash-Length(PMK-R1, "FT-PTK", SNonce || ANonce ||
//!                     BSSID || STA-ADDR)          (in crate::akm)
//! ```
//!
//! The R0 key holder is the AP the station first associated with in the
//! mobility domain (its R0KH-ID names it); it derives a PMK-R1 for every
//! R1 key holder (each AP's R1KH-ID, a MAC address) and hands it over
//! (here: in memory, §13.7's distribution being outside 802.11).

use sha2::{Digest, Sha256, Sha384};
use zeroize::Zeroizing;

use crate::akm::{kdf_sha256, kdf_sha384};
use crate::eapol::Akm;
use crate::keys::Pmk;

pub mod elements;
pub mod exchange;
#[cfg(test)]
mod tests;

/// Length of a PMKR0Name / PMKR1Name (§12.7.1.6.3).
pub const NAME_LEN: usize = 16;

/// The hash of an FT AKM's key hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtHash {
    /// AKM 3 (FT over IEEE 802.1X): SHA-256, Q = 256.
    Sha256,
    /// AKM 13 (FT over IEEE 802.1X with SHA-384): SHA-384, Q = 384.
    Sha384,
}

impl FtHash {
    /// The hash of `akm`, `None` for an AKM that is not FT over 802.1X.
    pub fn for_akm(akm: Akm) -> Option<FtHash> {
        match akm {
            Akm::FtIeee8021x => Some(FtHash::Sha256),
            Akm::FtIeee8021xSha384 => Some(FtHash::Sha384),
            _ => None,
        }
    }

    /// Q, octets.
    pub fn q_len(self) -> usize {
        match self {
            FtHash::Sha256 => 32,
            FtHash::Sha384 => 48,
        }
    }

    fn kdf(self, key: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) {
        match self {
            FtHash::Sha256 => kdf_sha256(key, label, context, out),
            FtHash::Sha384 => kdf_sha384(key, label, context, out),
        }
    }

    fn truncated(self, parts: &[&[u8]]) -> [u8; NAME_LEN] {
        let full = match self {
            FtHash::Sha256 => parts
                .iter()
                .fold(Sha256::new(), |h, p| h.chain_update(p))
                .finalize()
                .to_vec(),
            FtHash::Sha384 => parts
                .iter()
                .fold(Sha384::new(), |h, p| h.chain_update(p))
                .finalize()
                .to_vec(),
        };
        let mut n = [0u8; NAME_LEN];
        n.copy_from_slice(&full[..NAME_LEN]);
        n
    }
}

/// What names the keys of one mobility domain (§12.7.1.6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobilityDomain {
    /// SSID of the ESS.
    pub ssid: Vec<u8>,
    /// Mobility domain identifier (MDID), as it appears in the MDE.
    pub mdid: [u8; 2],
}

/// A PMK-R0 and its name; zeroized on drop, no `Debug`.
pub struct PmkR0 {
    key: Zeroizing<Vec<u8>>,
    /// PMKR0Name.
    pub name: [u8; NAME_LEN],
    hash: FtHash,
}

/// A PMK-R1 and its name; zeroized on drop, no `Debug`.
pub struct PmkR1 {
    key: Zeroizing<Vec<u8>>,
    /// PMKR1Name.
    pub name: [u8; NAME_LEN],
}

impl PmkR1 {
    /// The PMK-R1 as the PMK of the FT four-way handshake and FT
    /// protocol: the PTK is derived from it ([`crate::akm::KeyProfile`]).
    pub fn as_pmk(&self) -> Pmk {
        // 32 or 48 octets: from_slice cannot refuse them.
        Pmk::from_slice(&self.key).unwrap_or_else(|_| Pmk::from_bytes([0; 32]))
    }
}

/// Errors of the FT key hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FtKeyError {
    /// The MSK material is too short for the AKM's XXKey (64 octets for
    /// AKM 3, 48 for AKM 13).
    #[error("MSK of {0} octets is too short for the FT XXKey")]
    MskTooShort(usize),
    /// SSID, R0KH-ID or MDID out of range (§9.4.2.48: R0KH-ID is 1..=48
    /// octets).
    #[error("SSID or R0KH-ID of an invalid length")]
    BadIdentifier,
}

/// XXKey (§12.7.1.6.3): the second 256 bits of the MSK for AKM 3, its first
/// 384 for AKM 13. `msk` is the key material an AP or station took from
/// the MSK ([`Pmk::from_msk`] keeps all 64 octets).
pub fn xxkey(hash: FtHash, msk: &Pmk) -> Result<Zeroizing<Vec<u8>>, FtKeyError> {
    let m = msk.as_bytes();
    let part = match hash {
        FtHash::Sha256 => m.get(32..64),
        FtHash::Sha384 => m.get(..48),
    };
    part.map(|p| Zeroizing::new(p.to_vec()))
        .ok_or(FtKeyError::MskTooShort(m.len()))
}

/// PMK-R0 and PMKR0Name (§12.7.1.6.3) for station `s0kh_id`.
pub fn pmk_r0(
    hash: FtHash,
    xxkey: &[u8],
    md: &MobilityDomain,
    r0kh_id: &[u8],
    s0kh_id: &[u8; 6],
) -> Result<PmkR0, FtKeyError> {
    if !(1..=32).contains(&md.ssid.len()) || !(1..=48).contains(&r0kh_id.len()) {
        return Err(FtKeyError::BadIdentifier);
    }
    let mut ctx = Vec::with_capacity(1 + md.ssid.len() + 2 + 1 + r0kh_id.len() + 6);
    ctx.push(md.ssid.len() as u8);
    ctx.extend_from_slice(&md.ssid);
    ctx.extend_from_slice(&md.mdid);
    ctx.push(r0kh_id.len() as u8);
    ctx.extend_from_slice(r0kh_id);
    ctx.extend_from_slice(s0kh_id);
    let q = hash.q_len();
    let mut data = Zeroizing::new(vec![0u8; q + 16]);
    hash.kdf(xxkey, b"FT-R0", &ctx, &mut data);
    Ok(PmkR0 {
        key: Zeroizing::new(data[..q].to_vec()),
        name: hash.truncated(&[b"FT-R0N", &data[q..]]),
        hash,
    })
}

impl PmkR0 {
    /// PMK-R1 and PMKR1Name (§12.7.1.6.4) for R1 key holder `r1kh_id` and
    /// station `s1kh_id`.
    pub fn pmk_r1(&self, r1kh_id: &[u8; 6], s1kh_id: &[u8; 6]) -> PmkR1 {
        let mut key = Zeroizing::new(vec![0u8; self.hash.q_len()]);
        let ctx = [&r1kh_id[..], &s1kh_id[..]].concat();
        self.hash.kdf(&self.key, b"FT-R1", &ctx, &mut key);
        PmkR1 {
            name: self
                .hash
                .truncated(&[b"FT-R1N", &self.name, r1kh_id, s1kh_id]),
            key,
        }
    }
}
