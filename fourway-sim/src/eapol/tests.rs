use super::*;

use crate::testvectors::*;

#[test]
fn parse_captured_messages() {
    let m1 = h(INDUCTION_M1);
    let frame = EapolKeyFrame::new_checked(&m1[..]).unwrap();
    assert_eq!(frame.version(), 2);
    assert_eq!(frame.descriptor_type(), DescriptorType::Rsn);
    let ki = frame.key_information();
    assert_eq!(ki.0, 0x008a);
    assert_eq!(ki.version(), KeyDescriptorVersion::HmacSha1Aes);
    assert!(ki.contains(KeyInformation::PAIRWISE | KeyInformation::ACK));
    assert!(!ki.contains(KeyInformation::MIC));
    assert_eq!(frame.key_length(), 16);
    assert_eq!(frame.replay_counter(), 0);
    assert_eq!(frame.nonce()[..4], [0x3e, 0x8e, 0x96, 0x7d]);
    assert_eq!(frame.key_data_length(), 22);
    // Message 1 carries a PMKID KDE (type 4).
    match key_data_elements(frame.key_data()).next() {
        Some(Ok(KeyDataElement::Kde {
            oui,
            data_type: 4,
            data,
        })) => {
            assert_eq!(oui, IEEE80211_OUI);
            assert_eq!(data.len(), 16);
        }
        other => panic!("unexpected {other:?}"),
    }
    let repr = EapolKeyRepr::parse(&frame).unwrap();
    assert_eq!(repr.to_bytes().unwrap(), m1);

    let m3 = h(INDUCTION_M3);
    let frame = EapolKeyFrame::new_checked(&m3[..]).unwrap();
    assert_eq!(frame.key_information().0, 0x13ca);
    assert_eq!(frame.replay_counter(), 1);
    assert_eq!(frame.rsc(), [0xcf, 0x02, 0, 0, 0, 0, 0, 0]);
    assert_eq!(frame.key_data_length(), 80);
    assert_eq!(EapolKeyRepr::parse(&frame).unwrap().to_bytes().unwrap(), m3);

    let m2 = h(INDUCTION_M2);
    let frame = EapolKeyFrame::new_checked(&m2[..]).unwrap();
    assert_eq!(frame.key_data(), &h(INDUCTION_STA_RSNE)[..]);
    let rsne = RsnElement::parse(frame.key_data()).unwrap();
    assert_eq!(rsne.group_cipher, CipherSuite::Tkip);
    assert_eq!(rsne.pairwise_ciphers, vec![CipherSuite::Ccmp128]);
    assert_eq!(rsne.akms, vec![Akm::Psk]);
    let ap = RsnElement::parse(&h(INDUCTION_AP_RSNE)).unwrap();
    assert_eq!(
        ap.pairwise_ciphers,
        vec![CipherSuite::Ccmp128, CipherSuite::Tkip]
    );
    assert_eq!(ap.to_bytes().unwrap(), h(INDUCTION_AP_RSNE));
}

#[test]
fn round_trip_with_key_data() {
    let mut repr = EapolKeyRepr::new(
        KeyInformation::new(
            KeyDescriptorVersion::HmacSha1Aes,
            KeyInformation::PAIRWISE | KeyInformation::MIC,
        ),
        0x0102030405060708,
    );
    repr.nonce = [0x55; 32];
    repr.mic = vec![0xaa; 16];
    repr.key_data = RsnElement::ccmp128(Akm::Psk).to_bytes().unwrap();
    let bytes = repr.to_bytes().unwrap();
    assert_eq!(bytes.len(), 99 + 22);
    assert_eq!(&bytes[..4], &[2, 3, 0, 117]);
    assert_eq!(&bytes[5..7], &[0x01, 0x0a]);
    let mut padded = bytes.clone();
    padded.extend_from_slice(&[0; 10]); // Ethernet padding is ignored
    let frame = EapolKeyFrame::new_checked(&padded[..]).unwrap();
    assert_eq!(EapolKeyRepr::parse(&frame).unwrap(), repr);
    let mic_input = frame.mic_input();
    assert_eq!(mic_input.len(), bytes.len());
    assert_eq!(&mic_input[81..97], &[0; 16]);
    let mut frame = EapolKeyFrame::new_checked(bytes.clone()).unwrap();
    frame.set_mic(&[1; 16]).unwrap();
    assert_eq!(frame.mic(), [1; 16]);
}

#[test]
fn rejects_bad_lengths() {
    let bytes = h(INDUCTION_M4);
    for n in 0..bytes.len() {
        assert!(
            EapolKeyFrame::new_checked(&bytes[..n]).is_err(),
            "length {n}"
        );
    }
    let mut long_key_data = bytes.clone();
    long_key_data[98] = 1;
    assert_eq!(
        EapolKeyFrame::new_checked(&long_key_data[..]).err(),
        Some(EapolError::KeyDataLength)
    );
    let mut eap = bytes.clone();
    eap[1] = 0;
    assert_eq!(
        EapolKeyFrame::new_checked(&eap[..]).err(),
        Some(EapolError::NotKey)
    );
    let mut short_body = bytes.clone();
    short_body[3] = 94;
    assert_eq!(
        EapolKeyFrame::new_checked(&short_body[..]).err(),
        Some(EapolError::Truncated)
    );
    let mut wpa = bytes;
    wpa[4] = 254;
    let frame = EapolKeyFrame::new_checked(&wpa[..]).unwrap();
    assert_eq!(
        EapolKeyRepr::parse(&frame).err(),
        Some(EapolError::DescriptorType(254))
    );
}

#[test]
fn eapol_header_for_eap() {
    // EAPOL-Start (802.1X-2010 §11.3: type 1, empty body).
    let start = emit_eapol(PacketType::Start, &[]).unwrap();
    assert_eq!(start, [2, 1, 0, 0]);
    // EAP-Request/Identity (RFC 3748 §5.1) carried in EAPOL-EAP.
    let eap = [1u8, 7, 0, 5, 1];
    let pkt = emit_eapol(PacketType::EapPacket, &eap).unwrap();
    let view = EapolPacket::new_checked(&pkt[..]).unwrap();
    assert_eq!(view.packet_type(), PacketType::EapPacket);
    assert_eq!(view.body(), &eap);
    assert_eq!(
        EapolPacket::new_checked(&pkt[..8]).err(),
        Some(EapolError::Truncated)
    );
    assert_eq!(PacketType::from(9), PacketType::Unknown(9));
    assert_eq!(u8::from(PacketType::Unknown(9)), 9);
}

// The RSN element of IEEE 802.11-2020 §9.4.2.24.1's example for a
// CCMP-128 / 802.1X network: 30 14 01 00 00 0f ac 04 01 00 00 0f ac 04
// 01 00 00 0f ac 01 00 00 (hostapd's default for wpa_key_mgmt=WPA-EAP).
#[test]
fn rsn_element_codec() {
    let bytes = h("30140100000fac040100000fac040100000fac010000");
    let rsne = RsnElement::parse(&bytes).unwrap();
    assert_eq!(rsne, RsnElement::ccmp128(Akm::Ieee8021x));
    assert_eq!(rsne.to_bytes().unwrap(), bytes);
    let psk = RsnElement::ccmp128(Akm::Psk).to_bytes().unwrap();
    assert_eq!(psk[19], 2);
    // Truncated suite list, wrong version, wrong length.
    assert!(RsnElement::parse(&h("300a0100000fac040200000fac04")).is_err());
    assert!(RsnElement::parse(&h("30020200")).is_err());
    assert!(RsnElement::parse(&h("30030100")).is_err());
    assert_eq!(
        RsnElement::parse(&h("30020100")).unwrap().pairwise_ciphers,
        vec![]
    );
    assert_eq!(
        CipherSuite::from([0, 0x0f, 0xac, 99]),
        CipherSuite::Other([0, 0x0f, 0xac, 99])
    );
    assert_eq!(Akm::from([0, 0x0f, 0xac, 2]), Akm::Psk);
}

#[test]
fn key_data_elements_and_padding() {
    let rsne = RsnElement::ccmp128(Akm::Psk).to_bytes().unwrap();
    let gtk = GtkKde {
        key_id: 1,
        tx: true,
        gtk: zeroize::Zeroizing::new(vec![0x42; 16]),
    };
    let mut data = rsne.clone();
    data.extend_from_slice(&gtk.to_bytes());
    let padded = crate::keys::pad_key_data(&data);
    let elems: Vec<_> = key_data_elements(&padded)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(elems.len(), 2);
    assert_eq!(elems[0], KeyDataElement::Rsn(&rsne));
    assert_eq!(elems[1], KeyDataElement::Gtk(gtk.clone()));
    assert_eq!(
        &gtk.to_bytes()[..8],
        &[0xdd, 22, 0x00, 0x0f, 0xac, 1, 0x05, 0]
    );
    // Overrunning length.
    let bad = [48u8, 20, 1, 0];
    assert_eq!(
        key_data_elements(&bad).next(),
        Some(Err(EapolError::BadElement))
    );
    // GTK KDE with a 2-octet key.
    let short_gtk = [0xdd, 8, 0x00, 0x0f, 0xac, 1, 0, 0, 1, 2];
    assert_eq!(
        key_data_elements(&short_gtk).next(),
        Some(Err(EapolError::BadGtkKde))
    );
    // Unknown KDE type is kept.
    let other = [0xdd, 5, 0x00, 0x0f, 0xac, 4, 9];
    assert_eq!(
        key_data_elements(&other).next(),
        Some(Ok(KeyDataElement::Kde {
            oui: IEEE80211_OUI,
            data_type: 4,
            data: &[9]
        }))
    );
}
