//! The Mobility Domain element (MDE, §9.4.2.47) and the Fast BSS
//! Transition element (FTE, §9.4.2.48) with its subelements, and the FTE
//! MIC (§13.8.4, §13.8.5). 802.11-2016 numbers the two elements the same
//! way.
//!
//! FTE: Element ID 55, Length, MIC Control (2: octet 0 reserved here,
//! octet 1 the Element Count), MIC (16 octets; 24 for AKM 13, §9.4.2.48),
//! ANonce (32), SNonce (32), then subelements: R1KH-ID (1, 6 octets), GTK
//! (2: Key Info 2, Key Length 1, RSC 8, Wrapped Key), R0KH-ID (3, 1..=48),
//! IGTK (4: Key ID 2, IPN 6, Key Length 1, Wrapped Key: the IGTK, 16
//! octets for BIP-CMAC-128, 32 for BIP-GMAC-256, AES key wrapped with the
//! KEK, 8 octets longer). The IGTK layout is hostapd's
//! `wpa_ft_igtk_subelem` (src/ap/wpa_auth_ft.c) and wpa_supplicant's
//! `wpa_ft_process_igtk_subelem` (src/rsn_supp/wpa_ft.c), which checks the
//! length (2 + 6 + 1 + key + 8) and the Key Length octet.

use zeroize::Zeroizing;

use crate::eapol::EapolError;
use crate::keys::{Nonce, unwrap_key_data, wrap_key_data};

/// Element ID of the MDE.
pub const MDE_ID: u8 = 54;
/// Element ID of the FTE.
pub const FTE_ID: u8 = 55;
const SUB_R1KH_ID: u8 = 1;
const SUB_GTK: u8 = 2;
const SUB_R0KH_ID: u8 = 3;
const SUB_IGTK: u8 = 4;

/// The MDE: MDID and FT Capability and Policy (0: FT over the air only,
/// no resource request protocol).
pub fn mde(mdid: [u8; 2]) -> Vec<u8> {
    vec![MDE_ID, 3, mdid[0], mdid[1], 0]
}

/// The GTK subelement's content (§9.4.2.48); zeroized, no
/// `Debug`.
pub struct FtGtk {
    /// Key ID (0..=3).
    pub key_id: u8,
    /// RSC (the GTK's receive sequence counter).
    pub rsc: [u8; 8],
    /// The GTK, clear.
    pub key: Zeroizing<Vec<u8>>,
}

/// The IGTK subelement's content; zeroized, no `Debug`.
pub struct FtIgtk {
    /// Key ID (4 or 5).
    pub key_id: u16,
    /// IPN: the last packet number the AP used with this IGTK.
    pub ipn: [u8; 6],
    /// The IGTK, clear.
    pub key: Zeroizing<Vec<u8>>,
}

/// A parsed or to-be-emitted FTE.
#[derive(Clone, PartialEq, Eq)]
pub struct Fte {
    /// Element Count of the MIC Control field (3 in the reassociation
    /// frames, 0 otherwise).
    pub element_count: u8,
    /// MIC, 16 or 24 octets (zero when not protected).
    pub mic: Vec<u8>,
    /// ANonce.
    pub anonce: Nonce,
    /// SNonce.
    pub snonce: Nonce,
    /// R0KH-ID subelement.
    pub r0kh_id: Option<Vec<u8>>,
    /// R1KH-ID subelement.
    pub r1kh_id: Option<[u8; 6]>,
    /// GTK subelement, still wrapped with the KEK (Key Info, Key Length,
    /// RSC, Wrapped Key).
    pub gtk: Option<Vec<u8>>,
    /// IGTK subelement, still wrapped with the KEK (Key ID, IPN, Key
    /// Length, Wrapped Key).
    pub igtk: Option<Vec<u8>>,
}

impl core::fmt::Debug for Fte {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fte")
            .field("element_count", &self.element_count)
            .field("r0kh_id", &self.r0kh_id)
            .field("r1kh_id", &self.r1kh_id)
            .field("gtk", &self.gtk.is_some())
            .field("igtk", &self.igtk.is_some())
            .finish_non_exhaustive()
    }
}

impl Fte {
    /// An FTE with a zero MIC of `mic_len` octets and no subelements.
    pub fn new(mic_len: usize, anonce: Nonce, snonce: Nonce) -> Fte {
        Fte {
            element_count: 0,
            mic: vec![0; mic_len],
            anonce,
            snonce,
            r0kh_id: None,
            r1kh_id: None,
            gtk: None,
            igtk: None,
        }
    }

    /// The element, header included.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EapolError> {
        let mut body = vec![0, self.element_count];
        body.extend_from_slice(&self.mic);
        body.extend_from_slice(&self.anonce);
        body.extend_from_slice(&self.snonce);
        let mut sub = |id: u8, data: &[u8]| -> Result<(), EapolError> {
            body.push(id);
            body.push(u8::try_from(data.len()).map_err(|_| EapolError::TooLong)?);
            body.extend_from_slice(data);
            Ok(())
        };
        if let Some(r1) = &self.r1kh_id {
            sub(SUB_R1KH_ID, r1)?;
        }
        if let Some(g) = &self.gtk {
            sub(SUB_GTK, g)?;
        }
        if let Some(r0) = &self.r0kh_id {
            sub(SUB_R0KH_ID, r0)?;
        }
        if let Some(i) = &self.igtk {
            sub(SUB_IGTK, i)?;
        }
        let len = u8::try_from(body.len()).map_err(|_| EapolError::TooLong)?;
        let mut out = vec![FTE_ID, len];
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Parse an FTE element (header included) with a MIC of `mic_len`
    /// octets.
    pub fn parse(element: &[u8], mic_len: usize) -> Result<Fte, EapolError> {
        let Some((&[id, len], body)) = element.split_first_chunk::<2>() else {
            return Err(EapolError::Truncated);
        };
        if id != FTE_ID || body.len() != usize::from(len) || body.len() < 2 + mic_len + 64 {
            return Err(EapolError::BadElement);
        }
        let mut fte = Fte::new(mic_len, [0; 32], [0; 32]);
        fte.element_count = body[1];
        fte.mic.copy_from_slice(&body[2..2 + mic_len]);
        let rest = &body[2 + mic_len..];
        fte.anonce.copy_from_slice(&rest[..32]);
        fte.snonce.copy_from_slice(&rest[32..64]);
        let mut subs = &rest[64..];
        while let [sid, slen, tail @ ..] = subs {
            let data = tail
                .get(..usize::from(*slen))
                .ok_or(EapolError::BadElement)?;
            match *sid {
                SUB_R1KH_ID => {
                    fte.r1kh_id = Some(data.try_into().map_err(|_| EapolError::BadElement)?)
                }
                SUB_GTK => fte.gtk = Some(data.to_vec()),
                SUB_IGTK => fte.igtk = Some(data.to_vec()),
                SUB_R0KH_ID if (1..=48).contains(&data.len()) => fte.r0kh_id = Some(data.to_vec()),
                SUB_R0KH_ID => return Err(EapolError::BadElement),
                _ => {}
            }
            subs = &tail[usize::from(*slen)..];
        }
        if !subs.is_empty() {
            return Err(EapolError::BadElement);
        }
        Ok(fte)
    }
}

/// The GTK subelement for `gtk` wrapped with the KEK (§13.8.5: the key
/// padded as §12.7.2 says, then AES key wrap).
pub fn wrap_gtk(kek: &[u8], gtk: &FtGtk) -> Result<Vec<u8>, EapolError> {
    let mut out = u16::from(gtk.key_id & 3).to_le_bytes().to_vec();
    out.push(u8::try_from(gtk.key.len()).map_err(|_| EapolError::TooLong)?);
    out.extend_from_slice(&gtk.rsc);
    out.extend_from_slice(&wrap_key_data(kek, &gtk.key).map_err(|_| EapolError::TooLong)?);
    Ok(out)
}

/// Unwrap a GTK subelement with the KEK.
pub fn unwrap_gtk(kek: &[u8], sub: &[u8]) -> Result<FtGtk, EapolError> {
    if sub.len() < 11 + 24 {
        return Err(EapolError::BadGtkKde);
    }
    let key_len = usize::from(sub[2]);
    let plain = unwrap_key_data(kek, &sub[11..]).map_err(|_| EapolError::BadGtkKde)?;
    let key = plain.get(..key_len).ok_or(EapolError::BadGtkKde)?;
    let mut rsc = [0u8; 8];
    rsc.copy_from_slice(&sub[3..11]);
    Ok(FtGtk {
        key_id: sub[0] & 3,
        rsc,
        key: Zeroizing::new(key.to_vec()),
    })
}

/// The IGTK subelement's content for `igtk` wrapped with the KEK: Key ID
/// (little endian), IPN, Key Length, AES key wrap of the IGTK (a multiple
/// of 8 octets: no padding), as hostapd's `wpa_ft_igtk_subelem` writes it.
pub fn wrap_igtk(kek: &[u8], igtk: &FtIgtk) -> Result<Vec<u8>, EapolError> {
    if !igtk.key.len().is_multiple_of(8) {
        return Err(EapolError::BadElement);
    }
    let mut out = igtk.key_id.to_le_bytes().to_vec();
    out.extend_from_slice(&igtk.ipn);
    out.push(u8::try_from(igtk.key.len()).map_err(|_| EapolError::TooLong)?);
    out.extend_from_slice(&wrap_key_data(kek, &igtk.key).map_err(|_| EapolError::TooLong)?);
    Ok(out)
}

/// Unwrap an IGTK subelement with the KEK. `key_len` is the negotiated
/// group management cipher's (16 or 32): the subelement must be exactly
/// 2 + 6 + 1 + `key_len` + 8 octets and its Key Length octet `key_len`
/// (wpa_supplicant's checks), else it is refused.
pub fn unwrap_igtk(kek: &[u8], sub: &[u8], key_len: usize) -> Result<FtIgtk, EapolError> {
    if sub.len() != 2 + 6 + 1 + key_len + 8 || usize::from(sub[8]) != key_len {
        return Err(EapolError::BadElement);
    }
    let plain = unwrap_key_data(kek, &sub[9..]).map_err(|_| EapolError::BadElement)?;
    let key = plain.get(..key_len).ok_or(EapolError::BadElement)?;
    let mut ipn = [0u8; 6];
    ipn.copy_from_slice(&sub[2..8]);
    Ok(FtIgtk {
        key_id: u16::from_le_bytes([sub[0], sub[1]]),
        ipn,
        key: Zeroizing::new(key.to_vec()),
    })
}
