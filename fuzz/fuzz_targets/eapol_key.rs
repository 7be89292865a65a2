//! EAPOL-Key parsing and both four-way state machines fed arbitrary frames
//! must never panic.
#![no_main]

use std::time::{Duration, Instant};

use fourway_sim::eapol::{Akm, EapolKeyFrame, EapolKeyRepr, EapolPacket, RsnElement, key_data_elements};
use fourway_sim::fourway::{Authenticator, AuthenticatorConfig, Gtk, Supplicant, SupplicantConfig};
use fourway_sim::frames::MacAddr;
use fourway_sim::keys::Pmk;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = EapolPacket::new_checked(data).map(|p| p.body().len());
    if let Ok(frame) = EapolKeyFrame::new_checked(data) {
        let _ = frame.mic_input();
        if let Ok(repr) = EapolKeyRepr::parse(&frame) {
            let _ = repr.to_bytes();
        }
        for e in key_data_elements(frame.key_data()) {
            if e.is_err() {
                break;
            }
        }
    }
    let _ = RsnElement::parse(data);
    for e in key_data_elements(data) {
        if e.is_err() {
            break;
        }
    }

    let now = Instant::now();
    let aa = MacAddr([2, 0, 0, 0, 0, 1]);
    let spa = MacAddr([2, 0, 0, 0, 0, 2]);
    let rsne = RsnElement::ccmp128(Akm::Psk).to_bytes().unwrap_or_default();
    let mut supp = Supplicant::new(
        SupplicantConfig {
            aa,
            spa,
            pmk: Pmk::from_bytes([1; 32]),
            rsne: rsne.clone(),
            ap_rsne: rsne.clone(),
            ft_elements: Vec::new(),
            handshake_timeout: Duration::from_secs(1),
        },
        now,
        [2; 32],
    );
    let mut auth = Authenticator::new(
        AuthenticatorConfig {
            aa,
            spa,
            pmk: Pmk::from_bytes([1; 32]),
            rsne: rsne.clone(),
            sta_rsne: rsne,
            gtk: Gtk::from_bytes([3; 16]),
            gtk_index: 1,
            igtk: None,
            ft_elements: Vec::new(),
            retrans_timeout: Duration::from_millis(100),
            max_retries: 1,
        },
        now,
        [4; 32],
    );
    // A genuine message 1 first, so message 3 paths are reachable too.
    if let Some(msg1) = auth.poll_transmit() {
        let _ = supp.handle(now, &msg1);
    }
    let _ = supp.handle(now, data);
    let _ = auth.handle(now, data);
    // Run both ways through the rest of the handshake.
    while let Some(f) = supp.poll_transmit() {
        let _ = auth.handle(now, &f);
    }
    while let Some(f) = auth.poll_transmit() {
        let _ = supp.handle(now, &f);
        let _ = supp.handle(now, data);
    }
    auth.handle_timeout(now + Duration::from_secs(1));
    supp.handle_timeout(now + Duration::from_secs(2));
    while supp.poll_event().is_some() || auth.poll_event().is_some() {}
});
