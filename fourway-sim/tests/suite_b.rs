//! AKM 12, IEEE 802.1X Suite B 192-bit (WPA3-Enterprise 192-bit): the
//! four-way and group key handshakes with the 384-bit PMK, KDF-SHA-384,
//! the 24-octet HMAC-SHA-384 MIC and AES-256 key wrap, then GCMP-256 data
//! and a BIP-GMAC-256 deauthentication (IEEE 802.11-2020 §12.7.1.3,
//! §12.7.2, §12.5.5, §12.5.4).

use std::time::{Duration, Instant};

use fourway_sim::akm::KeyProfile;
use fourway_sim::eapol::{Akm, EapolKeyFrame, KeyDescriptorVersion, RsnElement};
use fourway_sim::fourway::{
    Authenticator, AuthenticatorConfig, Event, FourWayError, Gtk, Supplicant, SupplicantConfig,
};
use fourway_sim::frames::MacAddr;
use fourway_sim::keys::Pmk;
use fourway_sim::sim::{Pair, Pmf, SimOptions, run_handshakes};

const AA: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
const SPA: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);

fn msk() -> Vec<u8> {
    (0u8..64).map(|i| i.wrapping_mul(37) ^ 0x5a).collect()
}

fn opts(pmf: Pmf) -> SimOptions {
    SimOptions {
        akm: Akm::Ieee8021xSuiteB192,
        pmf,
        capture: true,
        ..SimOptions::default()
    }
}

#[test]
fn akm12_handshakes_gcmp256_and_bip_gmac256() {
    let pmk = Pmk::from_msk(&msk()).unwrap();
    let mut rng = rand::rng();
    for pmf in [Pmf::Disabled, Pmf::Optional, Pmf::Required] {
        let r = run_handshakes(&pmk, &pmk, AA, SPA, &mut rng, Instant::now(), &opts(pmf));
        assert!(r.success(), "{pmf:?}: {r:?}");
        assert_eq!(r.pmf_ok, (pmf != Pmf::Disabled).then_some(true));
        // Every EAPOL-Key frame of the capture has descriptor version 0,
        // a 24-octet MIC field and (messages 1 and 3) Key Length 32.
        let keys: Vec<_> = r
            .frames
            .iter()
            .filter_map(|f| {
                let llc = f.frame.get(24..32)?;
                (llc[6..] == [0x88, 0x8e] && f.frame.get(33) == Some(&3))
                    .then(|| f.frame[32..].to_vec())
            })
            .collect();
        assert_eq!(keys.len(), 6, "4 pairwise + 2 group messages");
        for k in &keys {
            let view = EapolKeyFrame::new_checked_mic(&k[..], 24).unwrap();
            assert_eq!(
                view.key_information().version(),
                KeyDescriptorVersion::AkmDefined
            );
            assert_eq!(view.mic().len(), 24);
        }
        let m1 = EapolKeyFrame::new_checked_mic(&keys[0][..], 24).unwrap();
        assert_eq!(m1.key_length(), 32);
    }
}

fn rsne(pmf: Pmf) -> Vec<u8> {
    let p = KeyProfile::for_akm(Akm::Ieee8021xSuiteB192).unwrap();
    let mut r = RsnElement::for_profile(&p, pmf != Pmf::Disabled);
    r.capabilities = Some(pmf.capabilities());
    r.to_bytes().unwrap()
}

fn pair(ap_pmk: Pmk, sta_pmk: Pmk, ap_rsne: Vec<u8>, sta_rsne: Vec<u8>) -> Pair {
    let now = Instant::now();
    let auth = Authenticator::new(
        AuthenticatorConfig {
            aa: AA,
            spa: SPA,
            pmk: ap_pmk,
            rsne: ap_rsne.clone(),
            sta_rsne: sta_rsne.clone(),
            gtk: Gtk::from_slice(&[0x33; 32]),
            igtk: None,
            gtk_index: 1,
            ft_elements: Vec::new(),
            retrans_timeout: Duration::from_millis(100),
            max_retries: 2,
        },
        now,
        [0xa1; 32],
    );
    let supp = Supplicant::new(
        SupplicantConfig {
            aa: AA,
            spa: SPA,
            pmk: sta_pmk,
            rsne: sta_rsne,
            ap_rsne,
            ft_elements: Vec::new(),
            handshake_timeout: Duration::from_secs(2),
        },
        now,
        [0x5b; 32],
    );
    Pair::new(auth, supp, now)
}

#[test]
fn akm12_refuses_short_pmk_other_ciphers_and_bad_mic() {
    let full = || Pmk::from_msk(&msk()).unwrap();
    // The AP had only MS-MPPE-Recv-Key: a 256-bit PMK is refused by name.
    let short = Pmk::from_slice(&msk()[..32]).unwrap();
    let mut p = pair(short, full(), rsne(Pmf::Disabled), rsne(Pmf::Disabled));
    p.drive();
    assert_eq!(
        p.auth_events,
        vec![Event::Failed(FourWayError::PmkTooShort(32))]
    );
    // AKM 12 with CCMP-128 in the elements is no AKM 12 handshake.
    let ccmp = RsnElement::ccmp128(Akm::Ieee8021xSuiteB192)
        .to_bytes()
        .unwrap();
    let mut p = pair(full(), full(), ccmp.clone(), ccmp);
    p.drive();
    assert!(p.delivered.is_empty());
    assert_eq!(
        p.supp_events,
        vec![Event::Failed(FourWayError::CipherMismatch)]
    );
    // Different MSK halves (the second half differs): message 2's MIC
    // fails at the AP, which retransmits message 1 and finally gives up.
    let mut other = msk();
    other[40] ^= 1;
    let mut p = pair(
        full(),
        Pmk::from_msk(&other).unwrap(),
        rsne(Pmf::Disabled),
        rsne(Pmf::Disabled),
    );
    p.drive();
    assert!(p.auth_errors.iter().all(|e| *e == FourWayError::BadMic));
    assert!(!p.auth_errors.is_empty());
    assert!(
        p.auth_events
            .contains(&Event::Failed(FourWayError::Timeout))
    );
    // The same pair with equal PMKs completes with a 24/32/32 PTK.
    let mut p = pair(full(), full(), rsne(Pmf::Disabled), rsne(Pmf::Disabled));
    p.drive();
    let (a, s) = (p.auth.ptk().unwrap(), p.supp.ptk().unwrap());
    assert!(a.ct_eq(s));
    assert_eq!((a.kck.len(), a.kek.len(), a.tk.len()), (24, 32, 32));
    assert_eq!(p.supp.gtk().map(|(_, k)| k.len()), Some(32));
}

fn tshark(args: &[&str]) -> String {
    let out = std::process::Command::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark is required for this test but could not be run ({e}); install the Debian package `tshark`")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// tshark (Debian's 4.0) given the 384-bit PMK (`wpa-psk`) or the MSK
// (`msk`) derives the AKM 12 PTK itself, unwraps message 3's key data
// (AES-256 key wrap) and decrypts both GCMP-256 unicast data frames: an
// independent check of KDF-SHA-384, the 24-octet MIC layout, the key wrap
// and GCMP-256. It does not decrypt the group-addressed GCMP-256 frame
// (it dissects it as CCMP).
#[test]
fn tshark_decrypts_akm12_capture() {
    let pmk = Pmk::from_msk(&msk()).unwrap();
    let mut rng = rand::rng();
    let r = run_handshakes(
        &pmk,
        &pmk,
        AA,
        SPA,
        &mut rng,
        Instant::now(),
        &opts(Pmf::Required),
    );
    assert!(r.success());
    let path = std::env::temp_dir().join(format!("fourway-sim-akm12-{}.pcap", std::process::id()));
    let f = std::fs::File::create(&path).unwrap();
    fourway_sim::pcap::write_capture(f, &[r], Duration::from_secs(1_700_000_000)).unwrap();
    let file = path.to_str().unwrap();
    for key in [
        format!("\"wpa-psk\",\"{}\"", hex::encode(&msk()[..48])),
        format!("\"msk\",\"{}\"", hex::encode(msk())),
    ] {
        let uat = format!("uat:80211_keys:{key}");
        let out = tshark(&[
            "-r",
            file,
            "-o",
            "wlan.enable_decryption:TRUE",
            "-o",
            &uat,
            "-Y",
            "data",
            "-T",
            "fields",
            "-e",
            "data.data",
        ]);
        let texts: Vec<String> = out
            .lines()
            .filter_map(|l| hex::decode(l.replace(':', "")).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .filter(|t| t.starts_with("fourway-sim"))
            .collect();
        assert_eq!(
            texts,
            [
                format!("fourway-sim data {SPA} -> {AA}"),
                format!("fourway-sim data {AA} -> {SPA}")
            ],
            "{key}"
        );
    }
    let _ = std::fs::remove_file(&path);
}
