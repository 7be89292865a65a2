//! Fuzz target for the accounting core: a datagram that parses as a
//! RADIUS packet becomes an [`authd::accounting::AcctRecord`] or a
//! refusal, and a Class value is read back by [`authd::class::parse`].
//! Neither may panic, and what parses must hold what the store relies on:
//! a 64-digit lowercase hex session key, a session id for session
//! statuses, the 64-bit counters computed from their Gigawords (RFC 2869
//! section 5.1) and clamped to the largest BIGINT, the event time from
//! Event-Timestamp or the arrival minus Acct-Delay-Time (RFC 2866 section
//! 5.2), and text columns without control characters.
//!
//! Input: one datagram. Seeded with what a real hostapd sent to authd's
//! accounting port (fuzz/seeds/accounting_request, see
//! fuzz/seeds/README.md).
#![no_main]

use authd::accounting::{self, StatusType};
use authd::class;
use libfuzzer_sys::fuzz_target;
use radius_proto::{Packet, dict};

const NOW: i64 = 1_700_000_000;

fn u32_attr(p: &Packet<&[u8]>, typ: u8) -> Option<u32> {
    p.attr(typ)
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
        .map(u32::from_be_bytes)
}

fn counter(p: &Packet<&[u8]>, low: u8, giga: Option<u8>) -> i64 {
    let hi = giga.and_then(|g| u32_attr(p, g)).unwrap_or(0);
    let v = u128::from(hi) * (1u128 << 32) + u128::from(u32_attr(p, low).unwrap_or(0));
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn clean(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

fn check_class(value: &[u8]) {
    let Some(info) = class::parse(value) else {
        return;
    };
    assert!(value.len() <= class::MAX_LEN);
    assert!(value.starts_with(class::PREFIX.as_bytes()));
    if let Some(s) = &info.serial {
        assert!(!s.is_empty() && s.len() <= 42);
        assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    // What was read back, written again, reads back the same.
    let Some((time, random)) = info.id.split_once('.') else {
        panic!("a Class id without its '.'");
    };
    let (Ok(time), Ok(random)) = (i64::from_str_radix(time, 16), hex::decode(random)) else {
        return;
    };
    let random: [u8; 8] = random.try_into().expect("parse checked 16 hex digits");
    if let Some(user) = &info.user {
        let again = class::encode(info.method, user, info.serial.as_deref(), time, random);
        assert!(again.len() <= class::MAX_LEN);
        let back = class::parse(again.as_bytes()).expect("a Class authd wrote parses");
        assert_eq!(back.method, info.method);
        assert_eq!(back.serial, info.serial);
        assert!(back.user.is_none() || back.user == info.user);
    }
}

fuzz_target!(|data: &[u8]| {
    check_class(data);
    let Ok(p) = Packet::new_checked(data) else {
        return;
    };
    if let Some(c) = p.attr(dict::CLASS) {
        check_class(c);
    }
    let source = "192.0.2.7".parse().expect("address");
    let Ok(r) = accounting::parse(&p, "fuzz-nas", source, NOW) else {
        return;
    };
    assert_eq!(r.session_key.len(), 64);
    assert!(
        r.session_key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let sid = p.attr(dict::ACCT_SESSION_ID).unwrap_or_default();
    if r.status.is_session() {
        assert!(!sid.is_empty());
    }
    assert_eq!(
        r.session_key,
        accounting::session_key(
            "fuzz-nas",
            sid,
            p.attr(dict::CALLING_STATION_ID).unwrap_or_default(),
            &match (p.attr(dict::NAS_PORT_ID), u32_attr(&p, dict::NAS_PORT)) {
                (Some(id), _) => id.to_vec(),
                (None, Some(n)) => n.to_string().into_bytes(),
                (None, None) => Vec::new(),
            },
        )
    );
    assert_eq!(
        r.input_octets,
        counter(
            &p,
            dict::ACCT_INPUT_OCTETS,
            Some(dict::ACCT_INPUT_GIGAWORDS)
        )
    );
    assert_eq!(
        r.output_octets,
        counter(
            &p,
            dict::ACCT_OUTPUT_OCTETS,
            Some(dict::ACCT_OUTPUT_GIGAWORDS)
        )
    );
    assert_eq!(r.input_packets, counter(&p, dict::ACCT_INPUT_PACKETS, None));
    assert_eq!(
        r.output_packets,
        counter(&p, dict::ACCT_OUTPUT_PACKETS, None)
    );
    for c in [
        r.input_octets,
        r.output_octets,
        r.input_packets,
        r.output_packets,
        r.session_time,
    ] {
        assert!(c >= 0);
    }
    let expected_time = match u32_attr(&p, dict::EVENT_TIMESTAMP) {
        Some(t) => i64::from(t),
        None => NOW - i64::from(u32_attr(&p, dict::ACCT_DELAY_TIME).unwrap_or(0)),
    };
    assert_eq!(r.event_time, expected_time);
    assert!(r.start_time() <= r.event_time);
    if r.status == StatusType::Start {
        assert_eq!(r.start_time(), r.event_time);
    }
    for s in [
        Some(&r.acct_session_id),
        Some(&r.user_name),
        r.acct_multi_session_id.as_ref(),
        r.nas_identifier.as_ref(),
        r.nas_port_id.as_ref(),
        r.called_station_id.as_ref(),
        r.calling_station_id.as_ref(),
        r.class.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(clean(s));
    }
    // The Class read back is what class::parse says of the echoed value.
    assert_eq!(r.auth, p.attr(dict::CLASS).and_then(class::parse));
    assert_eq!(r.nas_address, "192.0.2.7");
});
