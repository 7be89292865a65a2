//! Fuzz target for the RADIUS packet view (RFC 2865 §3, §5): parsing any
//! bytes must never panic, a parsed packet must stay consistent, and a packet
//! re-encoded through the builder must parse back to the same attributes.
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
