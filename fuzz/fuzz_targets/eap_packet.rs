//! EAP codec on arbitrary bytes: `new_checked` never panics, and what it
//! accepts survives a parse -> emit -> parse round trip.
#![no_main]

use eap_methods::codec::{Packet, Repr};
use eap_methods::tls_common::{TlsPacket, TlsRepr};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::new_checked(data) else {
        return;
    };
    let _ = (packet.code(), packet.identifier(), packet.eap_type());
    let repr = Repr::parse(&packet).expect("checked packet parses");
    let bytes = repr.to_vec().expect("parsed packet emits");
    assert_eq!(bytes.len(), repr.buffer_len());
    let again = Repr::parse(&Packet::new_checked(&bytes[..]).expect("emitted packet checks"))
        .expect("emitted packet parses");
    assert_eq!(repr, again);
    // Request/Response bytes are reproduced exactly (up to Length).
    if packet.eap_type().is_some() {
        assert_eq!(&bytes[..], packet.as_bytes());
    }
    if let Ok(tls) = TlsPacket::new_checked(packet.type_data()) {
        let t = TlsRepr::parse(&tls);
        let _ = (tls.is_ack(), tls.is_start(), tls.more_fragments());
        let emitted = t.to_vec();
        let back = TlsRepr::parse(&TlsPacket::new_checked(&emitted[..]).expect("emitted frame"));
        assert_eq!(t, back);
    }
});
