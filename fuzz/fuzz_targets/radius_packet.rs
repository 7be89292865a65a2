//! Fuzz target for the RADIUS packet view (RFC 2865 §3, §5): parsing any
//! bytes must never panic, a parsed packet must stay consistent, and a packet
//! re-encoded through the builder must parse back to the same attributes.
//! The RADIUS/1.1 side (RFC 9765, `radius_proto::v11`) too: its plain
//! User-Password, Tunnel-Password and MPPE-key readers never panic, and the
//! packet re-encoded with its Token parses back with the same attributes,
//! Reserved octets zero and no Message-Authenticator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use radius_proto::{
    Error, Packet, PacketBuilder, decrypt_mppe_key, decrypt_tunnel_password,
    decrypt_user_password, dict, verify_request, verify_response,
};

const SECRET: &[u8] = b"fuzzing-secret";

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::new_checked(data) else {
        return;
    };
    assert!(packet.length() >= 20 && packet.length() <= 4096);
    assert_eq!(packet.as_bytes().len(), packet.length());

    let mut walked = 20;
    for attr in packet.attributes() {
        walked += 2 + attr.value.len();
        // Hidden values must be refused or decoded, never panic.
        match attr.typ {
            dict::USER_PASSWORD => {
                let _ = decrypt_user_password(attr.value, SECRET, packet.authenticator());
            }
            dict::TUNNEL_PASSWORD => {
                let _ = decrypt_tunnel_password(attr.value, SECRET, packet.authenticator());
            }
            _ => {}
        }
    }
    assert_eq!(walked, packet.length());

    if let Some(key) = packet.vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY) {
        let _ = decrypt_mppe_key(key, SECRET, packet.authenticator());
    }
    // RADIUS/1.1 readers of the same values.
    for attr in packet.attributes() {
        match attr.typ {
            dict::USER_PASSWORD => {
                let _ = radius_proto::v11::user_password(attr.value);
            }
            dict::TUNNEL_PASSWORD => {
                let _ = radius_proto::v11::parse_tunnel_password(attr.value);
            }
            _ => {}
        }
    }
    if let Some(key) = packet.vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_RECV_KEY) {
        let _ = radius_proto::v11::mppe_key(key);
    }
    let token = radius_proto::v11::token(&packet);
    assert_eq!(radius_proto::v11::token_of(data), Some(token));
    let mut v11 = PacketBuilder::new(packet.code(), packet.identifier());
    for attr in packet
        .attributes()
        .filter(|a| !radius_proto::v11::is_discarded(a.typ))
    {
        v11.add(attr.typ, attr.value)
            .expect("a parsed attribute fits the builder");
    }
    // Nothing is added, so it always fits.
    let wire = v11
        .encode_radius_1_1(token)
        .expect("a RADIUS/1.1 re-encoding is never longer");
    let again = Packet::new_checked(&wire[..]).expect("RADIUS/1.1 output parses");
    assert_eq!(again.identifier(), 0);
    assert_eq!(radius_proto::v11::token(&again), token);
    assert_eq!(&wire[8..20], &[0u8; 12]);
    assert!(again.attr(dict::MESSAGE_AUTHENTICATOR).is_none());
    assert!(again.attributes().eq(packet
        .attributes()
        .filter(|a| !radius_proto::v11::is_discarded(a.typ))));

    let eap = packet.eap_message();
    assert_eq!(eap.is_some(), packet.attr(dict::EAP_MESSAGE).is_some());

    let _ = verify_request(&packet, SECRET, false);
    let _ = verify_response(&packet, &[0; 16], SECRET);

    // Re-encode through the builder (which inserts its own
    // Message-Authenticator) and parse again.
    let mut builder = PacketBuilder::new(packet.code(), packet.identifier());
    for attr in packet
        .attributes()
        .filter(|a| a.typ != dict::MESSAGE_AUTHENTICATOR)
    {
        builder
            .add(attr.typ, attr.value)
            .expect("a parsed attribute fits the builder");
    }
    let encoded = if packet.code().is_response() {
        builder.encode_response(&packet, SECRET)
    } else {
        builder.encode_request(*packet.authenticator(), SECRET)
    };
    match encoded {
        Ok(wire) => {
            let again = Packet::new_checked(&wire[..]).expect("builder output parses");
            assert_eq!(again.code(), packet.code());
            assert_eq!(again.identifier(), packet.identifier());
            let original: Vec<_> = packet
                .attributes()
                .filter(|a| a.typ != dict::MESSAGE_AUTHENTICATOR)
                .collect();
            let rebuilt: Vec<_> = again
                .attributes()
                .filter(|a| a.typ != dict::MESSAGE_AUTHENTICATOR)
                .collect();
            assert_eq!(original, rebuilt);
            if !packet.code().is_response() {
                verify_request(&again, SECRET, true).expect("builder output verifies");
            }
        }
        Err(e) => {
            // Only two refusals are legitimate: a code that is not a request
            // or reply, or a packet that no longer fits once a
            // Message-Authenticator is added.
            assert!(
                matches!(
                    e,
                    Error::UnexpectedCode(_) | Error::PacketTooLong
                ),
                "unexpected builder error {e:?}"
            );
        }
    }
});
