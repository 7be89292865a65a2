//! The four-way handshake and group key handshake (IEEE 802.11-2020
//! §12.7.6, §12.7.7) as two sans-IO state machines, named after the states
//! of the RSNA Authenticator and Supplicant key management state machines of
//! §12.7 (per-STA 4-way handshake: PTKSTART, PTKCALCNEGOTIATING,
//! PTKINITNEGOTIATING, PTKINITDONE; per-STA group key handshake:
//! REKEYNEGOTIATING, REKEYESTABLISHED).
//!
//! Both sides follow the quinn-proto shape: `handle(now, frame)` feeds a
//! received EAPOL frame, `poll_transmit` yields EAPOL frames to send,
//! `poll_event` reports progress, `poll_timeout`/`handle_timeout` drive
//! retransmission. Nonces and GTKs are inputs; nothing reads a clock or a
//! random source.
//!
//! Checks made here:
//! * Replay counter: the supplicant discards frames whose counter is not
//!   greater than the last MIC-verified one; the authenticator accepts
//!   message 2/4 and group message 2 only with the counter it last sent
//!   (§12.7.2 b), §12.7.6.3, §12.7.6.5).
//! * MIC on every message but message 1, with the PTK both sides derive with
//!   [`derive_ptk`] (the single derivation function).
//! * ANonce of message 3 equals message 1's (§12.7.6.4).
//! * RSNE downgrade detection: message 2's RSNE equals the station's
//!   association request RSNE, message 3's equals the AP's beacon RSNE
//!   (§12.7.6.3, §12.7.6.4); a mismatch ends the handshake.
//! * GTK KDE unwrapped with the KEK (AES key wrap, §12.7.2 j)).
//! * Messages 1 and 3 (and group message 1) retransmitted on timeout with a
//!   fresh replay counter, up to a limit, then failure (§12.7.6.1, dot11RSNA
//!   ConfigPairwiseUpdateCount).
//! * A retransmitted message 3 after completion is answered with message 4
//!   but the keys are not installed again (§12.7.6.4 NOTE; the key
//!   reinstallation attacks).

use zeroize::Zeroizing;

use crate::akm::KeyProfile;
use crate::eapol::{Akm, EapolError, EapolKeyFrame, EapolKeyRepr, KeyInformation, RsnElement};

mod authenticator;
mod supplicant;
#[cfg(test)]
mod tests;

pub use authenticator::{Authenticator, AuthenticatorConfig, AuthenticatorState, GroupKeyState};
pub use supplicant::{Supplicant, SupplicantConfig, SupplicantState};

/// Length of the CCMP-128 GTK.
pub const GTK_LEN: usize = 16;

/// A group temporal key (16 octets for CCMP-128, 32 for GCMP-256); zeroized
/// on drop, no `Debug`.
pub struct Gtk(Zeroizing<Vec<u8>>);

impl Gtk {
    /// Wrap random key octets (the caller supplies the randomness).
    pub fn from_bytes(bytes: [u8; GTK_LEN]) -> Self {
        Gtk(Zeroizing::new(bytes.to_vec()))
    }

    /// Wrap random key octets of any cipher's length.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Gtk(Zeroizing::new(bytes.to_vec()))
    }

    /// The key octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Why a handshake step was refused or the handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FourWayError {
    /// The Key MIC did not verify (wrong PMK or tampered frame). Discarded.
    #[error("EAPOL-Key MIC check failed")]
    BadMic,
    /// Replay counter not acceptable. Discarded.
    #[error("replayed or stale replay counter")]
    ReplayedFrame,
    /// A message that does not fit the current state. Discarded.
    #[error("unexpected EAPOL-Key message in this state")]
    UnexpectedMessage,
    /// Message 3's ANonce differs from message 1's. Discarded.
    #[error("ANonce of message 3 differs from message 1")]
    AnonceMismatch,
    /// The RSN element differs from the one advertised: possible downgrade.
    /// Fatal.
    #[error("RSN element mismatch (possible downgrade)")]
    RsneMismatch,
    /// No reply after the last retransmission, or the handshake took too
    /// long. Fatal.
    #[error("handshake timed out")]
    Timeout,
    /// The frame could not be parsed.
    #[error("malformed EAPOL-Key frame: {0}")]
    Malformed(EapolError),
    /// Key Descriptor Version other than the negotiated AKM's (Table 12-10).
    #[error("key descriptor version does not match the negotiated AKM")]
    UnsupportedVersion,
    /// The RSN element selects an AKM this simulator does not implement.
    #[error("{0} is not implemented by this simulator")]
    UnsupportedAkm(Akm),
    /// The RSN elements' MFPC/MFPR bits cannot agree (§12.6.3): one side
    /// requires management frame protection the other is not capable of,
    /// or an element sets MFPR without MFPC.
    #[error("management frame protection policies do not agree (MFPC/MFPR)")]
    MfpPolicy,
    /// Management frame protection was negotiated but the AP has no IGTK
    /// of the negotiated group management cipher's length.
    #[error("management frame protection without an IGTK")]
    NoIgtk,
    /// The PMK is shorter than the negotiated AKM's (a 256-bit PMK for
    /// AKM 12: the MSK's second half did not arrive).
    #[error("PMK of {0} octets is too short for the negotiated AKM")]
    PmkTooShort(usize),
    /// The RSN elements' ciphers are not the ones the AKM's profile
    /// selects (CCMP-128, or GCMP-256 and BIP-GMAC-256 for AKM 12).
    #[error("the RSN element's ciphers do not match the negotiated AKM")]
    CipherMismatch,
    /// The station's RSN element selects no single AKM, or one the AP does
    /// not offer (§12.6.3).
    #[error("the station's RSN element selects no AKM the AP offers")]
    AkmNotOffered,
    /// AES key unwrap failed: wrong KEK or tampered key data.
    #[error("key data unwrap failed")]
    KeyUnwrap,
    /// Message 3 or group message 1 without a GTK KDE, or without an RSNE.
    #[error("required key data element missing")]
    MissingKeyData,
    /// An operation that needs a completed four-way handshake.
    #[error("four-way handshake not completed")]
    NotReady,
    /// The state machine has already failed.
    #[error("handshake already failed")]
    AlreadyFailed,
}

impl From<EapolError> for FourWayError {
    fn from(e: EapolError) -> Self {
        FourWayError::Malformed(e)
    }
}

/// What a state machine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The PTK is in use (supplicant: installed after message 3;
    /// authenticator: installed after message 4).
    PtkInstalled,
    /// A GTK is in use: the supplicant installed it, or the authenticator
    /// learned that the station did (message 4 or group message 2).
    GtkInstalled {
        /// Key ID of the GTK.
        key_id: u8,
    },
    /// The four-way handshake completed.
    Completed,
    /// The handshake failed for good.
    Failed(FourWayError),
}

/// A group integrity key for BIP-CMAC-128 (16 octets) or BIP-GMAC-256 (32)
/// (§12.7.1.5); zeroized on drop, no `Debug`.
pub struct Igtk {
    /// The key.
    pub key: Zeroizing<Vec<u8>>,
    /// Key ID, 4 or 5.
    pub key_id: u16,
    /// The last IPN used with it (sent in the IGTK KDE).
    pub ipn: u64,
}

impl Igtk {
    fn kde(&self) -> crate::eapol::IgtkKde {
        let mut ipn = [0u8; 6];
        ipn.copy_from_slice(&self.ipn.to_le_bytes()[..6]);
        crate::eapol::IgtkKde {
            key_id: self.key_id,
            ipn,
            igtk: Zeroizing::new(self.key.to_vec()),
        }
    }
}

/// What the two RSN elements negotiate.
#[derive(Debug, Clone, Copy)]
struct Negotiated {
    profile: KeyProfile,
    /// Management frame protection in use: both sides set MFPC.
    mfp: bool,
}

/// The key management profile of the AKM the station selected: the one AKM
/// of its (re)association request's RSN element, which the AP must offer
/// (§12.6.3); and whether management frame protection is in use
/// (§12.6.3: both MFPC; a side with MFPR refuses a peer without MFPC; MFPR
/// without MFPC is invalid).
fn negotiate(ap_rsne: &[u8], sta_rsne: &[u8]) -> Result<Negotiated, FourWayError> {
    let ap = RsnElement::parse(ap_rsne)?;
    let sta = RsnElement::parse(sta_rsne)?;
    let (ap_c, ap_r) = ap.mfp();
    let (sta_c, sta_r) = sta.mfp();
    // MFPR needs MFPC on both sides: the requiring side's own and its peer's.
    let required = ap_r || sta_r;
    if required && !(ap_c && sta_c) {
        return Err(FourWayError::MfpPolicy);
    }
    let [akm] = sta.akms[..] else {
        return Err(FourWayError::AkmNotOffered);
    };
    if !ap.akms.contains(&akm) {
        return Err(FourWayError::AkmNotOffered);
    }
    let profile = KeyProfile::for_akm(akm).map_err(|e| FourWayError::UnsupportedAkm(e.0))?;
    // The station selects the profile's pairwise cipher from the AP's list
    // and names the AP's group cipher (§12.6.3); AKM 12 takes GCMP-256 for
    // both (§12.5.5) and, with MFP, BIP-GMAC-256 (an absent group
    // management cipher means BIP-CMAC-128, §9.4.2.24.2).
    let cipher = profile.cipher.suite();
    let suite_b = profile.cipher != crate::ccmp::DataCipher::Ccmp128;
    for rsne in [&ap, &sta] {
        let group_ok = !suite_b || rsne.group_cipher == cipher;
        if !group_ok || !rsne.pairwise_ciphers.contains(&cipher) {
            return Err(FourWayError::CipherMismatch);
        }
        let mgmt = rsne
            .group_mgmt_cipher
            .unwrap_or(crate::eapol::CipherSuite::BipCmac128);
        if ap_c && sta_c && mgmt != profile.group_mgmt.suite() {
            return Err(FourWayError::CipherMismatch);
        }
    }
    if sta.group_cipher != ap.group_cipher || sta.pairwise_ciphers != [cipher] {
        return Err(FourWayError::CipherMismatch);
    }
    Ok(Negotiated {
        profile,
        mfp: ap_c && sta_c,
    })
}

/// Whether `key_data` holds `elements` (the FT MDE and FTE) as they were
/// sent: nothing to find when `elements` is empty.
fn carries(key_data: &[u8], elements: &[u8]) -> bool {
    elements.is_empty() || key_data.windows(elements.len()).any(|w| w == elements)
}

fn key_info(profile: &KeyProfile, flags: KeyInformation) -> KeyInformation {
    KeyInformation::new(profile.descriptor_version, flags)
}

/// Emit a frame with the AKM's Key MIC length and, given a KCK, fill in its
/// MIC (§12.7.2 b) 1)).
fn signed_frame(
    profile: &KeyProfile,
    repr: &EapolKeyRepr,
    kck: Option<&[u8]>,
) -> Result<Vec<u8>, FourWayError> {
    let mut repr = repr.clone();
    repr.mic = vec![0; profile.mic_len()];
    let mut bytes = repr.to_bytes()?;
    if let Some(kck) = kck {
        let mic = profile.mic(kck, &bytes);
        let mut frame = EapolKeyFrame::new_checked_mic(&mut bytes[..], profile.mic_len())?;
        frame.set_mic(&mic)?;
    }
    Ok(bytes)
}

/// Parse a received frame: checked view, RSN descriptor, and the Key
/// Descriptor Version of the negotiated AKM (a frame of another version is
/// refused, never verified with another algorithm).
fn parse<'a>(
    profile: &KeyProfile,
    frame: &'a [u8],
) -> Result<(EapolKeyFrame<&'a [u8]>, EapolKeyRepr), FourWayError> {
    let view = EapolKeyFrame::new_checked_mic(frame, profile.mic_len())?;
    let repr = EapolKeyRepr::parse(&view)?;
    if repr.key_info.version() != profile.descriptor_version {
        return Err(FourWayError::UnsupportedVersion);
    }
    Ok((view, repr))
}

fn check_mic(
    profile: &KeyProfile,
    kck: &[u8],
    view: &EapolKeyFrame<&[u8]>,
) -> Result<(), FourWayError> {
    if profile.verify_mic(kck, &view.mic_input(), view.mic()) {
        Ok(())
    } else {
        Err(FourWayError::BadMic)
    }
}
