//! In-memory runs of an AP (authenticator) and a station (supplicant) on a
//! virtual clock.
//!
//! [`Pair`] steps both state machines, delivering EAPOL frames through a
//! filter that can drop or tamper with them, and advances the virtual clock
//! to the next timer when nothing is in flight. [`run_handshakes`] uses it
//! for one station: four-way handshake, group key handshake, then CCMP in
//! both directions plus a group-addressed frame under the GTK. It takes the
//! two PMKs as inputs: the PSK mode passes the PSK to both sides, the RADIUS
//! mode passes the PMK from the Access-Accept's MS-MPPE-Recv-Key to the AP
//! and the PMK from the station's own EAP MSK to the station.

use std::time::{Duration, Instant};

use rand::CryptoRng;

use crate::akm::KeyProfile;
use crate::bip::BipAlgorithm;
use crate::ccmp::{CcmpSession, DataCipher};
use crate::eapol::{Akm, PacketType, RsnElement, emit_eapol};
use crate::fourway::{
    Authenticator, AuthenticatorConfig, AuthenticatorState, Event, FourWayError, GroupKeyState,
    Gtk, Igtk, Supplicant, SupplicantConfig, SupplicantState,
};
use crate::frames::{self, Direction, MacAddr};
use crate::keys::{Nonce, Pmk};

/// EtherType of the simulated data payload: IEEE Std 802 Local Experimental
/// EtherType 1, which analysers show as plain data.
pub const ETHERTYPE_EXPERIMENTAL: u16 = 0x88b5;

/// Decides the fate of each EAPOL frame in flight: gets the direction, the
/// index of the frame among those sent in that direction (0 = first), and
/// the frame, which it may alter; returns `false` to drop it.
pub type Filter = Box<dyn FnMut(Direction, usize, &mut Vec<u8>) -> bool>;

/// One EAPOL frame as delivered (after the filter), with virtual time.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// Virtual time since the pair started.
    pub at: Duration,
    /// Direction.
    pub dir: Direction,
    /// The EAPOL frame.
    pub eapol: Vec<u8>,
}

/// An authenticator and a supplicant wired together in memory.
pub struct Pair {
    /// The AP side.
    pub auth: Authenticator,
    /// The station side.
    pub supp: Supplicant,
    /// Virtual clock.
    pub now: Instant,
    start: Instant,
    filter: Filter,
    sent: [usize; 2],
    /// Errors returned by `Authenticator::handle` (discarded frames).
    pub auth_errors: Vec<FourWayError>,
    /// Errors returned by `Supplicant::handle`.
    pub supp_errors: Vec<FourWayError>,
    /// Events polled from the authenticator.
    pub auth_events: Vec<Event>,
    /// Events polled from the supplicant.
    pub supp_events: Vec<Event>,
    /// Every delivered frame.
    pub delivered: Vec<Delivered>,
}

impl Pair {
    /// Wire two state machines; `now` must be the instant both were created
    /// with.
    pub fn new(auth: Authenticator, supp: Supplicant, now: Instant) -> Self {
        Pair {
            auth,
            supp,
            now,
            start: now,
            filter: Box::new(|_, _, _| true),
            sent: [0, 0],
            auth_errors: Vec::new(),
            supp_errors: Vec::new(),
            auth_events: Vec::new(),
            supp_events: Vec::new(),
            delivered: Vec::new(),
        }
    }

    /// Install a filter that may drop or alter frames.
    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
    }

    fn pass(&mut self, dir: Direction, mut frame: Vec<u8>) -> Option<Vec<u8>> {
        let i = match dir {
            Direction::FromAp => 0,
            Direction::ToAp => 1,
        };
        let n = self.sent[i];
        self.sent[i] += 1;
        if (self.filter)(dir, n, &mut frame) {
            self.delivered.push(Delivered {
                at: self.now - self.start,
                dir,
                eapol: frame.clone(),
            });
            Some(frame)
        } else {
            None
        }
    }

    /// Deliver every queued frame and collect events; true if anything moved.
    pub fn step(&mut self) -> bool {
        let mut moved = false;
        while let Some(f) = self.auth.poll_transmit() {
            moved = true;
            if let Some(f) = self.pass(Direction::FromAp, f)
                && let Err(e) = self.supp.handle(self.now, &f)
            {
                self.supp_errors.push(e);
            }
        }
        while let Some(f) = self.supp.poll_transmit() {
            moved = true;
            if let Some(f) = self.pass(Direction::ToAp, f)
                && let Err(e) = self.auth.handle(self.now, &f)
            {
                self.auth_errors.push(e);
            }
        }
        while let Some(e) = self.auth.poll_event() {
            moved = true;
            self.auth_events.push(e);
        }
        while let Some(e) = self.supp.poll_event() {
            moved = true;
            self.supp_events.push(e);
        }
        moved
    }

    fn settled(&self) -> bool {
        let auth_done = matches!(
            self.auth.state(),
            AuthenticatorState::PtkInitDone | AuthenticatorState::Failed
        ) && self.auth.group_state() != GroupKeyState::RekeyNegotiating;
        let supp_done = matches!(
            self.supp.state(),
            SupplicantState::StaPtkDone | SupplicantState::Failed
        );
        auth_done && supp_done
    }

    /// Run until both sides are done or failed, jumping the virtual clock to
    /// the next timer whenever nothing is in flight. Bounded.
    pub fn drive(&mut self) {
        for _ in 0..10_000 {
            if self.step() {
                continue;
            }
            if self.settled() {
                return;
            }
            let next = [self.auth.poll_timeout(), self.supp.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { return };
            if next > self.now {
                self.now = next;
            }
            self.auth.handle_timeout(self.now);
            self.supp.handle_timeout(self.now);
        }
    }

    /// Virtual time elapsed.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }
}

/// Management frame protection (IEEE 802.11w) as both RSN elements
/// advertise it (§9.4.2.24.4 MFPC/MFPR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pmf {
    /// Neither MFPC nor MFPR.
    #[default]
    Disabled,
    /// MFPC.
    Optional,
    /// MFPC and MFPR.
    Required,
}

impl Pmf {
    /// The RSN Capabilities bits.
    pub fn capabilities(self) -> u16 {
        use crate::eapol::{RSN_CAP_MFPC, RSN_CAP_MFPR};
        match self {
            Pmf::Disabled => 0,
            Pmf::Optional => RSN_CAP_MFPC,
            Pmf::Required => RSN_CAP_MFPC | RSN_CAP_MFPR,
        }
    }
}

/// Parameters of a simulated station run.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// SSID advertised in the beacon (for the capture).
    pub ssid: Vec<u8>,
    /// AKM in the RSN elements: PSK or 802.1X.
    pub akm: Akm,
    /// Time to wait before retransmitting message 1/3.
    pub retrans_timeout: Duration,
    /// Retransmissions before failure.
    pub max_retries: u32,
    /// Also run a group key handshake after the four-way handshake.
    pub group_rekey: bool,
    /// Keep the 802.11 frames for a capture file.
    pub capture: bool,
    /// Management frame protection of both sides.
    pub pmf: Pmf,
    /// PMKIDs the station names in its (re)association request's RSN
    /// element (PMKSA caching, §12.6.10.3).
    pub sta_pmkids: Vec<crate::akm::Pmkid>,
    /// FT initial mobility domain association (§13.4.2): the PMKs given to
    /// [`run_handshakes`] are the PMK-R1 of this AP.
    pub ft: Option<FtAssociation>,
    /// The EAP exchange that made the PMK (RADIUS mode), for the capture:
    /// written as EAPOL-EAP frames between the association and the
    /// four-way handshake.
    pub eap: Vec<(Direction, Vec<u8>)>,
}

/// What an FT initial mobility domain association adds (§13.4.2): the
/// PMKR1Name in both RSN elements of the four-way handshake, the MDE in the
/// beacon and association request, the MDE and FTE (R0KH-ID, R1KH-ID) in
/// the association response and messages 2 and 3.
#[derive(Debug, Clone)]
pub struct FtAssociation {
    /// PMKR1Name of the AP's PMK-R1.
    pub pmk_r1_name: crate::akm::Pmkid,
    /// The MDE.
    pub mde: Vec<u8>,
    /// The FTE with R0KH-ID and R1KH-ID (no MIC, zero nonces).
    pub fte: Vec<u8>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            ssid: b"fourway-sim".to_vec(),
            akm: Akm::Psk,
            retrans_timeout: Duration::from_millis(100),
            max_retries: 3,
            group_rekey: true,
            capture: false,
            pmf: Pmf::Disabled,
            sta_pmkids: Vec::new(),
            ft: None,
            eap: Vec::new(),
        }
    }
}

/// A captured 802.11 frame with its virtual time offset.
#[derive(Debug, Clone)]
pub struct CapturedFrame {
    /// Virtual time since the station's run began.
    pub at: Duration,
    /// The 802.11 frame (no FCS).
    pub frame: Vec<u8>,
}

/// The outcome for one station.
#[derive(Debug, Clone)]
pub struct StationReport {
    /// AP address.
    pub aa: MacAddr,
    /// Station address.
    pub spa: MacAddr,
    /// Both sides started from the same PMK.
    pub pmk_match: bool,
    /// Both sides installed the same PTK.
    pub ptk_installed: bool,
    /// The station installed the AP's GTK (after the rekey, the new one).
    pub gtk_installed: bool,
    /// The group key handshake completed (or was not asked for).
    pub group_rekey_ok: bool,
    /// CCMP frames decrypted both ways, and a group frame under the GTK.
    pub ccmp_ok: bool,
    /// With management frame protection: the station accepted the AP's
    /// BIP-protected broadcast deauthentication and refused an
    /// unprotected, a forged and a replayed one. `None` without it.
    pub pmf_ok: Option<bool>,
    /// The first fatal or discarding error, if any.
    pub error: Option<FourWayError>,
    /// Virtual time the handshakes took.
    pub virtual_time: Duration,
    /// 802.11 frames for a capture, if asked for.
    pub frames: Vec<CapturedFrame>,
    /// The KCK each side derived, once both installed the PTK: AKM 12
    /// names its PMKSA with it (§12.7.1.3).
    pub kcks: Option<Kcks>,
}

/// The KCKs of one four-way handshake, the AP's and the station's; secret:
/// zeroized, and `Debug` shows no key.
#[derive(Clone)]
pub struct Kcks {
    /// The authenticator's KCK.
    pub ap: zeroize::Zeroizing<Vec<u8>>,
    /// The supplicant's KCK.
    pub sta: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Kcks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kcks(..)")
    }
}

impl StationReport {
    /// Everything succeeded.
    pub fn success(&self) -> bool {
        self.pmk_match
            && self.ptk_installed
            && self.gtk_installed
            && self.group_rekey_ok
            && self.ccmp_ok
            && self.pmf_ok != Some(false)
    }
}

fn random_nonce<R: CryptoRng + ?Sized>(rng: &mut R) -> Nonce {
    let mut n = [0u8; 32];
    rng.fill_bytes(&mut n);
    n
}

fn random_gtk<R: CryptoRng + ?Sized>(rng: &mut R, len: usize) -> Gtk {
    let mut k = zeroize::Zeroizing::new(vec![0u8; len]);
    rng.fill_bytes(&mut k);
    Gtk::from_slice(&k)
}

/// Run the four-way handshake (and optionally the group key handshake),
/// then check CCMP both ways, for one AP/station pair in memory.
///
/// Randomness (ANonce, SNonce, GTKs) comes from `rng`; time is virtual,
/// starting at `now`.
pub fn run_handshakes<R: CryptoRng + ?Sized>(
    pmk_ap: &Pmk,
    pmk_sta: &Pmk,
    aa: MacAddr,
    spa: MacAddr,
    rng: &mut R,
    now: Instant,
    opts: &SimOptions,
) -> StationReport {
    // The AKM's ciphers (an AKM the simulator does not implement keeps
    // CCMP-128 and fails the handshake by name).
    let profile = KeyProfile::for_akm(opts.akm).ok();
    let (cipher, bip) = profile.map_or((DataCipher::Ccmp128, BipAlgorithm::Cmac128), |p| {
        (p.cipher, p.group_mgmt)
    });
    let mut rsne = match &profile {
        Some(p) => RsnElement::for_profile(p, opts.pmf != Pmf::Disabled),
        None => RsnElement::ccmp128(opts.akm),
    };
    rsne.capabilities = Some(opts.pmf.capabilities());
    let beacon_rsne = rsne.to_bytes().unwrap_or_default();
    let assoc_rsne = {
        let mut r = rsne.clone();
        r.pmkids = opts.sta_pmkids.clone();
        r.to_bytes().unwrap_or_default()
    };
    // FT: both RSNEs of the four-way handshake name the PMK-R1.
    let (ap_rsne, sta_rsne, ft_elements) = match &opts.ft {
        Some(ft) => {
            rsne.pmkids = vec![ft.pmk_r1_name];
            let named = rsne.to_bytes().unwrap_or_default();
            (named.clone(), named, [&ft.mde[..], &ft.fte[..]].concat())
        }
        None => (beacon_rsne.clone(), assoc_rsne.clone(), Vec::new()),
    };
    let auth_cfg = AuthenticatorConfig {
        aa,
        spa,
        pmk: pmk_ap.clone_secret(),
        rsne: ap_rsne.clone(),
        sta_rsne: sta_rsne.clone(),
        gtk: random_gtk(rng, cipher.key_len()),
        gtk_index: 1,
        igtk: (opts.pmf != Pmf::Disabled).then(|| {
            let mut k = vec![0u8; bip.key_len()];
            rng.fill_bytes(&mut k);
            Igtk {
                key: zeroize::Zeroizing::new(k),
                key_id: 4,
                ipn: 0,
            }
        }),
        ft_elements: ft_elements.clone(),
        retrans_timeout: opts.retrans_timeout,
        max_retries: opts.max_retries,
    };
    let supp_cfg = SupplicantConfig {
        aa,
        spa,
        pmk: pmk_sta.clone_secret(),
        rsne: sta_rsne.clone(),
        ap_rsne: ap_rsne.clone(),
        ft_elements: ft_elements.clone(),
        handshake_timeout: opts.retrans_timeout * (opts.max_retries + 2) * 2,
    };
    let auth = Authenticator::new(auth_cfg, now, random_nonce(rng));
    let supp = Supplicant::new(supp_cfg, now, random_nonce(rng));
    let mut pair = Pair::new(auth, supp, now);
    pair.drive();

    let completed = pair.auth.state() == AuthenticatorState::PtkInitDone
        && pair.supp.state() == SupplicantState::StaPtkDone;
    let mut group_rekey_ok = !opts.group_rekey;
    if completed && opts.group_rekey {
        let key_id = 2;
        if pair
            .auth
            .start_group_rekey(pair.now, random_gtk(rng, cipher.key_len()), key_id)
            .is_ok()
        {
            pair.drive();
            group_rekey_ok = pair.auth.group_state() == GroupKeyState::RekeyEstablished
                && pair.supp_events.contains(&Event::GtkInstalled { key_id });
        }
    }

    let ptk_installed = match (pair.auth.ptk(), pair.supp.ptk()) {
        (Some(a), Some(s)) => completed && a.ct_eq(s),
        _ => false,
    };
    let (ap_gtk, ap_gtk_id) = pair.auth.gtk();
    let gtk_installed = pair
        .supp
        .gtk()
        .is_some_and(|(id, k)| id == ap_gtk_id && k == ap_gtk.as_bytes());

    let mut frames = Vec::new();
    let mut seq = 0u16;
    let mut next_seq = || {
        seq = seq.wrapping_add(1);
        seq
    };
    if opts.capture {
        let mde = opts.ft.as_ref().map(|f| &f.mde[..]).unwrap_or_default();
        let (beacon_ies, assoc_ies) = if opts.ft.is_some() {
            // FT: the RSNE without PKMIDs, then the MDE.
            (
                [&beacon_rsne[..], mde].concat(),
                [&beacon_rsne[..], mde].concat(),
            )
        } else {
            (beacon_rsne.clone(), assoc_rsne.clone())
        };
        frames.push(CapturedFrame {
            at: Duration::ZERO,
            frame: frames::beacon(aa, &opts.ssid, &beacon_ies, 0, next_seq()),
        });
        frames.push(CapturedFrame {
            at: Duration::ZERO,
            frame: frames::association_request(aa, spa, &opts.ssid, &assoc_ies, next_seq()),
        });
        if let Some(ft) = &opts.ft {
            let ies = [&beacon_rsne[..], &ft.mde, &ft.fte].concat();
            frames.push(CapturedFrame {
                at: Duration::ZERO,
                frame: crate::ft::exchange::association_response(aa, spa, &ies, next_seq()),
            });
        }
        // IEEE 802.1X-2010 §11.3: the station's EAPOL-Start, then the EAP
        // packets the AP relayed, each in an EAPOL-EAP frame.
        let start = (!opts.eap.is_empty())
            .then(|| emit_eapol(PacketType::Start, &[]).ok())
            .flatten();
        let eapol =
            start
                .map(|f| (Direction::ToAp, f))
                .into_iter()
                .chain(opts.eap.iter().filter_map(|(dir, eap)| {
                    Some((*dir, emit_eapol(PacketType::EapPacket, eap).ok()?))
                }));
        for (dir, f) in eapol {
            let f = frames::data_frame(dir, aa, spa, next_seq(), frames::ETHERTYPE_EAPOL, &f);
            frames.push(CapturedFrame {
                at: Duration::ZERO,
                frame: f,
            });
        }
        for d in &pair.delivered {
            let f = frames::data_frame(
                d.dir,
                aa,
                spa,
                next_seq(),
                frames::ETHERTYPE_EAPOL,
                &d.eapol,
            );
            frames.push(CapturedFrame { at: d.at, frame: f });
        }
    }

    let mut ccmp_ok = false;
    if let (true, Some(ap_ptk), Some(sta_ptk)) = (ptk_installed, pair.auth.ptk(), pair.supp.ptk()) {
        let mut ap = CcmpSession::with_cipher(cipher, &ap_ptk.tk, 0);
        let mut sta = CcmpSession::with_cipher(cipher, &sta_ptk.tk, 0);
        let at = pair.elapsed();
        let up_text = format!("fourway-sim data {spa} -> {aa}");
        let down_text = format!("fourway-sim data {aa} -> {spa}");
        let up = frames::data_frame(
            Direction::ToAp,
            aa,
            spa,
            next_seq(),
            ETHERTYPE_EXPERIMENTAL,
            up_text.as_bytes(),
        );
        let down = frames::data_frame(
            Direction::FromAp,
            aa,
            spa,
            next_seq(),
            ETHERTYPE_EXPERIMENTAL,
            down_text.as_bytes(),
        );
        let group_text = format!("fourway-sim group data from {aa}");
        let group = frames::data_frame(
            Direction::FromAp,
            aa,
            MacAddr::BROADCAST,
            next_seq(),
            ETHERTYPE_EXPERIMENTAL,
            group_text.as_bytes(),
        );
        let mut ok = exchange(
            &up,
            &mut sta,
            &mut ap,
            opts.capture.then_some((&mut frames, at)),
        );
        ok &= exchange(
            &down,
            &mut ap,
            &mut sta,
            opts.capture.then_some((&mut frames, at)),
        );
        // A group-addressed frame under the GTK the station installed.
        match pair.supp.gtk() {
            Some((id, sta_gtk)) => {
                let mut tx = CcmpSession::with_cipher(cipher, ap_gtk.as_bytes(), ap_gtk_id);
                let mut rx = CcmpSession::with_cipher(cipher, sta_gtk, id);
                ok &= exchange(
                    &group,
                    &mut tx,
                    &mut rx,
                    opts.capture.then_some((&mut frames, at)),
                );
            }
            None => ok = false,
        }
        ccmp_ok = ok;
    }

    let pmf_ok = (ptk_installed && pair.auth.mfp()).then(|| {
        let at = pair.elapsed();
        deauth_checks(
            &mut pair,
            bip,
            aa,
            rng,
            next_seq(),
            opts.capture.then_some((&mut frames, at)),
        )
    });

    let error = pair
        .auth_events
        .iter()
        .chain(pair.supp_events.iter())
        .find_map(|e| match e {
            Event::Failed(e) => Some(e.clone()),
            _ => None,
        })
        .or_else(|| pair.auth_errors.first().cloned())
        .or_else(|| pair.supp_errors.first().cloned());

    let kcks = match (ptk_installed, pair.auth.ptk(), pair.supp.ptk()) {
        (true, Some(a), Some(s)) => Some(Kcks {
            ap: zeroize::Zeroizing::new(a.kck.to_vec()),
            sta: zeroize::Zeroizing::new(s.kck.to_vec()),
        }),
        _ => None,
    };
    StationReport {
        kcks,
        aa,
        spa,
        pmk_match: pmk_ap.ct_eq(pmk_sta),
        ptk_installed,
        gtk_installed,
        group_rekey_ok,
        ccmp_ok,
        pmf_ok,
        error,
        virtual_time: pair.elapsed(),
        frames,
    }
}

/// The AP deauthenticates all stations with a BIP-protected broadcast
/// Deauthentication (§12.5.4); the station accepts it only with the IGTK's
/// MIC and a fresh IPN: an unprotected copy, one forged under another key
/// and a replay of the genuine one are refused (in that order: the genuine
/// frame comes third).
fn deauth_checks<R: CryptoRng + ?Sized>(
    pair: &mut Pair,
    alg: BipAlgorithm,
    aa: MacAddr,
    rng: &mut R,
    seq: u16,
    capture: Option<(&mut Vec<CapturedFrame>, Duration)>,
) -> bool {
    use crate::bip::{BipError, BipReceiver, bip_protect_with};
    let Some(kde) = pair.supp.igtk() else {
        return false;
    };
    let mut station = BipReceiver::with_algorithm(alg, &kde.igtk, kde.key_id, kde.ipn);
    let (Some(ipn), Some(igtk)) = (pair.auth.next_ipn(), pair.auth.igtk()) else {
        return false;
    };
    let plain = frames::deauthentication(aa, MacAddr::BROADCAST, 3, seq);
    let mut other = vec![0u8; alg.key_len()];
    rng.fill_bytes(&mut other);
    let (Ok(genuine), Ok(forged)) = (
        bip_protect_with(alg, &igtk.key, igtk.key_id, ipn, &plain),
        bip_protect_with(alg, &other, igtk.key_id, ipn + 1, &plain),
    ) else {
        return false;
    };
    let ok = station.verify(&plain) == Err(BipError::Unprotected)
        && station.verify(&forged) == Err(BipError::BadMic)
        && station.verify(&genuine).is_ok()
        && station.verify(&genuine) == Err(BipError::Replay(ipn));
    if let Some((frames, at)) = capture {
        for frame in [plain, forged, genuine.clone(), genuine] {
            frames.push(CapturedFrame { at, frame });
        }
    }
    ok
}

/// Protect `plain` with `tx`, unprotect with `rx`, compare; keep the
/// protected frame for the capture.
pub(crate) fn exchange(
    plain: &[u8],
    tx: &mut CcmpSession,
    rx: &mut CcmpSession,
    capture: Option<(&mut Vec<CapturedFrame>, Duration)>,
) -> bool {
    let Ok(protected) = tx.protect(plain) else {
        return false;
    };
    let ok = rx.unprotect(&protected).is_ok_and(|d| d.frame == plain);
    if let Some((frames, at)) = capture {
        frames.push(CapturedFrame {
            at,
            frame: protected,
        });
    }
    ok
}
