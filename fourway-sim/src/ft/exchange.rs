//! The FT protocol over the air (§13.5.1, §13.8): FT Authentication and
//! Reassociation between a station and a target AP of its mobility
//! domain, without EAP and without the four-way handshake.
//!
//! ```text
//! STA -> AP  Authentication (FT, seq 1): RSNE[PMKR0Name], MDE, FTE[SNonce, R0KH-ID]
//! AP -> STA  Authentication (FT, seq 2): RSNE[PMKR0Name], MDE,
//!            FTE[ANonce, SNonce, R0KH-ID, R1KH-ID]
//! STA -> AP  Reassociation Request: RSNE[PMKR1Name], MDE,
//!            FTE[MIC(KCK, STA || BSSID || 5 || RSNE || MDE || FTE), ...]
//! AP -> STA  Reassociation Response: RSNE[PMKR1Name], MDE,
//!            FTE[MIC(KCK, ... 6 ...), GTK wrapped with the KEK,
//!            with PMF also the IGTK wrapped with the KEK]
//! ```
//!
//! Both sides derive the PTK from PMK-R1 with the FT-PTK KDF once the
//! nonces are known; each checks the other's MIC (constant time) before
//! anything is installed. Frames are bytes in, bytes out; nonces and keys
//! are inputs (sans-IO).

use zeroize::Zeroizing;

use super::elements::{
    FTE_ID, FtGtk, FtIgtk, Fte, MDE_ID, mde, unwrap_gtk, unwrap_igtk, wrap_gtk, wrap_igtk,
};
use super::{PmkR0, PmkR1};
use crate::akm::KeyProfile;
use crate::eapol::{EapolError, RSN_ELEMENT_ID, RsnElement};
use crate::frames::MacAddr;
use crate::keys::{Nonce, Ptk};

/// Authentication algorithm number of FT (§9.4.1.1).
pub const AUTH_ALG_FT: u16 = 2;

/// Why an FT frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FtError {
    /// Not the frame expected, or truncated.
    #[error("malformed or unexpected FT frame")]
    Malformed,
    /// An element (RSNE, MDE, FTE) is missing or malformed.
    #[error("FT element missing or malformed: {0}")]
    Element(EapolError),
    /// The MDE names another mobility domain.
    #[error("mobility domain mismatch")]
    MobilityDomain,
    /// The named PMK-R0 or PMK-R1 is not the one held (or no PMK-R1 was
    /// handed over for it).
    #[error("unknown PMKR0Name or PMKR1Name")]
    UnknownKey,
    /// Nonces or key holder IDs not echoed as sent.
    #[error("FTE does not echo the nonces or key holder IDs")]
    FteMismatch,
    /// The FTE MIC does not verify.
    #[error("FTE MIC check failed")]
    BadMic,
    /// The GTK subelement is missing or does not unwrap.
    #[error("GTK subelement missing or invalid")]
    Gtk,
    /// Management frame protection negotiated, and the IGTK subelement is
    /// missing, of the wrong length, or does not unwrap.
    #[error("IGTK subelement missing or invalid")]
    Igtk,
}

impl From<EapolError> for FtError {
    fn from(e: EapolError) -> Self {
        FtError::Element(e)
    }
}

/// The elements of an FT frame's body.
struct Elements<'a> {
    rsne: &'a [u8],
    mde: &'a [u8],
    fte: &'a [u8],
}

fn elements(mut body: &[u8]) -> Result<Elements<'_>, FtError> {
    let (mut rsne, mut mde_e, mut fte) = (None, None, None);
    while let [id, len, rest @ ..] = body {
        let n = 2 + usize::from(*len);
        let whole = body.get(..n).ok_or(FtError::Malformed)?;
        match *id {
            RSN_ELEMENT_ID => rsne = Some(whole),
            MDE_ID => mde_e = Some(whole),
            FTE_ID => fte = Some(whole),
            _ => {}
        }
        let _ = rest;
        body = &body[n..];
    }
    match (rsne, mde_e, fte) {
        (Some(rsne), Some(mde), Some(fte)) => Ok(Elements { rsne, mde, fte }),
        _ => Err(FtError::Element(EapolError::BadElement)),
    }
}

fn mgmt_header(subtype: u8, da: MacAddr, sa: MacAddr, bssid: MacAddr, seq: u16) -> Vec<u8> {
    let mut f = vec![subtype, 0x00, 0x00, 0x00];
    f.extend_from_slice(&da.0);
    f.extend_from_slice(&sa.0);
    f.extend_from_slice(&bssid.0);
    f.extend_from_slice(&((seq & 0x0fff) << 4).to_le_bytes());
    f
}

const MGMT_HEADER: usize = 24;

/// Authentication frame (§9.3.3.12) with the FT algorithm.
fn authentication(da: MacAddr, sa: MacAddr, bssid: MacAddr, txn: u16, ies: &[u8]) -> Vec<u8> {
    let mut f = mgmt_header(0xb0, da, sa, bssid, txn);
    f.extend_from_slice(&AUTH_ALG_FT.to_le_bytes());
    f.extend_from_slice(&txn.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(ies);
    f
}

fn rsne_with(base: &RsnElement, name: [u8; 16]) -> Result<Vec<u8>, FtError> {
    let mut r = base.clone();
    r.pmkids = vec![name];
    Ok(r.to_bytes()?)
}

fn pmkid_of(rsne: &[u8]) -> Result<Option<[u8; 16]>, FtError> {
    Ok(RsnElement::parse(rsne)?.pmkids.first().copied())
}

/// MIC = MIC-algorithm(KCK, STA-ADDR || BSSID || Transaction sequence
/// number || RSNE || MDE || FTE with a zero MIC) (§13.8.4, §13.8.5).
fn fte_mic(
    profile: &KeyProfile,
    kck: &[u8],
    spa: MacAddr,
    bssid: MacAddr,
    seq: u8,
    e: &Elements<'_>,
    fte_zero_mic: &[u8],
) -> Vec<u8> {
    let mut input = Vec::with_capacity(13 + e.rsne.len() + e.mde.len() + fte_zero_mic.len());
    input.extend_from_slice(&spa.0);
    input.extend_from_slice(&bssid.0);
    input.push(seq);
    input.extend_from_slice(e.rsne);
    input.extend_from_slice(e.mde);
    input.extend_from_slice(fte_zero_mic);
    profile.mic(kck, &input)
}

/// Sign `fte` into a frame `prefix || rsne || mde || fte`. (The MIC's
/// inputs are the arguments, one for each field §13.8.4 lists.)
#[allow(clippy::too_many_arguments)]
fn signed(
    profile: &KeyProfile,
    kck: &[u8],
    spa: MacAddr,
    bssid: MacAddr,
    seq: u8,
    prefix: Vec<u8>,
    rsne: &[u8],
    mde_e: &[u8],
    mut fte: Fte,
) -> Result<Vec<u8>, FtError> {
    fte.element_count = 3;
    fte.mic = vec![0; profile.mic_len()];
    let zero = fte.to_bytes()?;
    let e = Elements {
        rsne,
        mde: mde_e,
        fte: &zero,
    };
    fte.mic = fte_mic(profile, kck, spa, bssid, seq, &e, &zero);
    let mut f = prefix;
    f.extend_from_slice(rsne);
    f.extend_from_slice(mde_e);
    f.extend_from_slice(&fte.to_bytes()?);
    Ok(f)
}

/// Check the MIC of a received FTE (zeroing it as it was computed).
fn verify(
    profile: &KeyProfile,
    kck: &[u8],
    spa: MacAddr,
    bssid: MacAddr,
    seq: u8,
    e: &Elements<'_>,
    fte: &Fte,
) -> Result<(), FtError> {
    let mut zero = fte.clone();
    zero.mic = vec![0; profile.mic_len()];
    let zero = zero.to_bytes()?;
    let expected = fte_mic(profile, kck, spa, bssid, seq, e, &zero);
    if fte.element_count != 3
        || !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &fte.mic[..]))
    {
        return Err(FtError::BadMic);
    }
    Ok(())
}

/// The station side of one FT transition to a target AP.
pub struct FtStation {
    profile: KeyProfile,
    spa: MacAddr,
    target: MacAddr,
    current: MacAddr,
    mdid: [u8; 2],
    ssid: Vec<u8>,
    r0kh_id: Vec<u8>,
    pmk_r0: PmkR0,
    rsne: RsnElement,
    snonce: Nonce,
    anonce: Option<Nonce>,
    r1kh_id: Option<[u8; 6]>,
    ptk: Option<Ptk>,
    pmk_r1_name: Option<[u8; 16]>,
    gtk: Option<FtGtk>,
    igtk: Option<FtIgtk>,
}

impl FtStation {
    /// A transition from `current` to `target` with the PMK-R0 of the
    /// initial mobility domain association (its R0KH-ID), the station's RSN
    /// element (without PMKIDs) and a fresh SNonce.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        profile: KeyProfile,
        spa: MacAddr,
        current: MacAddr,
        target: MacAddr,
        md: &super::MobilityDomain,
        r0kh_id: Vec<u8>,
        pmk_r0: PmkR0,
        rsne: RsnElement,
        snonce: Nonce,
    ) -> Self {
        FtStation {
            profile,
            spa,
            target,
            current,
            mdid: md.mdid,
            ssid: md.ssid.clone(),
            r0kh_id,
            pmk_r0,
            rsne,
            snonce,
            anonce: None,
            r1kh_id: None,
            ptk: None,
            pmk_r1_name: None,
            gtk: None,
            igtk: None,
        }
    }

    /// FT Authentication request (transaction 1).
    pub fn authentication(&self) -> Result<Vec<u8>, FtError> {
        let mut fte = Fte::new(self.profile.mic_len(), [0; 32], self.snonce);
        fte.r0kh_id = Some(self.r0kh_id.clone());
        let mut ies = rsne_with(&self.rsne, self.pmk_r0.name)?;
        ies.extend_from_slice(&mde(self.mdid));
        ies.extend_from_slice(&fte.to_bytes()?);
        Ok(authentication(self.target, self.spa, self.target, 1, &ies))
    }

    /// Handle the AP's Authentication response (transaction 2): derive
    /// PMK-R1 for its R1KH-ID and the PTK, and build the Reassociation
    /// Request with the FTE MIC.
    pub fn handle_authentication(&mut self, frame: &[u8]) -> Result<Vec<u8>, FtError> {
        let body = frame.get(MGMT_HEADER..).ok_or(FtError::Malformed)?;
        if frame[0] != 0xb0 || body.len() < 6 || body[..6] != [2, 0, 2, 0, 0, 0] {
            return Err(FtError::Malformed);
        }
        let e = elements(&body[6..])?;
        if e.mde != mde(self.mdid) {
            return Err(FtError::MobilityDomain);
        }
        if pmkid_of(e.rsne)? != Some(self.pmk_r0.name) {
            return Err(FtError::UnknownKey);
        }
        let fte = Fte::parse(e.fte, self.profile.mic_len())?;
        let r1kh_id = fte.r1kh_id.ok_or(FtError::FteMismatch)?;
        if fte.snonce != self.snonce || fte.r0kh_id.as_deref() != Some(&self.r0kh_id[..]) {
            return Err(FtError::FteMismatch);
        }
        let pmk_r1 = self.pmk_r0.pmk_r1(&r1kh_id, &self.spa.0);
        let ptk = self.profile.derive_ptk(
            &pmk_r1.as_pmk(),
            &self.target.0,
            &self.spa.0,
            &fte.anonce,
            &self.snonce,
        );
        let mut prefix = mgmt_header(0x20, self.target, self.spa, self.target, 3);
        prefix.extend_from_slice(&0x0011u16.to_le_bytes());
        prefix.extend_from_slice(&10u16.to_le_bytes());
        prefix.extend_from_slice(&self.current.0);
        prefix.extend_from_slice(&[0, self.ssid.len() as u8]);
        prefix.extend_from_slice(&self.ssid);
        let rsne = rsne_with(&self.rsne, pmk_r1.name)?;
        let mut out = Fte::new(self.profile.mic_len(), fte.anonce, self.snonce);
        out.r0kh_id = Some(self.r0kh_id.clone());
        out.r1kh_id = Some(r1kh_id);
        let frame = signed(
            &self.profile,
            &ptk.kck,
            self.spa,
            self.target,
            5,
            prefix,
            &rsne,
            &mde(self.mdid),
            out,
        )?;
        self.anonce = Some(fte.anonce);
        self.r1kh_id = Some(r1kh_id);
        self.pmk_r1_name = Some(pmk_r1.name);
        self.ptk = Some(ptk);
        Ok(frame)
    }

    /// Handle the Reassociation Response: verify its MIC and echoed
    /// values, unwrap the GTK, and with management frame protection (MFPC
    /// in the station's RSN element, so MFPC on both sides for the
    /// association to exist) the IGTK: a response without it is refused
    /// (hostapd's `wpa_sm_write_assoc_resp_ies` adds the IGTK subelement
    /// whenever management frame protection is in use; wpa_supplicant
    /// accepts its absence, this station is stricter). On success the PTK,
    /// GTK and IGTK are in use.
    pub fn handle_reassociation(&mut self, frame: &[u8]) -> Result<(), FtError> {
        let ptk = self.ptk.as_ref().ok_or(FtError::Malformed)?;
        let body = frame.get(MGMT_HEADER..).ok_or(FtError::Malformed)?;
        if frame[0] != 0x30 || body.len() < 6 || body[2..4] != [0, 0] {
            return Err(FtError::Malformed);
        }
        let e = elements(&body[6..])?;
        if e.mde != mde(self.mdid) {
            return Err(FtError::MobilityDomain);
        }
        if pmkid_of(e.rsne)? != self.pmk_r1_name {
            return Err(FtError::UnknownKey);
        }
        let fte = Fte::parse(e.fte, self.profile.mic_len())?;
        if Some(fte.anonce) != self.anonce
            || fte.snonce != self.snonce
            || fte.r1kh_id != self.r1kh_id
            || fte.r0kh_id.as_deref() != Some(&self.r0kh_id[..])
        {
            return Err(FtError::FteMismatch);
        }
        verify(&self.profile, &ptk.kck, self.spa, self.target, 6, &e, &fte)?;
        let gtk = fte.gtk.as_deref().ok_or(FtError::Gtk)?;
        let gtk = unwrap_gtk(&ptk.kek, gtk).map_err(|_| FtError::Gtk)?;
        let igtk = if self.rsne.mfp().0 {
            let sub = fte.igtk.as_deref().ok_or(FtError::Igtk)?;
            let key_len = self.profile.group_mgmt.key_len();
            Some(unwrap_igtk(&ptk.kek, sub, key_len).map_err(|_| FtError::Igtk)?)
        } else {
            None
        };
        self.gtk = Some(gtk);
        self.igtk = igtk;
        Ok(())
    }

    /// The IGTK from the Reassociation Response (management frame
    /// protection only).
    pub fn igtk(&self) -> Option<&FtIgtk> {
        self.igtk.as_ref()
    }

    /// The PTK, once the Authentication response was handled.
    pub fn ptk(&self) -> Option<&Ptk> {
        self.ptk.as_ref()
    }

    /// The GTK from the Reassociation Response.
    pub fn gtk(&self) -> Option<&FtGtk> {
        self.gtk.as_ref()
    }
}

/// The target AP (an R1 key holder) of an FT transition.
pub struct FtTargetAp {
    profile: KeyProfile,
    bssid: MacAddr,
    r1kh_id: [u8; 6],
    mdid: [u8; 2],
    rsne: RsnElement,
    anonce: Nonce,
    spa: Option<MacAddr>,
    snonce: Option<Nonce>,
    r0kh_id: Option<Vec<u8>>,
    pmk_r1_name: Option<[u8; 16]>,
    ptk: Option<Ptk>,
    igtk: Option<FtIgtk>,
}

impl FtTargetAp {
    /// An AP with its BSSID, R1KH-ID, mobility domain, RSN element (without
    /// PMKIDs) and a fresh ANonce for the next transition.
    pub fn new(
        profile: KeyProfile,
        bssid: MacAddr,
        r1kh_id: [u8; 6],
        mdid: [u8; 2],
        rsne: RsnElement,
        anonce: Nonce,
    ) -> Self {
        FtTargetAp {
            profile,
            bssid,
            r1kh_id,
            mdid,
            rsne,
            anonce,
            spa: None,
            snonce: None,
            r0kh_id: None,
            pmk_r1_name: None,
            ptk: None,
            igtk: None,
        }
    }

    /// The AP's IGTK, given to stations in the IGTK subelement when its
    /// RSN element has MFPC (management frame protection).
    pub fn with_igtk(mut self, igtk: FtIgtk) -> Self {
        self.igtk = Some(igtk);
        self
    }

    /// Handle an FT Authentication request. `pmk_r1` is the R0 key
    /// holder's answer: the PMK-R1 it derived for this AP and the station,
    /// if it holds the named PMK-R0 (R0KH-ID, PMKR0Name, station address).
    pub fn handle_authentication(
        &mut self,
        frame: &[u8],
        pmk_r1: impl FnOnce(&[u8], &[u8; 16], MacAddr) -> Option<PmkR1>,
    ) -> Result<Vec<u8>, FtError> {
        let body = frame.get(MGMT_HEADER..).ok_or(FtError::Malformed)?;
        if frame[0] != 0xb0 || body.len() < 6 || body[..6] != [2, 0, 1, 0, 0, 0] {
            return Err(FtError::Malformed);
        }
        let mut sa = [0u8; 6];
        sa.copy_from_slice(&frame[10..16]);
        let spa = MacAddr(sa);
        let e = elements(&body[6..])?;
        if e.mde != mde(self.mdid) {
            return Err(FtError::MobilityDomain);
        }
        let r0_name = pmkid_of(e.rsne)?.ok_or(FtError::UnknownKey)?;
        let fte = Fte::parse(e.fte, self.profile.mic_len())?;
        let r0kh_id = fte.r0kh_id.clone().ok_or(FtError::FteMismatch)?;
        let r1 = pmk_r1(&r0kh_id, &r0_name, spa).ok_or(FtError::UnknownKey)?;
        let ptk = self.profile.derive_ptk(
            &r1.as_pmk(),
            &self.bssid.0,
            &spa.0,
            &self.anonce,
            &fte.snonce,
        );
        let mut out = Fte::new(self.profile.mic_len(), self.anonce, fte.snonce);
        out.r0kh_id = Some(r0kh_id.clone());
        out.r1kh_id = Some(self.r1kh_id);
        let mut ies = rsne_with(&self.rsne, r0_name)?;
        ies.extend_from_slice(&mde(self.mdid));
        ies.extend_from_slice(&out.to_bytes()?);
        self.spa = Some(spa);
        self.snonce = Some(fte.snonce);
        self.r0kh_id = Some(r0kh_id);
        self.pmk_r1_name = Some(r1.name);
        self.ptk = Some(ptk);
        Ok(authentication(spa, self.bssid, self.bssid, 2, &ies))
    }

    /// Handle the Reassociation Request: PMKR1Name, echoed FTE and MIC
    /// checked; the response carries `gtk` wrapped with the KEK and, with
    /// management frame protection, the IGTK (an AP with MFPC and no IGTK
    /// refuses). On success the PTK is in use.
    pub fn handle_reassociation(&mut self, frame: &[u8], gtk: &FtGtk) -> Result<Vec<u8>, FtError> {
        let (Some(spa), Some(ptk)) = (self.spa, self.ptk.as_ref()) else {
            return Err(FtError::Malformed);
        };
        let body = frame.get(MGMT_HEADER..).ok_or(FtError::Malformed)?;
        if frame[0] != 0x20 || frame[10..16] != spa.0 || body.len() < 10 {
            return Err(FtError::Malformed);
        }
        let e = elements(&body[10..])?;
        if e.mde != mde(self.mdid) {
            return Err(FtError::MobilityDomain);
        }
        if pmkid_of(e.rsne)? != self.pmk_r1_name {
            return Err(FtError::UnknownKey);
        }
        let fte = Fte::parse(e.fte, self.profile.mic_len())?;
        if fte.anonce != self.anonce
            || Some(fte.snonce) != self.snonce
            || fte.r1kh_id != Some(self.r1kh_id)
            || fte.r0kh_id != self.r0kh_id
        {
            return Err(FtError::FteMismatch);
        }
        verify(&self.profile, &ptk.kck, spa, self.bssid, 5, &e, &fte)?;
        let mut prefix = mgmt_header(0x30, spa, self.bssid, self.bssid, 4);
        prefix.extend_from_slice(&0x0011u16.to_le_bytes());
        prefix.extend_from_slice(&0u16.to_le_bytes());
        prefix.extend_from_slice(&0xc001u16.to_le_bytes());
        let name = self.pmk_r1_name.ok_or(FtError::UnknownKey)?;
        let rsne = rsne_with(&self.rsne, name)?;
        let mut out = fte.clone();
        out.gtk = Some(wrap_gtk(&ptk.kek, gtk).map_err(|_| FtError::Gtk)?);
        if self.rsne.mfp().0 {
            let igtk = self.igtk.as_ref().ok_or(FtError::Igtk)?;
            if igtk.key.len() != self.profile.group_mgmt.key_len() {
                return Err(FtError::Igtk);
            }
            out.igtk = Some(wrap_igtk(&ptk.kek, igtk).map_err(|_| FtError::Igtk)?);
        }
        signed(
            &self.profile,
            &ptk.kck,
            spa,
            self.bssid,
            6,
            prefix,
            &rsne,
            &mde(self.mdid),
            out,
        )
    }

    /// The PTK, once the Authentication request was handled.
    pub fn ptk(&self) -> Option<&Ptk> {
        self.ptk.as_ref()
    }
}

/// An Association Response (§9.3.3.7), status 0, AID 1, with `ies` (the
/// FT initial mobility domain association's RSNE, MDE and FTE).
pub fn association_response(bssid: MacAddr, sta: MacAddr, ies: &[u8], seq: u16) -> Vec<u8> {
    let mut f = mgmt_header(0x10, sta, bssid, bssid, seq);
    f.extend_from_slice(&0x0011u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&0xc001u16.to_le_bytes());
    f.extend_from_slice(&[1, 8, 0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24]);
    f.extend_from_slice(ies);
    f
}

/// A fresh GTK for the target AP's group (its own, not AP1's).
pub fn gtk(key_id: u8, key: &[u8]) -> FtGtk {
    FtGtk {
        key_id,
        rsc: [0; 8],
        key: Zeroizing::new(key.to_vec()),
    }
}
