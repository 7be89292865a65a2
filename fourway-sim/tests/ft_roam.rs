//! Fast BSS transition (AKM 3 and 13): FT initial mobility domain
//! association through AP1, then FT Authentication and Reassociation over
//! the air to AP2 with no EAP and no four-way handshake; the same PTK on
//! both sides and data through AP2 (IEEE 802.11-2020 §13.4, §13.5.1).

use std::time::{Duration, Instant};

use fourway_sim::eapol::Akm;
use fourway_sim::frames::MacAddr;
use fourway_sim::keys::Pmk;
use fourway_sim::roam::{RoamReport, run_ft_roam};
use fourway_sim::sim::{Pmf, SimOptions};

const AP1: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
const AP2: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);
const STA: MacAddr = MacAddr([0x02, 0, 0x5a, 0, 0, 1]);

fn msk() -> Vec<u8> {
    (0u8..64).map(|i| i.wrapping_mul(29) ^ 0x3c).collect()
}

fn roam(akm: Akm, msk_sta: &[u8]) -> RoamReport {
    let opts = SimOptions {
        akm,
        capture: true,
        ..SimOptions::default()
    };
    run_ft_roam(
        &Pmk::from_msk(&msk()).unwrap(),
        &Pmk::from_msk(msk_sta).unwrap(),
        AP1,
        AP2,
        STA,
        &mut rand::rng(),
        Instant::now(),
        &opts,
    )
    .unwrap()
}

#[test]
fn ft_roam_akm3_and_akm13() {
    for akm in [Akm::FtIeee8021x, Akm::FtIeee8021xSha384] {
        let r = roam(akm, &msk());
        assert!(r.success(), "{akm}: {r:?}");
        // AP2's beacon, the four FT frames, three data frames.
        assert_eq!(r.frames.len(), 8, "{akm}");
        let subtypes: Vec<u8> = r.frames[1..5].iter().map(|f| f.frame[0]).collect();
        assert_eq!(subtypes, [0xb0, 0xb0, 0x20, 0x30], "{akm}");
    }
}

#[test]
fn ft_roam_refuses_other_keys() {
    // The station's MSK differs in the half AKM 3 takes (XXKey =
    // MSK[32..64]): the initial association's message 2 fails its MIC.
    let mut other = msk();
    other[40] ^= 1;
    let r = roam(Akm::FtIeee8021x, &other);
    assert!(!r.initial.ptk_installed);
    assert!(!r.ft_ok);
    // Not an FT AKM.
    let pmk = Pmk::from_msk(&msk()).unwrap();
    let opts = SimOptions {
        akm: Akm::Ieee8021x,
        ..SimOptions::default()
    };
    let e = run_ft_roam(
        &pmk,
        &pmk,
        AP1,
        AP2,
        STA,
        &mut rand::rng(),
        Instant::now(),
        &opts,
    );
    assert!(e.is_err());
}

// FT with management frame protection: the initial association carries the
// IGTK KDE in message 3 (AP1's BIP-protected deauthentication accepted, the
// forged ones refused), the Reassociation Response's FTE the IGTK
// subelement of AP2, under which the station then accepts AP2's protected
// deauthentication and refuses an unprotected, a forged and a replayed one.
#[test]
fn ft_roam_with_pmf_hands_over_the_igtk() {
    for akm in [Akm::FtIeee8021x, Akm::FtIeee8021xSha384] {
        for pmf in [Pmf::Optional, Pmf::Required] {
            let opts = SimOptions {
                akm,
                pmf,
                capture: true,
                ..SimOptions::default()
            };
            let pmk = Pmk::from_msk(&msk()).unwrap();
            let r = run_ft_roam(
                &pmk,
                &pmk,
                AP1,
                AP2,
                STA,
                &mut rand::rng(),
                Instant::now(),
                &opts,
            )
            .unwrap();
            assert!(r.success(), "{akm} {pmf:?}: {r:?}");
            assert_eq!(r.initial.pmf_ok, Some(true), "{akm} {pmf:?}");
            assert_eq!(r.pmf_ok, Some(true), "{akm} {pmf:?}");
            // Beacon, four FT frames, three data frames, four deauths.
            assert_eq!(r.frames.len(), 12, "{akm} {pmf:?}");
            let deauths: Vec<&[u8]> = r.frames[8..].iter().map(|f| &f.frame[..]).collect();
            assert!(deauths.iter().all(|f| f[0] == 0xc0 && f[10..16] == AP2.0));
            // The Reassociation Response's FTE ends with the IGTK
            // subelement: ID 4, Key ID 4, IPN, Key Length, wrapped IGTK.
            let key_len = if akm == Akm::FtIeee8021x { 16 } else { 32 };
            let resp = &r.frames[4].frame;
            let sub = &resp[resp.len() - (2 + 2 + 6 + 1 + key_len + 8)..];
            assert_eq!(sub[..2], [4, (2 + 6 + 1 + key_len + 8) as u8], "{akm}");
            assert_eq!(sub[2..4], [4, 0], "{akm}");
            assert_eq!(usize::from(sub[10]), key_len, "{akm}");
        }
        // Positive control of the frame count: without PMF, no IGTK and
        // no deauthentications.
        let r = roam(akm, &msk());
        assert_eq!(r.pmf_ok, None);
        assert_eq!(r.frames.len(), 8);
    }
}

fn tshark_texts(path: &std::path::Path) -> Vec<String> {
    let key = format!("uat:80211_keys:\"msk\",\"{}\"", hex::encode(msk()));
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-o", "wlan.enable_decryption:TRUE", "-o", &key])
        .args(["-Y", "data", "-T", "fields", "-e", "data.data"])
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark is required for this test but could not be run ({e}); install the Debian package `tshark`")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| hex::decode(l.replace(':', "")).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .filter(|t| t.starts_with("fourway-sim"))
        .collect()
}

// tshark (Debian's 4.0) given only the MSK derives the FT key hierarchy
// itself from the captured elements (SSID, MDID, R0KH-ID, R1KH-IDs, nonces):
// an independent check of XXKey, PMK-R0, PMK-R1, the FT-PTK and the GTK
// subelement. For AKM 3 it decrypts every data frame, through AP1 and,
// after the roam, through AP2. For AKM 13 it decrypts the unicast GCMP-256
// frames of the initial association only: not the group-addressed ones,
// and nothing after the transition to AP2.
#[test]
fn tshark_decrypts_the_roam_with_the_msk() {
    let dir = std::env::temp_dir();
    for akm in [Akm::FtIeee8021x, Akm::FtIeee8021xSha384] {
        let r = roam(akm, &msk());
        let mut all = r.initial.clone();
        all.frames.extend(r.frames.iter().cloned());
        let path = dir.join(format!(
            "fourway-sim-ft-{}-{}.pcap",
            std::process::id(),
            akm.suite_type().unwrap()
        ));
        let f = std::fs::File::create(&path).unwrap();
        fourway_sim::pcap::write_capture(f, &[all], Duration::from_secs(1_700_000_000)).unwrap();
        let texts = tshark_texts(&path);
        let _ = std::fs::remove_file(&path);
        let mut want = vec![
            format!("fourway-sim data {STA} -> {AP1}"),
            format!("fourway-sim data {AP1} -> {STA}"),
        ];
        if akm == Akm::FtIeee8021x {
            want.extend([
                format!("fourway-sim group data from {AP1}"),
                format!("fourway-sim data {STA} -> {AP2} after FT"),
                format!("fourway-sim data {AP2} -> {STA} after FT"),
                format!("fourway-sim group data from {AP2} after FT"),
            ]);
        }
        assert_eq!(texts, want, "{akm}");
    }
}
