use super::elements::{FtIgtk, unwrap_igtk, wrap_igtk};
use super::exchange::{FtError, FtStation, FtTargetAp, gtk};
use super::*;
use crate::akm::KeyProfile;
use crate::eapol::RsnElement;
use crate::frames::MacAddr;

const AP1: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
const AP2: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);
const STA: MacAddr = MacAddr([0x02, 0, 0x5a, 0, 0, 1]);

fn md() -> MobilityDomain {
    MobilityDomain {
        ssid: b"fourway-ft".to_vec(),
        mdid: [0xa1, 0xb2],
    }
}

fn msk() -> Pmk {
    let m: Vec<u8> = (0u8..64).map(|i| i ^ 0xa5).collect();
    // 64 octets: the MSK itself.
    Pmk::from_msk(&m).unwrap()
}

// The hierarchy spelled out with the primitives: XXKey, R0-Key-Data,
// names, PMK-R1 and the FT-PTK, for AKM 3 and 13. No published vector for
// PMK-R0, PMK-R1 or the FT-PTK is known to this crate (looked for where the
// KDF-SHA-384 note in akm.rs says, and in hostapd's wlantest, which derives
// them from captures only); the independent check is tshark deriving the
// whole hierarchy from the MSK and decrypting the roam (tests/ft_roam.rs).
#[test]
fn key_hierarchy_matches_its_definition() {
    for (akm, hash) in [
        (Akm::FtIeee8021x, FtHash::Sha256),
        (Akm::FtIeee8021xSha384, FtHash::Sha384),
    ] {
        assert_eq!(FtHash::for_akm(akm), Some(hash));
        let x = xxkey(hash, &msk()).unwrap();
        let m = msk();
        match hash {
            FtHash::Sha256 => assert_eq!(&x[..], &m.as_bytes()[32..64]),
            FtHash::Sha384 => assert_eq!(&x[..], &m.as_bytes()[..48]),
        }
        let r0 = pmk_r0(hash, &x, &md(), b"ap1.example", &STA.0).unwrap();
        let q = hash.q_len();
        let ctx = [
            &[10u8][..],
            b"fourway-ft",
            &[0xa1, 0xb2],
            &[11],
            b"ap1.example",
            &STA.0,
        ]
        .concat();
        let mut data = vec![0u8; q + 16];
        hash.kdf(&x, b"FT-R0", &ctx, &mut data);
        assert_eq!(&r0.key[..], &data[..q]);
        assert_eq!(r0.name, hash.truncated(&[b"FT-R0N", &data[q..]]));
        let r1 = r0.pmk_r1(&AP2.0, &STA.0);
        let mut k1 = vec![0u8; q];
        hash.kdf(&r0.key, b"FT-R1", &[AP2.0, STA.0].concat(), &mut k1);
        assert_eq!(&r1.key[..], &k1[..]);
        assert_eq!(
            r1.name,
            hash.truncated(&[b"FT-R1N", &r0.name, &AP2.0, &STA.0])
        );
        // Another R1KH-ID, another key and name.
        assert_ne!(r0.pmk_r1(&AP1.0, &STA.0).name, r1.name);
        let profile = KeyProfile::for_akm(akm).unwrap();
        let (an, sn) = ([1u8; 32], [2u8; 32]);
        let ptk = profile.derive_ptk(&r1.as_pmk(), &AP2.0, &STA.0, &an, &sn);
        let mut out = vec![0u8; profile.kck_len + profile.kek_len + profile.cipher.key_len()];
        hash.kdf(
            &r1.key,
            b"FT-PTK",
            &[&sn[..], &an, &AP2.0, &STA.0].concat(),
            &mut out,
        );
        assert_eq!(ptk.kck, out[..profile.kck_len].to_vec());
        assert_eq!(ptk.tk, out[profile.kck_len + profile.kek_len..].to_vec());
    }
    assert_eq!(
        xxkey(FtHash::Sha256, &Pmk::from_bytes([0; 32])).err(),
        Some(FtKeyError::MskTooShort(32))
    );
    assert!(pmk_r0(FtHash::Sha256, &[0; 32], &md(), &[0; 49], &STA.0).is_err());
}

fn transition(akm: Akm, tamper: Option<usize>) -> Result<(FtStation, FtTargetAp), FtError> {
    transition_with(akm, tamper, (false, false), true)
}

/// A transition; `mfpc` = (the station's, AP2's) RSN elements with MFPC,
/// `ap_igtk`: AP2 holds an IGTK.
fn transition_with(
    akm: Akm,
    tamper: Option<usize>,
    mfpc: (bool, bool),
    ap_igtk: bool,
) -> Result<(FtStation, FtTargetAp), FtError> {
    let profile = KeyProfile::for_akm(akm).unwrap();
    let hash = FtHash::for_akm(akm).unwrap();
    let r0kh = b"ap1.example".to_vec();
    let x = xxkey(hash, &msk()).unwrap();
    // The station and the R0KH (AP1) each derive PMK-R0 from the MSK.
    let sta_r0 = pmk_r0(hash, &x, &md(), &r0kh, &STA.0).unwrap();
    let r0kh_r0 = pmk_r0(hash, &x, &md(), &r0kh, &STA.0).unwrap();
    let rsn = |m: bool| {
        let mut r = RsnElement::for_profile(&profile, m);
        r.capabilities = Some(if m { crate::eapol::RSN_CAP_MFPC } else { 0 });
        r
    };
    let rsne = rsn(mfpc.0);
    let mut sta = FtStation::new(
        profile,
        STA,
        AP1,
        AP2,
        &md(),
        r0kh.clone(),
        sta_r0,
        rsne.clone(),
        [7; 32],
    );
    let mut ap2 = FtTargetAp::new(profile, AP2, AP2.0, md().mdid, rsn(mfpc.1), [9; 32]);
    if ap_igtk {
        ap2 = ap2.with_igtk(FtIgtk {
            key_id: 5,
            ipn: [7, 0, 0, 0, 0, 0],
            key: Zeroizing::new(vec![0x5e; profile.group_mgmt.key_len()]),
        });
    }
    let req = sta.authentication()?;
    let resp = ap2.handle_authentication(&req, |id, name, spa| {
        (id == &r0kh[..] && *name == r0kh_r0.name).then(|| r0kh_r0.pmk_r1(&AP2.0, &spa.0))
    })?;
    let mut reassoc = sta.handle_authentication(&resp)?;
    if let Some(i) = tamper {
        let n = reassoc.len();
        reassoc[n - i] ^= 1;
    }
    let g = gtk(1, &vec![0x3c; profile.cipher.key_len()]);
    let answer = ap2.handle_reassociation(&reassoc, &g)?;
    sta.handle_reassociation(&answer)?;
    Ok((sta, ap2))
}

#[test]
fn over_the_air_transition_same_ptk_and_gtk() {
    for akm in [Akm::FtIeee8021x, Akm::FtIeee8021xSha384] {
        let (sta, ap2) = transition(akm, None).unwrap();
        assert!(sta.ptk().unwrap().ct_eq(ap2.ptk().unwrap()), "{akm}");
        let g = sta.gtk().unwrap();
        assert_eq!(g.key_id, 1);
        assert_eq!(
            g.key.len(),
            KeyProfile::for_akm(akm).unwrap().cipher.key_len()
        );
        // A flipped bit in the Reassociation Request's FTE (a nonce or a
        // subelement) is refused before any key is used.
        for i in [1usize, 40, 80] {
            let e = transition(akm, Some(i)).err();
            assert!(
                matches!(
                    e,
                    Some(FtError::BadMic | FtError::FteMismatch | FtError::Element(_))
                ),
                "{akm} {i}: {e:?}"
            );
        }
    }
}

// With MFPC the IGTK crosses in the Reassociation Response's FTE and the
// station installs AP2's key, Key ID and IPN; without, no IGTK.
#[test]
fn transition_with_pmf_carries_the_igtk() {
    for akm in [Akm::FtIeee8021x, Akm::FtIeee8021xSha384] {
        let len = KeyProfile::for_akm(akm).unwrap().group_mgmt.key_len();
        let (sta, _) = transition_with(akm, None, (true, true), true).unwrap();
        let i = sta.igtk().expect("IGTK installed");
        assert_eq!((i.key_id, i.ipn), (5, [7, 0, 0, 0, 0, 0]), "{akm}");
        assert_eq!(&i.key[..], &vec![0x5e; len][..], "{akm}");
        let (sta, _) = transition_with(akm, None, (false, false), true).unwrap();
        assert!(sta.igtk().is_none(), "{akm}");
        // AP2 with MFPC but no IGTK to give refuses to answer.
        let e = transition_with(akm, None, (true, true), false).err();
        assert_eq!(e, Some(FtError::Igtk), "{akm}");
        // A station with MFPC refuses a response without the IGTK
        // subelement (AP2 without MFPC leaves it out).
        let e = transition_with(akm, None, (true, false), true).err();
        assert_eq!(e, Some(FtError::Igtk), "{akm}");
    }
}

// The IGTK subelement's layout: Key ID (LE), IPN, Key Length, then the
// RFC 3394 AES key wrap of the IGTK, checked with the RFC 3394 §4.1
// vector (128-bit KEK 000102..0F, key 00112233..FF).
#[test]
fn igtk_subelement_layout_and_length_checks() {
    let kek = hex::decode("000102030405060708090A0B0C0D0E0F").unwrap();
    let key = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
    let igtk = FtIgtk {
        key_id: 4,
        ipn: [1, 2, 3, 4, 5, 6],
        key: Zeroizing::new(key.clone()),
    };
    let sub = wrap_igtk(&kek, &igtk).unwrap();
    assert_eq!(
        hex::encode(&sub),
        concat!(
            "0400",
            "010203040506",
            "10",
            "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"
        )
    );
    let back = unwrap_igtk(&kek, &sub, 16).unwrap();
    assert_eq!((back.key_id, back.ipn), (4, [1, 2, 3, 4, 5, 6]));
    assert_eq!(&back.key[..], &key[..]);
    // BIP-GMAC-256's 32-octet key is expected: a 16-octet one is refused.
    assert!(unwrap_igtk(&kek, &sub, 32).is_err());
    // A Key Length octet that disagrees with the length.
    let mut bad = sub.clone();
    bad[8] = 15;
    assert!(unwrap_igtk(&kek, &bad, 16).is_err());
    // Truncated, and a flipped bit in the wrapped key (RFC 3394 integrity).
    assert!(unwrap_igtk(&kek, &sub[..sub.len() - 1], 16).is_err());
    let mut flipped = sub.clone();
    flipped[20] ^= 1;
    assert!(unwrap_igtk(&kek, &flipped, 16).is_err());
}
