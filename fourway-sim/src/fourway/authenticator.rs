//! The authenticator (AP) side of the four-way and group key handshakes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::{Event, FourWayError, Gtk, Igtk, check_mic, key_info, negotiate, parse, signed_frame};
use crate::akm::KeyProfile;
use crate::eapol::{
    EapolError, EapolKeyFrame, EapolKeyRepr, GtkKde, KeyDataElement, KeyInformation,
    key_data_elements,
};
use crate::frames::MacAddr;
use crate::keys::{Nonce, Pmk, Ptk, wrap_key_data};

/// Configuration of the authenticator for one station.
pub struct AuthenticatorConfig {
    /// Authenticator address (BSSID).
    pub aa: MacAddr,
    /// Supplicant address.
    pub spa: MacAddr,
    /// PMK: from the Access-Accept's MS-MPPE keys, or the PSK.
    pub pmk: Pmk,
    /// The AP's RSN element as in its beacons and probe responses (sent in
    /// message 3).
    pub rsne: Vec<u8>,
    /// The station's RSN element from its (re)association request (message
    /// 2 must carry exactly this).
    pub sta_rsne: Vec<u8>,
    /// Current GTK, delivered in message 3.
    pub gtk: Gtk,
    /// IGTK, delivered in message 3 and group message 1 when management
    /// frame protection is negotiated (§12.7.6.4, §12.7.7.2).
    pub igtk: Option<Igtk>,
    /// Its key ID (1..=3 in practice).
    pub gtk_index: u8,
    /// FT initial mobility domain association (§13.4.2): the MDE and FTE
    /// (R0KH-ID, R1KH-ID) sent after the RSNE in message 3 and required in
    /// message 2. Empty otherwise.
    pub ft_elements: Vec<u8>,
    /// Time to wait for a reply before retransmitting.
    pub retrans_timeout: Duration,
    /// Retransmissions of one message before giving up.
    pub max_retries: u32,
}

/// Authenticator 4-way handshake states (the per-STA RSNA Authenticator key
/// management state machine, §12.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticatorState {
    /// Message 1 sent, awaiting message 2.
    PtkStart,
    /// Message 2 received and checked, PTK computed (transient).
    PtkCalcNegotiating,
    /// Message 3 sent, awaiting message 4.
    PtkInitNegotiating,
    /// Message 4 received: PTK installed, port open.
    PtkInitDone,
    /// Failed: the station is to be deauthenticated.
    Failed,
}

/// Authenticator group key states (per-STA group key handshake, §12.7.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKeyState {
    /// No group rekey started since the four-way handshake.
    Idle,
    /// Group message 1 sent, awaiting group message 2.
    RekeyNegotiating,
    /// Group message 2 received: the station has the new GTK.
    RekeyEstablished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Msg1,
    Msg3,
    GroupMsg1,
}

/// The authenticator (AP) side for one station.
pub struct Authenticator {
    cfg: AuthenticatorConfig,
    /// The negotiated AKM's algorithms; `None` only once failed.
    profile: Option<KeyProfile>,
    mfp: bool,
    anonce: Nonce,
    state: AuthenticatorState,
    group_state: GroupKeyState,
    replay_counter: u64,
    ptk: Option<Ptk>,
    new_gtk: Option<(Gtk, u8)>,
    pending: Option<Pending>,
    retries: u32,
    deadline: Option<Instant>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
}

impl Authenticator {
    /// Start the handshake: message 1 is queued at once. `anonce` is 32
    /// random octets from the caller. The AKM is the one the station
    /// selected in `sta_rsne`; one the AP does not offer, or that this
    /// simulator does not implement, fails the handshake at once
    /// ([`Event::Failed`]) before anything is sent.
    pub fn new(cfg: AuthenticatorConfig, now: Instant, anonce: Nonce) -> Self {
        let negotiated = negotiate(&cfg.rsne, &cfg.sta_rsne).and_then(|n| {
            let igtk_len = cfg.igtk.as_ref().map(|k| k.key.len());
            if n.mfp && igtk_len != Some(n.profile.group_mgmt.key_len()) {
                Err(FourWayError::NoIgtk)
            } else if n.profile.pmk(&cfg.pmk).is_none() {
                Err(FourWayError::PmkTooShort(cfg.pmk.as_bytes().len()))
            } else {
                Ok(n)
            }
        });
        let mfp = negotiated.as_ref().is_ok_and(|n| n.mfp);
        let profile = negotiated.map(|n| n.profile);
        let mut a = Authenticator {
            mfp,
            cfg,
            profile: profile.as_ref().ok().copied(),
            anonce,
            state: AuthenticatorState::PtkStart,
            group_state: GroupKeyState::Idle,
            replay_counter: 0,
            ptk: None,
            new_gtk: None,
            pending: None,
            retries: 0,
            deadline: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        };
        match profile {
            Ok(_) => a.send(now, Pending::Msg1),
            Err(e) => a.fail(e),
        }
        a
    }

    /// Management frame protection negotiated.
    pub fn mfp(&self) -> bool {
        self.mfp
    }

    /// The IGTK, when management frame protection is in use.
    pub fn igtk(&self) -> Option<&Igtk> {
        self.cfg.igtk.as_ref().filter(|_| self.mfp)
    }

    /// Use the next IPN of the IGTK (for a frame the AP protects with BIP).
    pub fn next_ipn(&mut self) -> Option<u64> {
        let igtk = self.cfg.igtk.as_mut().filter(|_| self.mfp)?;
        igtk.ipn += 1;
        Some(igtk.ipn)
    }

    /// The algorithms of the negotiated AKM.
    pub fn profile(&self) -> Option<&KeyProfile> {
        self.profile.as_ref()
    }

    fn profile_or_failed(&self) -> Result<KeyProfile, FourWayError> {
        self.profile.ok_or(FourWayError::AlreadyFailed)
    }

    /// Current 4-way state.
    pub fn state(&self) -> AuthenticatorState {
        self.state
    }

    /// Current group key state.
    pub fn group_state(&self) -> GroupKeyState {
        self.group_state
    }

    /// The PTK once message 2 verified (in use after [`Event::PtkInstalled`]).
    pub fn ptk(&self) -> Option<&Ptk> {
        self.ptk.as_ref()
    }

    /// Current GTK and its key ID.
    pub fn gtk(&self) -> (&Gtk, u8) {
        (&self.cfg.gtk, self.cfg.gtk_index)
    }

    /// Next EAPOL frame to send to the station.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Retransmit the pending message if its timer expired, or fail after
    /// `max_retries` retransmissions.
    pub fn handle_timeout(&mut self, now: Instant) {
        let (Some(deadline), Some(pending)) = (self.deadline, self.pending) else {
            return;
        };
        if now < deadline {
            return;
        }
        if self.retries >= self.cfg.max_retries {
            self.fail(FourWayError::Timeout);
            return;
        }
        self.retries += 1;
        self.send_inner(now, pending);
    }

    /// Start a group key handshake (GTK rekey, §12.7.7) with a new GTK.
    pub fn start_group_rekey(
        &mut self,
        now: Instant,
        gtk: Gtk,
        key_id: u8,
    ) -> Result<(), FourWayError> {
        if self.state != AuthenticatorState::PtkInitDone
            || self.group_state == GroupKeyState::RekeyNegotiating
        {
            return Err(FourWayError::NotReady);
        }
        self.new_gtk = Some((gtk, key_id & 0x03));
        self.group_state = GroupKeyState::RekeyNegotiating;
        self.send(now, Pending::GroupMsg1);
        Ok(())
    }

    /// Feed an EAPOL-Key frame received from the station. An `Err` means the
    /// frame was discarded; fatal errors also emit [`Event::Failed`].
    pub fn handle(&mut self, now: Instant, frame: &[u8]) -> Result<(), FourWayError> {
        if self.state == AuthenticatorState::Failed {
            return Err(FourWayError::AlreadyFailed);
        }
        let profile = self.profile_or_failed()?;
        let (view, repr) = parse(&profile, frame)?;
        let ki = repr.key_info;
        if ki.contains(KeyInformation::ACK)
            || ki.contains(KeyInformation::REQUEST)
            || !ki.contains(KeyInformation::MIC)
        {
            return Err(FourWayError::UnexpectedMessage);
        }
        if ki.contains(KeyInformation::PAIRWISE) {
            match self.state {
                AuthenticatorState::PtkStart => self.handle_msg2(now, &view, &repr),
                AuthenticatorState::PtkInitNegotiating => self.handle_msg4(&view, &repr),
                _ => Err(FourWayError::UnexpectedMessage),
            }
        } else if self.group_state == GroupKeyState::RekeyNegotiating {
            self.handle_group_msg2(&view, &repr)
        } else {
            Err(FourWayError::UnexpectedMessage)
        }
    }

    fn handle_msg2(
        &mut self,
        now: Instant,
        view: &EapolKeyFrame<&[u8]>,
        repr: &EapolKeyRepr,
    ) -> Result<(), FourWayError> {
        if repr.key_info.contains(KeyInformation::SECURE) {
            return Err(FourWayError::UnexpectedMessage);
        }
        if repr.replay_counter != self.replay_counter {
            return Err(FourWayError::ReplayedFrame);
        }
        let profile = self.profile_or_failed()?;
        let ptk = profile.derive_ptk(
            &self.cfg.pmk,
            &self.cfg.aa.0,
            &self.cfg.spa.0,
            &self.anonce,
            &repr.nonce,
        );
        check_mic(&profile, &ptk.kck, view)?;
        // §12.7.6.3: the RSNE in message 2 must be bit-wise equal to the one
        // of the (re)association request.
        let rsne = key_data_elements(&repr.key_data)
            .filter_map(|e| match e {
                Ok(KeyDataElement::Rsn(r)) => Some(Ok(r)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .next()
            .transpose()?;
        if rsne != Some(&self.cfg.sta_rsne[..]) {
            self.fail(FourWayError::RsneMismatch);
            return Err(FourWayError::RsneMismatch);
        }
        if !super::carries(&repr.key_data, &self.cfg.ft_elements) {
            return Err(FourWayError::MissingKeyData);
        }
        self.state = AuthenticatorState::PtkCalcNegotiating;
        self.ptk = Some(ptk);
        self.state = AuthenticatorState::PtkInitNegotiating;
        self.send(now, Pending::Msg3);
        Ok(())
    }

    fn handle_msg4(
        &mut self,
        view: &EapolKeyFrame<&[u8]>,
        repr: &EapolKeyRepr,
    ) -> Result<(), FourWayError> {
        if !repr.key_info.contains(KeyInformation::SECURE) {
            return Err(FourWayError::UnexpectedMessage);
        }
        if repr.replay_counter != self.replay_counter {
            return Err(FourWayError::ReplayedFrame);
        }
        let profile = self.profile_or_failed()?;
        let ptk = self.ptk.as_ref().ok_or(FourWayError::UnexpectedMessage)?;
        check_mic(&profile, &ptk.kck, view)?;
        self.state = AuthenticatorState::PtkInitDone;
        self.stop_timer();
        self.events.push_back(Event::PtkInstalled);
        self.events.push_back(Event::GtkInstalled {
            key_id: self.cfg.gtk_index,
        });
        self.events.push_back(Event::Completed);
        Ok(())
    }

    fn handle_group_msg2(
        &mut self,
        view: &EapolKeyFrame<&[u8]>,
        repr: &EapolKeyRepr,
    ) -> Result<(), FourWayError> {
        if repr.replay_counter != self.replay_counter {
            return Err(FourWayError::ReplayedFrame);
        }
        let profile = self.profile_or_failed()?;
        let ptk = self.ptk.as_ref().ok_or(FourWayError::UnexpectedMessage)?;
        check_mic(&profile, &ptk.kck, view)?;
        if let Some((gtk, key_id)) = self.new_gtk.take() {
            self.cfg.gtk = gtk;
            self.cfg.gtk_index = key_id;
        }
        self.group_state = GroupKeyState::RekeyEstablished;
        self.stop_timer();
        self.events.push_back(Event::GtkInstalled {
            key_id: self.cfg.gtk_index,
        });
        Ok(())
    }

    fn stop_timer(&mut self) {
        self.pending = None;
        self.deadline = None;
        self.retries = 0;
    }

    fn fail(&mut self, e: FourWayError) {
        self.state = AuthenticatorState::Failed;
        self.pending = None;
        self.deadline = None;
        self.events.push_back(Event::Failed(e));
    }

    /// Send a new message (retry count reset).
    fn send(&mut self, now: Instant, what: Pending) {
        self.retries = 0;
        self.send_inner(now, what);
    }

    fn send_inner(&mut self, now: Instant, what: Pending) {
        // Every transmission, retransmissions included, uses a new counter.
        self.replay_counter += 1;
        match self.build(what) {
            Ok(frame) => {
                self.transmit.push_back(frame);
                self.pending = Some(what);
                self.deadline = Some(now + self.cfg.retrans_timeout);
            }
            Err(e) => self.fail(e),
        }
    }

    fn build(&self, what: Pending) -> Result<Vec<u8>, FourWayError> {
        let profile = self.profile_or_failed()?;
        let p = &profile;
        match what {
            Pending::Msg1 => {
                let mut r = EapolKeyRepr::new(
                    key_info(p, KeyInformation::PAIRWISE | KeyInformation::ACK),
                    self.replay_counter,
                );
                r.key_length = p.cipher.key_len() as u16;
                r.nonce = self.anonce;
                signed_frame(p, &r, None)
            }
            Pending::Msg3 => {
                let ptk = self.ptk.as_ref().ok_or(FourWayError::NotReady)?;
                let mut r = EapolKeyRepr::new(
                    key_info(
                        p,
                        KeyInformation::PAIRWISE
                            | KeyInformation::INSTALL
                            | KeyInformation::ACK
                            | KeyInformation::MIC
                            | KeyInformation::SECURE
                            | KeyInformation::ENCRYPTED_KEY_DATA,
                    ),
                    self.replay_counter,
                );
                r.key_length = p.cipher.key_len() as u16;
                r.nonce = self.anonce;
                let kde = GtkKde {
                    key_id: self.cfg.gtk_index,
                    tx: true,
                    gtk: Zeroizing::new(self.cfg.gtk.as_bytes().to_vec()),
                };
                let mut plain = Zeroizing::new(self.cfg.rsne.clone());
                plain.extend_from_slice(&self.cfg.ft_elements);
                plain.extend_from_slice(&kde.to_bytes());
                if let Some(igtk) = self.igtk() {
                    plain.extend_from_slice(&igtk.kde().to_bytes());
                }
                r.key_data = wrap_key_data(&ptk.kek, &plain).map_err(|_| EapolError::TooLong)?;
                signed_frame(p, &r, Some(&ptk.kck[..]))
            }
            Pending::GroupMsg1 => {
                let ptk = self.ptk.as_ref().ok_or(FourWayError::NotReady)?;
                let (gtk, key_id) = self.new_gtk.as_ref().ok_or(FourWayError::NotReady)?;
                let r0 = EapolKeyRepr::new(
                    key_info(
                        p,
                        KeyInformation::ACK
                            | KeyInformation::MIC
                            | KeyInformation::SECURE
                            | KeyInformation::ENCRYPTED_KEY_DATA,
                    ),
                    self.replay_counter,
                );
                let kde = GtkKde {
                    key_id: *key_id,
                    tx: true,
                    gtk: Zeroizing::new(gtk.as_bytes().to_vec()),
                };
                let mut plain = Zeroizing::new(kde.to_bytes());
                if let Some(igtk) = self.igtk() {
                    plain.extend_from_slice(&igtk.kde().to_bytes());
                }
                let r = EapolKeyRepr {
                    key_data: wrap_key_data(&ptk.kek, &plain).map_err(|_| EapolError::TooLong)?,
                    ..r0
                };
                signed_frame(p, &r, Some(&ptk.kck[..]))
            }
        }
    }
}
