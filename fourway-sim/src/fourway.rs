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

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::eapol::{
    EapolError, EapolKeyFrame, EapolKeyRepr, GtkKde, KeyDataElement, KeyDescriptorVersion,
    KeyInformation, key_data_elements,
};
use crate::frames::MacAddr;
use crate::keys::{
    Nonce, Pmk, Ptk, derive_ptk, eapol_mic, unwrap_key_data, verify_eapol_mic, wrap_key_data,
};

/// Length of the CCMP-128 GTK.
pub const GTK_LEN: usize = 16;

/// A group temporal key for CCMP-128; zeroized on drop, no `Debug`.
pub struct Gtk(Zeroizing<[u8; GTK_LEN]>);

impl Gtk {
    /// Wrap random key octets (the caller supplies the randomness).
    pub fn from_bytes(bytes: [u8; GTK_LEN]) -> Self {
        Gtk(Zeroizing::new(bytes))
    }

    /// The key octets.
    pub fn as_bytes(&self) -> &[u8; GTK_LEN] {
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
    /// Key descriptor version other than 2 (HMAC-SHA1 / AES key wrap).
    #[error("unsupported key descriptor version")]
    UnsupportedVersion,
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

fn version2(flags: KeyInformation) -> KeyInformation {
    KeyInformation::new(KeyDescriptorVersion::HmacSha1Aes, flags)
}

/// Emit a frame and, given a KCK, fill in its MIC (§12.7.2 b) 1)).
fn signed_frame(repr: &EapolKeyRepr, kck: Option<&[u8; 16]>) -> Result<Vec<u8>, FourWayError> {
    let mut bytes = repr.to_bytes()?;
    if let Some(kck) = kck {
        let mic = eapol_mic(kck, &bytes);
        let mut frame = EapolKeyFrame::new_checked(&mut bytes[..])?;
        frame.set_mic(&mic);
    }
    Ok(bytes)
}

/// Parse a received frame: checked view, RSN descriptor, version 2.
fn parse(frame: &[u8]) -> Result<(EapolKeyFrame<&[u8]>, EapolKeyRepr), FourWayError> {
    let view = EapolKeyFrame::new_checked(frame)?;
    let repr = EapolKeyRepr::parse(&view)?;
    if repr.key_info.version() != KeyDescriptorVersion::HmacSha1Aes {
        return Err(FourWayError::UnsupportedVersion);
    }
    Ok((view, repr))
}

fn check_mic(kck: &[u8; 16], view: &EapolKeyFrame<&[u8]>) -> Result<(), FourWayError> {
    if verify_eapol_mic(kck, &view.mic_input(), &view.mic()) {
        Ok(())
    } else {
        Err(FourWayError::BadMic)
    }
}

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
    /// Its key ID (1..=3 in practice).
    pub gtk_index: u8,
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
    /// random octets from the caller.
    pub fn new(cfg: AuthenticatorConfig, now: Instant, anonce: Nonce) -> Self {
        let mut a = Authenticator {
            cfg,
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
        a.send(now, Pending::Msg1);
        a
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
        let (view, repr) = parse(frame)?;
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
        let ptk = derive_ptk(
            &self.cfg.pmk,
            &self.cfg.aa.0,
            &self.cfg.spa.0,
            &self.anonce,
            &repr.nonce,
        );
        check_mic(&ptk.kck, view)?;
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
        let ptk = self.ptk.as_ref().ok_or(FourWayError::UnexpectedMessage)?;
        check_mic(&ptk.kck, view)?;
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
        let ptk = self.ptk.as_ref().ok_or(FourWayError::UnexpectedMessage)?;
        check_mic(&ptk.kck, view)?;
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
        match what {
            Pending::Msg1 => {
                let mut r = EapolKeyRepr::new(
                    version2(KeyInformation::PAIRWISE | KeyInformation::ACK),
                    self.replay_counter,
                );
                r.key_length = 16;
                r.nonce = self.anonce;
                signed_frame(&r, None)
            }
            Pending::Msg3 => {
                let ptk = self.ptk.as_ref().ok_or(FourWayError::NotReady)?;
                let mut r = EapolKeyRepr::new(
                    version2(
                        KeyInformation::PAIRWISE
                            | KeyInformation::INSTALL
                            | KeyInformation::ACK
                            | KeyInformation::MIC
                            | KeyInformation::SECURE
                            | KeyInformation::ENCRYPTED_KEY_DATA,
                    ),
                    self.replay_counter,
                );
                r.key_length = 16;
                r.nonce = self.anonce;
                let kde = GtkKde {
                    key_id: self.cfg.gtk_index,
                    tx: true,
                    gtk: Zeroizing::new(self.cfg.gtk.as_bytes().to_vec()),
                };
                let mut plain = Zeroizing::new(self.cfg.rsne.clone());
                plain.extend_from_slice(&kde.to_bytes());
                r.key_data = wrap_key_data(&ptk.kek, &plain).map_err(|_| EapolError::TooLong)?;
                signed_frame(&r, Some(&ptk.kck))
            }
            Pending::GroupMsg1 => {
                let ptk = self.ptk.as_ref().ok_or(FourWayError::NotReady)?;
                let (gtk, key_id) = self.new_gtk.as_ref().ok_or(FourWayError::NotReady)?;
                let r0 = EapolKeyRepr::new(
                    version2(
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
                let r = EapolKeyRepr {
                    key_data: wrap_key_data(&ptk.kek, &kde.to_bytes())
                        .map_err(|_| EapolError::TooLong)?,
                    ..r0
                };
                signed_frame(&r, Some(&ptk.kck))
            }
        }
    }
}

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
    snonce: Nonce,
    state: SupplicantState,
    last_counter: Option<u64>,
    anonce: Option<Nonce>,
    tptk: Option<Ptk>,
    ptk: Option<Ptk>,
    gtk: Option<(u8, Zeroizing<Vec<u8>>)>,
    deadline: Option<Instant>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
}

impl Supplicant {
    /// A supplicant awaiting message 1. `snonce` is 32 random octets from
    /// the caller.
    pub fn new(cfg: SupplicantConfig, now: Instant, snonce: Nonce) -> Self {
        let deadline = Some(now + cfg.handshake_timeout);
        Supplicant {
            cfg,
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
        }
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
        let (view, repr) = parse(frame)?;
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
        let tptk = derive_ptk(
            &self.cfg.pmk,
            &self.cfg.aa.0,
            &self.cfg.spa.0,
            &repr.nonce,
            &self.snonce,
        );
        let mut r = EapolKeyRepr::new(
            version2(KeyInformation::PAIRWISE | KeyInformation::MIC),
            repr.replay_counter,
        );
        r.nonce = self.snonce;
        r.key_data = self.cfg.rsne.clone();
        let frame = signed_frame(&r, Some(&tptk.kck))?;
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
        check_mic(&key.kck, view)?;
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
        for e in key_data_elements(&plain) {
            match e? {
                KeyDataElement::Rsn(r) if rsne.is_none() => rsne = Some(r),
                KeyDataElement::Gtk(g) => gtk = Some(g),
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
        let mut r = EapolKeyRepr::new(
            version2(KeyInformation::PAIRWISE | KeyInformation::MIC | KeyInformation::SECURE),
            repr.replay_counter,
        );
        r.key_length = 0;
        let msg4 = signed_frame(&r, Some(&key.kck))?;
        self.last_counter = Some(repr.replay_counter);
        self.transmit.push_back(msg4);
        if done {
            // Retransmitted message 3 (our message 4 was lost): answer, but
            // never install the same keys again.
            return Ok(());
        }
        self.ptk = self.tptk.take();
        self.gtk = Some((gtk.key_id, gtk.gtk));
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
        check_mic(&ptk.kck, view)?;
        if !repr.key_info.contains(KeyInformation::ENCRYPTED_KEY_DATA) {
            return Err(FourWayError::MissingKeyData);
        }
        let plain =
            unwrap_key_data(&ptk.kek, &repr.key_data).map_err(|_| FourWayError::KeyUnwrap)?;
        let mut gtk = None;
        for e in key_data_elements(&plain) {
            if let KeyDataElement::Gtk(g) = e? {
                gtk = Some(g);
            }
        }
        let gtk = gtk.ok_or(FourWayError::MissingKeyData)?;
        let r = EapolKeyRepr::new(
            version2(KeyInformation::MIC | KeyInformation::SECURE),
            repr.replay_counter,
        );
        let msg2 = signed_frame(&r, Some(&ptk.kck))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::psk_from_passphrase;
    use crate::testvectors::*;

    fn induction_supplicant(ap_rsne: &str) -> Supplicant {
        let cfg = SupplicantConfig {
            aa: MacAddr(INDUCTION_AA),
            spa: MacAddr(INDUCTION_SPA),
            pmk: psk_from_passphrase(INDUCTION_PASSPHRASE, INDUCTION_SSID).unwrap(),
            rsne: h(INDUCTION_STA_RSNE),
            ap_rsne: h(ap_rsne),
            handshake_timeout: Duration::from_secs(5),
        };
        let snonce: Nonce = h(INDUCTION_M2)[17..49].try_into().unwrap();
        Supplicant::new(cfg, Instant::now(), snonce)
    }

    // The supplicant replays the captured handshake of wpa-Induction.pcap:
    // its message 2 and 4 equal the captured ones except the Key Length
    // field (the 2006 station wrote 16, IEEE 802.11-2020 says 0) and hence
    // the MIC; the captured message 3 verifies and yields the captured GTK.
    #[test]
    fn supplicant_accepts_captured_handshake() {
        let now = Instant::now();
        let mut s = induction_supplicant(INDUCTION_AP_RSNE);
        s.handle(now, &h(INDUCTION_M1)).unwrap();
        let m2 = s.poll_transmit().unwrap();
        let captured = h(INDUCTION_M2);
        assert_eq!(m2.len(), captured.len());
        assert_eq!(&m2[..7], &captured[..7]);
        assert_eq!(&m2[9..81], &captured[9..81]);
        assert_eq!(&m2[97..], &captured[97..]);
        // With the capture's key length the MIC is the captured MIC.
        let mut ours = m2.clone();
        ours[7..9].copy_from_slice(&[0, 16]);
        ours[81..97].fill(0);
        assert_eq!(
            eapol_mic(&s.tptk.as_ref().unwrap().kck, &ours)[..],
            captured[81..97]
        );

        s.handle(now, &h(INDUCTION_M3)).unwrap();
        assert_eq!(s.state(), SupplicantState::StaPtkDone);
        let m4 = s.poll_transmit().unwrap();
        let captured = h(INDUCTION_M4);
        assert_eq!(&m4[..7], &captured[..7]);
        assert_eq!(&m4[9..81], &captured[9..81]);
        assert_eq!(s.gtk().unwrap().1, &h(INDUCTION_GTK)[..]);
        assert_eq!(s.poll_event(), Some(Event::PtkInstalled));
        assert!(matches!(s.poll_event(), Some(Event::GtkInstalled { .. })));
        assert_eq!(s.poll_event(), Some(Event::Completed));
        // Replays of message 3 and message 1.
        assert_eq!(
            s.handle(now, &h(INDUCTION_M3)),
            Err(FourWayError::ReplayedFrame)
        );
        assert_eq!(
            s.handle(now, &h(INDUCTION_M1)),
            Err(FourWayError::ReplayedFrame)
        );
    }

    #[test]
    fn supplicant_detects_rsne_downgrade_in_captured_message3() {
        let now = Instant::now();
        let mut s = induction_supplicant(INDUCTION_STA_RSNE);
        s.handle(now, &h(INDUCTION_M1)).unwrap();
        assert_eq!(
            s.handle(now, &h(INDUCTION_M3)),
            Err(FourWayError::RsneMismatch)
        );
        assert_eq!(s.state(), SupplicantState::Failed);
        assert_eq!(
            s.poll_event(),
            Some(Event::Failed(FourWayError::RsneMismatch))
        );
    }

    #[test]
    fn supplicant_rejects_tampered_captured_message3() {
        let now = Instant::now();
        let mut s = induction_supplicant(INDUCTION_AP_RSNE);
        assert_eq!(
            s.handle(now, &h(INDUCTION_M3)),
            Err(FourWayError::UnexpectedMessage)
        );
        s.handle(now, &h(INDUCTION_M1)).unwrap();
        let mut m3 = h(INDUCTION_M3);
        m3[120] ^= 1;
        assert_eq!(s.handle(now, &m3), Err(FourWayError::BadMic));
        // The genuine one still goes through afterwards.
        s.handle(now, &h(INDUCTION_M3)).unwrap();
        assert_eq!(s.state(), SupplicantState::StaPtkDone);
    }
}
