//! Fast BSS transition: the FTE parser, the GTK and IGTK subelement
//! unwrapping, and both sides of the FT protocol fed arbitrary frames at
//! each step (after genuine frames up to that step) must never panic.
#![no_main]

use fourway_sim::akm::KeyProfile;
use fourway_sim::eapol::{Akm, RSN_CAP_MFPC, RsnElement};
use fourway_sim::frames::MacAddr;
use fourway_sim::ft::elements::{FtIgtk, Fte, unwrap_gtk, unwrap_igtk};
use fourway_sim::ft::exchange::{FtStation, FtTargetAp, gtk};
use fourway_sim::ft::{FtHash, MobilityDomain, PmkR0, pmk_r0};

const AP1: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const AP2: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const STA: MacAddr = MacAddr([2, 0, 0x5a, 0, 0, 1]);
const R0KH: &[u8] = b"ap1.fuzz";

fn md() -> MobilityDomain {
    MobilityDomain {
        ssid: b"fuzz".to_vec(),
        mdid: [0x5a, 0x01],
    }
}

fn r0(hash: FtHash) -> Option<PmkR0> {
    pmk_r0(hash, &vec![0x11; hash.q_len()], &md(), R0KH, &STA.0).ok()
}

/// A station and AP2 of `akm` with management frame protection.
fn pair(akm: Akm) -> Option<(FtStation, FtTargetAp)> {
    let profile = KeyProfile::for_akm(akm).ok()?;
    let hash = FtHash::for_akm(akm)?;
    let mut rsne = RsnElement::for_profile(&profile, true);
    rsne.capabilities = Some(RSN_CAP_MFPC);
    let sta = FtStation::new(
        profile,
        STA,
        AP1,
        AP2,
        &md(),
        R0KH.to_vec(),
        r0(hash)?,
        rsne.clone(),
        [7; 32],
    );
    let ap = FtTargetAp::new(profile, AP2, AP2.0, md().mdid, rsne, [9; 32]).with_igtk(FtIgtk {
        key_id: 4,
        ipn: [1, 0, 0, 0, 0, 0],
        key: vec![0x5e; profile.group_mgmt.key_len()].into(),
    });
    Some((sta, ap))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for mic_len in [16, 24] {
        if let Ok(fte) = Fte::parse(data, mic_len) {
            let _ = fte.to_bytes();
        }
    }
    for kek_len in [16, 32] {
        let kek = vec![0x42; kek_len];
        let _ = unwrap_gtk(&kek, data);
        let _ = unwrap_igtk(&kek, data, 16);
        let _ = unwrap_igtk(&kek, data, 32);
    }
    for akm in [Akm::FtIeee8021x, Akm::FtIeee8021xSha384] {
        let Some(hash) = FtHash::for_akm(akm) else {
            continue;
        };
        let give = |_: &[u8], _: &[u8; 16], s: MacAddr| r0(hash).map(|k| k.pmk_r1(&AP2.0, &s.0));
        let g = gtk(
            1,
            &[0x3c; 32][..KeyProfile::for_akm(akm).map_or(16, |p| p.cipher.key_len())],
        );
        // Step 1: AP2 given an arbitrary Authentication request.
        if let Some((_, mut ap)) = pair(akm) {
            let _ = ap.handle_authentication(data, give);
            let _ = ap.handle_reassociation(data, &g);
        }
        // Step 2: the station given an arbitrary Authentication response.
        if let Some((mut sta, _)) = pair(akm) {
            let _ = sta.authentication();
            let _ = sta.handle_authentication(data);
            let _ = sta.handle_reassociation(data);
        }
        // Steps 3 and 4: genuine frames up to the Reassociation Request,
        // then arbitrary ones at AP2 and at the station.
        if let Some((mut sta, mut ap)) = pair(akm) {
            let Ok(req) = sta.authentication() else {
                continue;
            };
            let Ok(resp) = ap.handle_authentication(&req, give) else {
                continue;
            };
            let Ok(_reassoc) = sta.handle_authentication(&resp) else {
                continue;
            };
            let _ = ap.handle_reassociation(data, &g);
            let _ = sta.handle_reassociation(data);
        }
    }
});
