//! Diameter AVP codec (EAP-TTLS, RFC 5281 §10) on arbitrary bytes: `parse`
//! never panics, and what it accepts survives a parse -> emit -> parse
//! round trip to the same AVPs.
#![no_main]

use eap_methods::diameter::{self, MAX_AVPS};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(avps) = diameter::parse(data) else {
        return;
    };
    assert!(avps.len() <= MAX_AVPS);
    let mut emitted = Vec::with_capacity(data.len() + 3);
    for avp in &avps {
        let _ = format!("{avp:?}");
        diameter::try_emit(&mut emitted, avp.code, avp.vendor, avp.mandatory, avp.data)
            .expect("a parsed AVP fits its length field");
    }
    assert_eq!(emitted.len() % 4, 0);
    // The input is at most one final padding short of what is emitted.
    assert!(emitted.len() <= data.len() + 3);
    let again = diameter::parse(&emitted).expect("emitted AVPs parse");
    assert_eq!(avps, again);
});
