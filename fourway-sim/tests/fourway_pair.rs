//! The four-way and group key handshakes between the authenticator and the
//! supplicant, in memory on a virtual clock, with frames dropped, replayed
//! or tampered with (IEEE 802.11-2020 §12.7.6, §12.7.7).

use std::time::{Duration, Instant};

use fourway_sim::eapol::{Akm, RsnElement};
use fourway_sim::fourway::{
    Authenticator, AuthenticatorConfig, AuthenticatorState, Event, FourWayError, GroupKeyState,
    Gtk, Igtk, Supplicant, SupplicantConfig, SupplicantState,
};
use fourway_sim::frames::{Direction, MacAddr};
use fourway_sim::keys::{Pmk, psk_from_passphrase};
use fourway_sim::sim::Pair;

const AA: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
const SPA: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);
const RETRANS: Duration = Duration::from_millis(100);

fn psk() -> Pmk {
    psk_from_passphrase("correct horse battery", b"fourway").unwrap()
}

fn rsne(akm: Akm) -> Vec<u8> {
    RsnElement::ccmp128(akm).to_bytes().unwrap()
}

struct Setup {
    ap_pmk: Pmk,
    sta_pmk: Pmk,
    /// RSNE the AP puts in message 3.
    ap_rsne_sent: Vec<u8>,
    /// RSNE the station saw in the beacon.
    ap_rsne_beacon: Vec<u8>,
    /// RSNE the station sends in message 2.
    sta_rsne_sent: Vec<u8>,
    /// RSNE the AP saw in the association request.
    sta_rsne_assoc: Vec<u8>,
    max_retries: u32,
    /// The AP has an IGTK (key ID 4, 0x49 octets).
    igtk: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            ap_pmk: psk(),
            sta_pmk: psk(),
            ap_rsne_sent: rsne(Akm::Psk),
            ap_rsne_beacon: rsne(Akm::Psk),
            sta_rsne_sent: rsne(Akm::Psk),
            sta_rsne_assoc: rsne(Akm::Psk),
            max_retries: 3,
            igtk: false,
        }
    }
}

fn pair(s: Setup) -> Pair {
    let now = Instant::now();
    let auth = Authenticator::new(
        AuthenticatorConfig {
            aa: AA,
            spa: SPA,
            pmk: s.ap_pmk,
            rsne: s.ap_rsne_sent,
            sta_rsne: s.sta_rsne_assoc,
            gtk: Gtk::from_bytes([0x47; 16]),
            gtk_index: 1,
            igtk: s.igtk.then(|| Igtk {
                key: zeroize::Zeroizing::new(vec![0x49; 16]),
                key_id: 4,
                ipn: 7,
            }),
            ft_elements: Vec::new(),
            retrans_timeout: RETRANS,
            max_retries: s.max_retries,
        },
        now,
        [0xa1; 32],
    );
    let supp = Supplicant::new(
        SupplicantConfig {
            aa: AA,
            spa: SPA,
            pmk: s.sta_pmk,
            rsne: s.sta_rsne_sent,
            ap_rsne: s.ap_rsne_beacon,
            ft_elements: Vec::new(),
            handshake_timeout: Duration::from_secs(2),
        },
        now,
        [0x5e; 32],
    );
    Pair::new(auth, supp, now)
}

fn assert_success(p: &Pair) {
    assert_eq!(p.auth.state(), AuthenticatorState::PtkInitDone);
    assert_eq!(p.supp.state(), SupplicantState::StaPtkDone);
    assert!(p.auth.ptk().unwrap().ct_eq(p.supp.ptk().unwrap()));
    assert_eq!(p.supp.gtk(), Some((1, &[0x47u8; 16][..])));
    assert_eq!(
        p.supp_events,
        vec![
            Event::PtkInstalled,
            Event::GtkInstalled { key_id: 1 },
            Event::Completed
        ]
    );
    assert_eq!(
        p.auth_events,
        vec![
            Event::PtkInstalled,
            Event::GtkInstalled { key_id: 1 },
            Event::Completed
        ]
    );
}

#[test]
fn handshake_succeeds() {
    let mut p = pair(Setup::default());
    p.drive();
    assert_success(&p);
    assert!(p.auth_errors.is_empty() && p.supp_errors.is_empty());
    assert_eq!(p.delivered.len(), 4);
    assert_eq!(p.elapsed(), Duration::ZERO, "no timer should have fired");
    assert_eq!(p.auth.poll_timeout(), None);
    assert_eq!(p.supp.poll_timeout(), None);
    // Message shapes on the wire (Key Information, §12.7.6.2-5).
    let ki = |i: usize| u16::from_be_bytes([p.delivered[i].eapol[5], p.delivered[i].eapol[6]]);
    assert_eq!(
        [ki(0), ki(1), ki(2), ki(3)],
        [0x008a, 0x010a, 0x13ca, 0x030a]
    );
}

#[test]
fn tampered_mic_in_message2_is_bad_mic() {
    let mut p = pair(Setup {
        max_retries: 0,
        ..Setup::default()
    });
    p.set_filter(Box::new(|dir, i, f| {
        if dir == Direction::ToAp && i == 0 {
            f[90] ^= 0x80; // inside the Key MIC field
        }
        true
    }));
    p.drive();
    assert_eq!(p.auth_errors, vec![FourWayError::BadMic]);
    assert_eq!(p.auth.state(), AuthenticatorState::Failed);
    assert!(
        p.auth_events
            .contains(&Event::Failed(FourWayError::Timeout))
    );
}

#[test]
fn tampered_message3_is_bad_mic_then_retransmission_succeeds() {
    let mut p = pair(Setup::default());
    p.set_filter(Box::new(|dir, i, f| {
        if dir == Direction::FromAp && i == 1 {
            let last = f.len() - 1;
            f[last] ^= 1; // in the wrapped key data, covered by the MIC
        }
        true
    }));
    p.drive();
    assert_eq!(p.supp_errors, vec![FourWayError::BadMic]);
    assert_success(&p);
    assert_eq!(p.elapsed(), RETRANS);
}

#[test]
fn replayed_frames_are_rejected() {
    let mut p = pair(Setup::default());
    p.drive();
    assert_success(&p);
    let msg1 = p.delivered[0].eapol.clone();
    let msg2 = p.delivered[1].eapol.clone();
    let msg3 = p.delivered[2].eapol.clone();
    let msg4 = p.delivered[3].eapol.clone();
    let now = p.now;
    assert_eq!(p.supp.handle(now, &msg3), Err(FourWayError::ReplayedFrame));
    assert_eq!(p.supp.handle(now, &msg1), Err(FourWayError::ReplayedFrame));
    assert_eq!(
        p.auth.handle(now, &msg4),
        Err(FourWayError::UnexpectedMessage)
    );
    assert_eq!(
        p.auth.handle(now, &msg2),
        Err(FourWayError::UnexpectedMessage)
    );
    // Nothing was sent in answer and nothing was installed again.
    assert_eq!(p.supp.poll_transmit(), None);
    assert_eq!(p.supp.poll_event(), None);
}

#[test]
fn stale_message2_counter_is_replayed_frame() {
    // Message 2 is held back until message 1 was retransmitted; the AP then
    // takes only a reply carrying the counter it last sent.
    let mut p = pair(Setup::default());
    let held = std::rc::Rc::new(std::cell::RefCell::new(None));
    let h2 = held.clone();
    p.set_filter(Box::new(move |dir, i, f| {
        if dir == Direction::ToAp && i == 0 {
            *h2.borrow_mut() = Some(f.clone());
            return false;
        }
        true
    }));
    p.step(); // message 1 delivered, message 2 held
    p.now += RETRANS;
    p.auth.handle_timeout(p.now); // message 1 again, replay counter 2
    let stale = held.borrow().clone().unwrap();
    let now = p.now;
    assert_eq!(p.auth.handle(now, &stale), Err(FourWayError::ReplayedFrame));
    assert_eq!(p.auth.state(), AuthenticatorState::PtkStart);
    p.drive();
    assert_success(&p);
}

#[test]
fn wrong_pmk_fails_with_bad_mic_at_authenticator() {
    let mut p = pair(Setup {
        sta_pmk: Pmk::from_bytes([9; 32]),
        ..Setup::default()
    });
    p.drive();
    // One bad message 2 per message 1: the original and three retransmissions.
    assert_eq!(p.auth_errors, vec![FourWayError::BadMic; 4]);
    assert_eq!(p.auth.state(), AuthenticatorState::Failed);
    assert_eq!(p.auth_events, vec![Event::Failed(FourWayError::Timeout)]);
    assert_eq!(p.supp.state(), SupplicantState::Failed);
    assert_eq!(p.supp_events, vec![Event::Failed(FourWayError::Timeout)]);
    assert_eq!(p.auth.ptk().map(|_| ()), None);
}

#[test]
fn station_rsne_mismatch_in_message2() {
    // Message 2 carries an RSN element other than the association
    // request's (other RSN Capabilities): the AP aborts.
    let mut other = RsnElement::ccmp128(Akm::Psk);
    other.capabilities = Some(0x000c);
    let mut p = pair(Setup {
        sta_rsne_sent: other.to_bytes().unwrap(),
        ..Setup::default()
    });
    p.drive();
    assert_eq!(p.auth_errors, vec![FourWayError::RsneMismatch]);
    assert_eq!(p.auth.state(), AuthenticatorState::Failed);
    assert_eq!(
        p.auth_events,
        vec![Event::Failed(FourWayError::RsneMismatch)]
    );
}

#[test]
fn ap_rsne_mismatch_in_message3() {
    // The beacon the station saw differs from message 3 (a downgraded beacon
    // or a forged AP): the station aborts.
    let mut beacon = RsnElement::ccmp128(Akm::Psk);
    beacon
        .pairwise_ciphers
        .insert(0, fourway_sim::eapol::CipherSuite::Tkip);
    let mut p = pair(Setup {
        ap_rsne_beacon: beacon.to_bytes().unwrap(),
        ..Setup::default()
    });
    p.drive();
    assert_eq!(p.supp_errors[0], FourWayError::RsneMismatch);
    // The AP's retransmissions of message 3 meet a supplicant that gave up.
    assert!(
        p.supp_errors[1..]
            .iter()
            .all(|e| *e == FourWayError::AlreadyFailed)
    );
    assert_eq!(p.supp.state(), SupplicantState::Failed);
    assert_eq!(p.auth_events, vec![Event::Failed(FourWayError::Timeout)]);
    assert_eq!(
        p.supp_events,
        vec![Event::Failed(FourWayError::RsneMismatch)]
    );
    assert_eq!(p.supp.ptk().map(|_| ()), None);
}

#[test]
fn lost_message3_is_retransmitted() {
    let mut p = pair(Setup::default());
    p.set_filter(Box::new(|dir, i, _| !(dir == Direction::FromAp && i == 1)));
    p.drive();
    assert_success(&p);
    assert_eq!(p.elapsed(), RETRANS);
    // The retransmitted message 3 has the next replay counter.
    let counter = |f: &[u8]| u64::from_be_bytes(f[9..17].try_into().unwrap());
    let msg3 = &p.delivered[2].eapol;
    assert_eq!(counter(msg3), 3);
}

#[test]
fn lost_message4_gets_answered_without_reinstall() {
    let mut p = pair(Setup::default());
    p.set_filter(Box::new(|dir, i, _| !(dir == Direction::ToAp && i == 1)));
    p.drive();
    assert_success(&p);
    // The supplicant answered message 3 twice, but installed keys once.
    assert_eq!(
        p.supp_events
            .iter()
            .filter(|e| **e == Event::PtkInstalled)
            .count(),
        1
    );
    assert_eq!(
        p.delivered
            .iter()
            .filter(|d| d.dir == Direction::ToAp)
            .count(),
        2
    );
}

#[test]
fn retransmission_limit_then_timeout() {
    let mut p = pair(Setup {
        max_retries: 2,
        ..Setup::default()
    });
    p.set_filter(Box::new(|dir, _, _| dir != Direction::FromAp));
    p.drive();
    assert_eq!(p.auth.state(), AuthenticatorState::Failed);
    assert_eq!(p.auth_events, vec![Event::Failed(FourWayError::Timeout)]);
    assert_eq!(p.elapsed(), Duration::from_secs(2)); // the supplicant's deadline
}

#[test]
fn group_key_rekey() {
    let mut p = pair(Setup::default());
    p.drive();
    assert_success(&p);
    let now = p.now;
    p.auth
        .start_group_rekey(now, Gtk::from_bytes([0x99; 16]), 2)
        .unwrap();
    assert_eq!(p.auth.group_state(), GroupKeyState::RekeyNegotiating);
    assert_eq!(
        p.auth
            .start_group_rekey(now, Gtk::from_bytes([0x98; 16]), 3),
        Err(FourWayError::NotReady)
    );
    p.drive();
    assert_eq!(p.auth.group_state(), GroupKeyState::RekeyEstablished);
    assert_eq!(p.supp.gtk(), Some((2, &[0x99u8; 16][..])));
    assert_eq!(p.auth.gtk().1, 2);
    assert_eq!(
        p.supp_events.last(),
        Some(&Event::GtkInstalled { key_id: 2 })
    );
    assert_eq!(
        p.auth_events.last(),
        Some(&Event::GtkInstalled { key_id: 2 })
    );
    // Group message 1 and 2 shapes: group key type, Secure, MIC.
    let g1 = &p.delivered[4].eapol;
    let g2 = &p.delivered[5].eapol;
    assert_eq!(u16::from_be_bytes([g1[5], g1[6]]), 0x1382);
    assert_eq!(u16::from_be_bytes([g2[5], g2[6]]), 0x0302);
    // Replay of group message 1.
    assert_eq!(
        p.supp.handle(now, &g1.clone()),
        Err(FourWayError::ReplayedFrame)
    );
}

#[test]
fn group_rekey_with_lost_message_is_retransmitted() {
    let mut p = pair(Setup::default());
    p.drive();
    let now = p.now;
    p.set_filter(Box::new(|dir, i, _| !(dir == Direction::FromAp && i == 2)));
    p.auth
        .start_group_rekey(now, Gtk::from_bytes([0x77; 16]), 3)
        .unwrap();
    p.drive();
    assert_eq!(p.auth.group_state(), GroupKeyState::RekeyEstablished);
    assert_eq!(p.supp.gtk(), Some((3, &[0x77u8; 16][..])));
    assert_eq!(p.elapsed(), RETRANS);
}

#[test]
fn group_rekey_before_handshake_is_refused() {
    let mut p = pair(Setup::default());
    let now = p.now;
    assert_eq!(
        p.auth.start_group_rekey(now, Gtk::from_bytes([1; 16]), 2),
        Err(FourWayError::NotReady)
    );
}

#[test]
fn run_handshakes_reports_success_and_pmk_mismatch() {
    use fourway_sim::sim::{SimOptions, run_handshakes};
    let mut rng = rand::rng();
    let opts = SimOptions {
        capture: true,
        ..SimOptions::default()
    };
    let r = run_handshakes(&psk(), &psk(), AA, SPA, &mut rng, Instant::now(), &opts);
    assert!(r.success(), "{r:?}");
    // beacon, association request, 4 EAPOL, 2 group EAPOL, 3 CCMP frames
    assert_eq!(r.frames.len(), 11);
    let r = run_handshakes(
        &psk(),
        &Pmk::from_bytes([1; 32]),
        AA,
        SPA,
        &mut rng,
        Instant::now(),
        &opts,
    );
    assert!(!r.success());
    assert!(!r.pmk_match && !r.ptk_installed && !r.ccmp_ok);
    assert_eq!(r.error, Some(FourWayError::Timeout));
}

fn all_rsne(akm: Akm) -> Setup {
    Setup {
        ap_rsne_sent: rsne(akm),
        ap_rsne_beacon: rsne(akm),
        sta_rsne_sent: rsne(akm),
        sta_rsne_assoc: rsne(akm),
        ..Setup::default()
    }
}

// AKM 5 (802.1X with SHA-256): every EAPOL-Key frame carries Key
// Descriptor Version 3 (AES-128-CMAC MIC, §12.7.2 b) 1)), the PTK comes
// from KDF-SHA-256 and differs from the SHA-1 PTK of the same inputs.
#[test]
fn akm5_handshake_uses_descriptor_version3() {
    let mut p = pair(all_rsne(Akm::Ieee8021xSha256));
    p.drive();
    assert_success(&p);
    let ki = |i: usize| u16::from_be_bytes([p.delivered[i].eapol[5], p.delivered[i].eapol[6]]);
    assert_eq!(
        [ki(0), ki(1), ki(2), ki(3)],
        [0x008b, 0x010b, 0x13cb, 0x030b]
    );
    let mut sha1 = pair(Setup::default());
    sha1.drive();
    assert!(!p.supp.ptk().unwrap().ct_eq(sha1.supp.ptk().unwrap()));
}

// A version-2 (HMAC-SHA-1) message 2 under AKM 5 is discarded without its
// MIC being checked under the other algorithm; the retransmitted message 1
// gets a genuine message 2 and the handshake completes.
#[test]
fn akm5_refuses_descriptor_version2_frames() {
    let mut p = pair(all_rsne(Akm::Ieee8021xSha256));
    p.set_filter(Box::new(|dir, i, f| {
        if dir == Direction::ToAp && i == 0 {
            f[6] = (f[6] & !0x07) | 0x02;
        }
        true
    }));
    p.drive();
    assert_eq!(p.auth_errors, vec![FourWayError::UnsupportedVersion]);
    assert_eq!(p.auth.state(), AuthenticatorState::PtkInitDone);
    assert_eq!(p.elapsed(), RETRANS);
}

// The AKMs the simulator does not implement are refused by name before any
// frame is sent, on both sides.
#[test]
fn unimplemented_akms_fail_at_once() {
    for akm in [Akm::FtPsk, Akm::Sae] {
        let mut p = pair(all_rsne(akm));
        p.drive();
        assert!(p.delivered.is_empty(), "{akm}");
        assert_eq!(
            p.auth_events,
            vec![Event::Failed(FourWayError::UnsupportedAkm(akm))]
        );
        assert_eq!(
            p.supp_events,
            vec![Event::Failed(FourWayError::UnsupportedAkm(akm))]
        );
    }
    // A station selecting an AKM the AP does not offer.
    let mut p = pair(Setup {
        sta_rsne_sent: rsne(Akm::Ieee8021xSha256),
        sta_rsne_assoc: rsne(Akm::Ieee8021xSha256),
        ..Setup::default()
    });
    p.drive();
    assert_eq!(
        p.auth_events,
        vec![Event::Failed(FourWayError::AkmNotOffered)]
    );
}

fn rsne_caps(akm: Akm, caps: u16) -> Vec<u8> {
    let mut r = RsnElement::ccmp128(akm);
    r.capabilities = Some(caps);
    r.to_bytes().unwrap()
}

const MFPC: u16 = fourway_sim::eapol::RSN_CAP_MFPC;
const MFPR: u16 = fourway_sim::eapol::RSN_CAP_MFPR;

fn pmf_setup(ap_caps: u16, sta_caps: u16) -> Setup {
    Setup {
        ap_rsne_sent: rsne_caps(Akm::Psk, ap_caps),
        ap_rsne_beacon: rsne_caps(Akm::Psk, ap_caps),
        sta_rsne_sent: rsne_caps(Akm::Psk, sta_caps),
        sta_rsne_assoc: rsne_caps(Akm::Psk, sta_caps),
        igtk: true,
        ..Setup::default()
    }
}

// 802.11w: with MFPC on both sides message 3 carries the IGTK KDE
// (§12.7.6.4) and so does group message 1 (§12.7.7.2); the station
// installs the IGTK with its key ID and IPN.
#[test]
fn pmf_delivers_igtk_in_message3_and_group_handshake() {
    for (ap, sta) in [(MFPC, MFPC), (MFPC | MFPR, MFPC), (MFPC, MFPC | MFPR)] {
        let mut p = pair(pmf_setup(ap, sta));
        p.drive();
        assert_success(&p);
        assert!(p.auth.mfp() && p.supp.mfp());
        let igtk = p.supp.igtk().expect("IGTK installed");
        assert_eq!((igtk.key_id, igtk.ipn), (4, [7, 0, 0, 0, 0, 0]));
        assert_eq!(&igtk.igtk[..], &[0x49; 16]);
        let now = p.now;
        p.auth
            .start_group_rekey(now, Gtk::from_bytes([2; 16]), 2)
            .unwrap();
        p.drive();
        assert_eq!(p.auth.group_state(), GroupKeyState::RekeyEstablished);
        assert!(p.supp.igtk().is_some());
    }
    // Without MFPC on one side: no IGTK, no protection.
    let mut p = pair(pmf_setup(MFPC, 0));
    p.drive();
    assert_success(&p);
    assert!(!p.auth.mfp() && !p.supp.mfp() && p.supp.igtk().is_none());
}

// §12.6.3: a side that requires protection refuses a peer that is not
// capable of it; MFPR without MFPC is invalid. Nothing is sent.
#[test]
fn pmf_policy_mismatches_refused() {
    for (ap, sta) in [
        (MFPC | MFPR, 0),
        (0, MFPC | MFPR),
        (MFPR, MFPR),
        (MFPC, MFPR),
    ] {
        let mut p = pair(pmf_setup(ap, sta));
        p.drive();
        assert!(p.delivered.is_empty(), "{ap:#x} {sta:#x}");
        assert_eq!(p.auth_events, vec![Event::Failed(FourWayError::MfpPolicy)]);
    }
    // Negotiated, but the AP has no IGTK to give.
    let mut p = pair(Setup {
        igtk: false,
        ..pmf_setup(MFPC, MFPC)
    });
    p.drive();
    assert_eq!(p.auth_events, vec![Event::Failed(FourWayError::NoIgtk)]);
}

// A downgrade: the beacon the station saw had MFPC stripped, so the station
// would go without protection; message 3 carries the AP's real RSNE and
// the station aborts (§12.7.6.4).
#[test]
fn pmf_downgrade_in_beacon_detected_by_message3() {
    let mut p = pair(Setup {
        ap_rsne_beacon: rsne_caps(Akm::Psk, 0),
        sta_rsne_sent: rsne_caps(Akm::Psk, MFPC),
        sta_rsne_assoc: rsne_caps(Akm::Psk, MFPC),
        ..pmf_setup(MFPC, MFPC)
    });
    p.drive();
    assert!(p.supp_errors.contains(&FourWayError::RsneMismatch));
    assert_eq!(p.supp.state(), SupplicantState::Failed);
    assert!(p.supp.igtk().is_none());
}
