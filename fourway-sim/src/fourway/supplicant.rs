//! The supplicant (station) side of the four-way and group key handshakes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::{Event, FourWayError, check_mic, key_info, negotiate, parse, signed_frame};
use crate::akm::KeyProfile;
use crate::eapol::{
    EapolKeyFrame, EapolKeyRepr, IgtkKde, KeyDataElement, KeyInformation, key_data_elements,
};
use crate::frames::MacAddr;
use crate::keys::{Nonce, Pmk, Ptk, unwrap_key_data};

/// Configuration of the supplicant.
pub struct SupplicantConfig {
    /// Authenticator address (BSSID).
    pub aa: MacAddr,
    /// Own address.
    pub spa: MacAddr,
    /// PMK: from the EAP MSK, or the PSK.
    pub pmk: Pmk,
    /// Own RSN element as sent in the association request (sent again in
    /// message 2).
    pub rsne: Vec<u8>,
    /// The AP's RSN element from its beacon / probe response (message 3
    /// must carry exactly this).
    pub ap_rsne: Vec<u8>,
    /// FT initial mobility domain association (§13.4.2): the MDE and FTE
    /// of the association response, sent after the RSNE in message 2 and
    /// required in message 3. Empty otherwise.
    pub ft_elements: Vec<u8>,
    /// Give up when the handshake has not completed within this time.
    pub handshake_timeout: Duration,
}

/// Supplicant key management states (RSNA Supplicant key management state
/// machine, §12.7, whose
/// STAKEYSTART state processes each EAPOL-Key frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupplicantState {
    /// Awaiting message 1 (STAKEYSTART, no PTK yet).
    StaKeyStart,
    /// Message 2 sent with a temporary PTK (TPTK), awaiting message 3.
    StaPtkNegotiating,
    /// Message 4 sent, PTK and GTK installed; group rekeys accepted.
    StaPtkDone,
    /// Failed.
    Failed,
}

/// The supplicant (station) side.
pub struct Supplicant {
    cfg: SupplicantConfig,
    /// The negotiated AKM's algorithms; `None` only once failed.
    profile: Option<KeyProfile>,
    mfp: bool,
    igtk: Option<IgtkKde>,
    snonce: Nonce,
    state: SupplicantState,
    last_counter: Option<u64>,
    anonce: Option<Nonce>,
    pub(super) tptk: Option<Ptk>,
    ptk: Option<Ptk>,
    gtk: Option<(u8, Zeroizing<Vec<u8>>)>,
    deadline: Option<Instant>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
}

impl Supplicant {
    /// A supplicant awaiting message 1. `snonce` is 32 random octets from
    /// the caller.
    ///
    /// The AKM is the one of the station's own RSN element, which the AP's
    /// must offer; otherwise, or if this simulator does not implement it,
    /// the supplicant fails at once ([`Event::Failed`]).
    pub fn new(cfg: SupplicantConfig, now: Instant, snonce: Nonce) -> Self {
        let deadline = Some(now + cfg.handshake_timeout);
        let negotiated =
            negotiate(&cfg.ap_rsne, &cfg.rsne).and_then(|n| match n.profile.pmk(&cfg.pmk) {
                Some(_) => Ok(n),
                None => Err(FourWayError::PmkTooShort(cfg.pmk.as_bytes().len())),
            });
        let mfp = negotiated.as_ref().is_ok_and(|n| n.mfp);
        let profile = negotiated.map(|n| n.profile);
        let mut s = Supplicant {
            mfp,
            igtk: None,
            cfg,
            profile: profile.as_ref().ok().copied(),
            snonce,
            state: SupplicantState::StaKeyStart,
            last_counter: None,
            anonce: None,
            tptk: None,
            ptk: None,
            gtk: None,
            deadline,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        };
        if let Err(e) = profile {
            s.fail(e);
        }
        s
    }

    /// Management frame protection negotiated.
    pub fn mfp(&self) -> bool {
        self.mfp
    }

    /// The installed IGTK (management frame protection only).
    pub fn igtk(&self) -> Option<&IgtkKde> {
        self.igtk.as_ref()
    }

    /// The algorithms of the negotiated AKM.
    pub fn profile(&self) -> Option<&KeyProfile> {
        self.profile.as_ref()
    }

    fn profile_or_failed(&self) -> Result<KeyProfile, FourWayError> {
        self.profile.ok_or(FourWayError::AlreadyFailed)
    }

    /// Current state.
    pub fn state(&self) -> SupplicantState {
        self.state
    }

    /// The installed PTK.
    pub fn ptk(&self) -> Option<&Ptk> {
        self.ptk.as_ref()
    }

    /// The installed GTK (key ID, key).
    pub fn gtk(&self) -> Option<(u8, &[u8])> {
        self.gtk.as_ref().map(|(id, k)| (*id, &k[..]))
    }

    /// Next EAPOL frame to send to the AP.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Deadline of the whole handshake, until it completes.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Fail if the handshake has not completed by its deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(d) = self.deadline
            && now >= d
            && self.state != SupplicantState::StaPtkDone
        {
            self.fail(FourWayError::Timeout);
        }
    }

    /// Feed an EAPOL-Key frame received from the AP. An `Err` means the
    /// frame was discarded; fatal errors also emit [`Event::Failed`].
    pub fn handle(&mut self, _now: Instant, frame: &[u8]) -> Result<(), FourWayError> {
        if self.state == SupplicantState::Failed {
            return Err(FourWayError::AlreadyFailed);
        }
        let profile = self.profile_or_failed()?;
        let (view, repr) = parse(&profile, frame)?;
        let ki = repr.key_info;
        if !ki.contains(KeyInformation::ACK) {
            return Err(FourWayError::UnexpectedMessage);
        }
        // §12.7.2 b) 2): a counter not larger than the last one accepted is
        // a replay. The local counter advances only on MIC-verified frames.
        if let Some(last) = self.last_counter
            && repr.replay_counter <= last
        {
            return Err(FourWayError::ReplayedFrame);
        }
        let pairwise = ki.contains(KeyInformation::PAIRWISE);
        if pairwise && !ki.contains(KeyInformation::MIC) {
            self.handle_msg1(&repr)
        } else if pairwise
            && ki.contains(KeyInformation::INSTALL)
            && ki.contains(KeyInformation::MIC)
        {
            self.handle_msg3(&view, &repr)
        } else if !pairwise && ki.contains(KeyInformation::MIC) {
            self.handle_group_msg1(&view, &repr)
        } else {
            Err(FourWayError::UnexpectedMessage)
        }
    }

    fn handle_msg1(&mut self, repr: &EapolKeyRepr) -> Result<(), FourWayError> {
        if self.state == SupplicantState::StaPtkDone {
            // A PTK rekey would start here; this simulator does not do them.
            return Err(FourWayError::UnexpectedMessage);
        }
        let profile = self.profile_or_failed()?;
        let p = &profile;
        let tptk = profile.derive_ptk(
            &self.cfg.pmk,
            &self.cfg.aa.0,
            &self.cfg.spa.0,
            &repr.nonce,
            &self.snonce,
        );
        let mut r = EapolKeyRepr::new(
            key_info(p, KeyInformation::PAIRWISE | KeyInformation::MIC),
            repr.replay_counter,
        );
        r.nonce = self.snonce;
        r.key_data = self.cfg.rsne.clone();
        r.key_data.extend_from_slice(&self.cfg.ft_elements);
        let frame = signed_frame(p, &r, Some(&tptk.kck[..]))?;
        self.anonce = Some(repr.nonce);
        self.tptk = Some(tptk);
        self.state = SupplicantState::StaPtkNegotiating;
        self.transmit.push_back(frame);
        Ok(())
    }

    fn handle_msg3(
        &mut self,
        view: &EapolKeyFrame<&[u8]>,
        repr: &EapolKeyRepr,
    ) -> Result<(), FourWayError> {
        let done = self.state == SupplicantState::StaPtkDone;
        let key = if done {
            self.ptk.as_ref()
        } else {
            self.tptk.as_ref()
        };
        let key = key.ok_or(FourWayError::UnexpectedMessage)?;
        let profile = self.profile_or_failed()?;
        let p = &profile;
        check_mic(p, &key.kck, view)?;
        if Some(repr.nonce) != self.anonce {
            return Err(FourWayError::AnonceMismatch);
        }
        if !repr.key_info.contains(KeyInformation::ENCRYPTED_KEY_DATA) {
            return Err(FourWayError::MissingKeyData);
        }
        let plain =
            unwrap_key_data(&key.kek, &repr.key_data).map_err(|_| FourWayError::KeyUnwrap)?;
        let mut rsne = None;
        let mut gtk = None;
        let mut igtk = None;
        for e in key_data_elements(&plain) {
            match e? {
                KeyDataElement::Rsn(r) if rsne.is_none() => rsne = Some(r),
                KeyDataElement::Gtk(g) => gtk = Some(g),
                KeyDataElement::Igtk(g) => igtk = Some(g),
                _ => {}
            }
        }
        // §12.7.6.4: message 3's RSNE must equal the beacon's, or the
        // station deauthenticates (downgrade protection).
        if rsne != Some(&self.cfg.ap_rsne[..]) {
            self.fail(FourWayError::RsneMismatch);
            return Err(FourWayError::RsneMismatch);
        }
        let gtk = gtk.ok_or(FourWayError::MissingKeyData)?;
        if !super::carries(&plain, &self.cfg.ft_elements) {
            return Err(FourWayError::MissingKeyData);
        }
        // §12.7.6.4: with management frame protection, message 3 carries
        // the IGTK KDE.
        if self.mfp && igtk.is_none() {
            return Err(FourWayError::MissingKeyData);
        }
        let mut r = EapolKeyRepr::new(
            key_info(
                p,
                KeyInformation::PAIRWISE | KeyInformation::MIC | KeyInformation::SECURE,
            ),
            repr.replay_counter,
        );
        r.key_length = 0;
        let msg4 = signed_frame(p, &r, Some(&key.kck[..]))?;
        self.last_counter = Some(repr.replay_counter);
        self.transmit.push_back(msg4);
        if done {
            // Retransmitted message 3 (our message 4 was lost): answer, but
            // never install the same keys again.
            return Ok(());
        }
        self.ptk = self.tptk.take();
        self.gtk = Some((gtk.key_id, gtk.gtk));
        if self.mfp {
            self.igtk = igtk;
        }
        self.state = SupplicantState::StaPtkDone;
        self.deadline = None;
        self.events.push_back(Event::PtkInstalled);
        self.events
            .push_back(Event::GtkInstalled { key_id: gtk.key_id });
        self.events.push_back(Event::Completed);
        Ok(())
    }

    fn handle_group_msg1(
        &mut self,
        view: &EapolKeyFrame<&[u8]>,
        repr: &EapolKeyRepr,
    ) -> Result<(), FourWayError> {
        if self.state != SupplicantState::StaPtkDone {
            return Err(FourWayError::UnexpectedMessage);
        }
        let ptk = self.ptk.as_ref().ok_or(FourWayError::UnexpectedMessage)?;
        let profile = self.profile_or_failed()?;
        let p = &profile;
        check_mic(p, &ptk.kck, view)?;
        if !repr.key_info.contains(KeyInformation::ENCRYPTED_KEY_DATA) {
            return Err(FourWayError::MissingKeyData);
        }
        let plain =
            unwrap_key_data(&ptk.kek, &repr.key_data).map_err(|_| FourWayError::KeyUnwrap)?;
        let mut gtk = None;
        let mut igtk = None;
        for e in key_data_elements(&plain) {
            match e? {
                KeyDataElement::Gtk(g) => gtk = Some(g),
                KeyDataElement::Igtk(g) => igtk = Some(g),
                _ => {}
            }
        }
        let gtk = gtk.ok_or(FourWayError::MissingKeyData)?;
        if self.mfp && igtk.is_none() {
            return Err(FourWayError::MissingKeyData);
        }
        if self.mfp {
            self.igtk = igtk;
        }
        let r = EapolKeyRepr::new(
            key_info(p, KeyInformation::MIC | KeyInformation::SECURE),
            repr.replay_counter,
        );
        let msg2 = signed_frame(p, &r, Some(&ptk.kck[..]))?;
        self.last_counter = Some(repr.replay_counter);
        self.transmit.push_back(msg2);
        let same = self
            .gtk
            .as_ref()
            .is_some_and(|(id, k)| *id == gtk.key_id && k[..] == gtk.gtk[..]);
        if !same {
            self.events
                .push_back(Event::GtkInstalled { key_id: gtk.key_id });
            self.gtk = Some((gtk.key_id, gtk.gtk));
        }
        Ok(())
    }

    fn fail(&mut self, e: FourWayError) {
        self.state = SupplicantState::Failed;
        self.deadline = None;
        self.events.push_back(Event::Failed(e));
    }
}
