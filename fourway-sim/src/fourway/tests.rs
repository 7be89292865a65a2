use super::*;
use std::time::{Duration, Instant};

use crate::frames::MacAddr;
use crate::keys::psk_from_passphrase;
use crate::keys::{Nonce, eapol_mic};
use crate::testvectors::*;

fn induction_supplicant(ap_rsne: &str) -> Supplicant {
    let cfg = SupplicantConfig {
        aa: MacAddr(INDUCTION_AA),
        spa: MacAddr(INDUCTION_SPA),
        pmk: psk_from_passphrase(INDUCTION_PASSPHRASE, INDUCTION_SSID).unwrap(),
        rsne: h(INDUCTION_STA_RSNE),
        ap_rsne: h(ap_rsne),
        ft_elements: Vec::new(),
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
