use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use radius_proto::{Code, Packet, PacketBuilder, dict, verify_request};
use zeroize::Zeroizing;

use super::*;

const SECRET: &[u8] = b"das-secret";

fn nas() -> SocketAddr {
    "127.0.0.1:3799".parse().unwrap()
}

fn request(id: &str, to: SocketAddr) -> Request {
    Request {
        id: id.into(),
        nas: to,
        secret: Zeroizing::new(SECRET.to_vec()),
        session: SessionId {
            user_name: "alice".into(),
            acct_session_id: "0123456789ABCDEF".into(),
            calling_station_id: Some("02-00-00-00-00-01".into()),
            nas_ip_address: Some(Ipv4Addr::new(127, 0, 0, 1)),
        },
    }
}

/// What a NAS answers to `req`: `code` with an Error-Cause when given,
/// Event-Timestamp like hostapd.
fn answer(req: &[u8], code: Code, cause: Option<u32>, secret: &[u8]) -> Vec<u8> {
    let p = Packet::new_checked(req).unwrap();
    let mut b = PacketBuilder::reply_to(code, &p);
    if let Some(c) = cause {
        b.add_u32(packet::ERROR_CAUSE, c).unwrap();
    }
    b.add_u32(dict::EVENT_TIMESTAMP, 1_700_000_000).unwrap();
    b.encode_response(&p, secret).unwrap()
}

#[test]
fn request_carries_what_hostapd_matches_and_verifies() {
    let mut c = DasClient::new();
    let t = c
        .start(request("r1", nas()), Instant::now(), 1_700_000_123)
        .unwrap();
    assert_eq!(t.to, nas());
    let p = Packet::new_checked(&t.bytes[..]).unwrap();
    assert_eq!(p.code(), Code::DisconnectRequest);
    // RFC 5176 section 2.3 authenticator, and the Message-Authenticator.
    verify_request(&p, SECRET, true).unwrap();
    assert!(verify_request(&p, b"other", false).is_err());
    assert_eq!(p.attr(dict::USER_NAME), Some(&b"alice"[..]));
    assert_eq!(
        p.attr(dict::ACCT_SESSION_ID),
        Some(&b"0123456789ABCDEF"[..])
    );
    assert_eq!(
        p.attr(dict::CALLING_STATION_ID),
        Some(&b"02-00-00-00-00-01"[..])
    );
    assert_eq!(p.attr(dict::NAS_IP_ADDRESS), Some(&[127, 0, 0, 1][..]));
    assert_eq!(
        p.attr(dict::EVENT_TIMESTAMP),
        Some(&1_700_000_123u32.to_be_bytes()[..])
    );
    // Only attributes hostapd's radius_das_disconnect allows.
    let allowed = [1u8, 4, 31, 32, 44, 50, 55, 80, 89, 95];
    for a in p.attributes() {
        assert!(allowed.contains(&a.typ), "attribute {}", a.typ);
    }
}

#[test]
fn ack_and_nak_with_error_cause() {
    let mut c = DasClient::new();
    let now = Instant::now();
    let a = c.start(request("a", nas()), now, 1).unwrap();
    let b = c.start(request("b", nas()), now, 1).unwrap();
    assert_ne!(a.bytes[1], b.bytes[1], "distinct Identifiers");
    let f = c
        .handle_datagram(
            nas(),
            &answer(&b.bytes, Code::DisconnectNak, Some(503), SECRET),
        )
        .unwrap();
    assert_eq!(f.id, "b");
    assert_eq!(
        f.result,
        DasResult::Nak {
            error_cause: Some(503)
        }
    );
    assert_eq!(error_cause_name(503), "Session Context Not Found");
    let f = c
        .handle_datagram(nas(), &answer(&a.bytes, Code::DisconnectAck, None, SECRET))
        .unwrap();
    assert_eq!((f.id.as_str(), f.result), ("a", DasResult::Ack));
    assert_eq!(c.outstanding(), 0);
    // The same answer again: nothing outstanding with that Identifier.
    assert_eq!(
        c.handle_datagram(nas(), &answer(&a.bytes, Code::DisconnectAck, None, SECRET)),
        Err(Ignored::WrongSource)
    );
}

#[test]
fn forged_or_misdirected_answers_are_ignored_and_counted() {
    let mut c = DasClient::new();
    let t = c.start(request("a", nas()), Instant::now(), 1).unwrap();
    let good = answer(&t.bytes, Code::DisconnectAck, None, SECRET);
    let other: SocketAddr = "127.0.0.2:3799".parse().unwrap();
    assert_eq!(c.handle_datagram(other, &good), Err(Ignored::WrongSource));
    let forged = answer(&t.bytes, Code::DisconnectAck, None, b"guess");
    assert_eq!(
        c.handle_datagram(nas(), &forged),
        Err(Ignored::BadAuthenticator)
    );
    let mut wrong_id = good.clone();
    wrong_id[1] = wrong_id[1].wrapping_add(1);
    assert_eq!(
        c.handle_datagram(nas(), &wrong_id),
        Err(Ignored::UnknownIdentifier)
    );
    assert_eq!(
        c.handle_datagram(nas(), &good[..10]),
        Err(Ignored::Malformed)
    );
    assert_eq!(c.handle_datagram(nas(), &[]), Err(Ignored::Malformed));
    let accept = answer(&t.bytes, Code::CoaAck, None, SECRET);
    assert_eq!(
        c.handle_datagram(nas(), &accept),
        Err(Ignored::UnexpectedCode)
    );
    assert_eq!(c.ignored().values().sum::<u64>(), 6);
    assert_eq!(c.ignored()["das_wrong_source"], 1);
    // Positive control: the genuine answer still ends the request.
    assert_eq!(
        c.handle_datagram(nas(), &good).unwrap().result,
        DasResult::Ack
    );
}

#[test]
fn eap_message_without_message_authenticator_is_discarded() {
    // RFC 3579 section 3.2: a packet with an EAP-Message and no
    // Message-Authenticator is silently discarded, even with a right
    // Response Authenticator (found by the das_response fuzz target).
    let mut c = DasClient::new();
    let t = c.start(request("a", nas()), Instant::now(), 1).unwrap();
    let p = Packet::new_checked(&t.bytes[..]).unwrap();
    let mut b = PacketBuilder::reply_to(Code::DisconnectNak, &p);
    b.add(dict::EAP_MESSAGE, &[3]).unwrap();
    let with_eap = b.encode_response(&p, SECRET).unwrap();
    assert_eq!(
        c.handle_datagram(nas(), &with_eap),
        Err(Ignored::BadAuthenticator)
    );
    assert_eq!(c.outstanding(), 1);
    // Positive control: the same NAK without it ends the request.
    let without = PacketBuilder::reply_to(Code::DisconnectNak, &p)
        .encode_response(&p, SECRET)
        .unwrap();
    assert_eq!(
        c.handle_datagram(nas(), &without).unwrap().result,
        DasResult::Nak { error_cause: None }
    );
}

#[test]
fn retransmits_identical_bytes_with_backoff_then_times_out() {
    let mut c = DasClient::new();
    let t0 = Instant::now();
    let first = c.start(request("a", nas()), t0, 42).unwrap();
    let mut t = t0;
    let mut sends = vec![t0];
    for delay in RETRY_DELAYS.iter().take(MAX_TRANSMISSIONS as usize - 1) {
        assert_eq!(
            c.poll(t + *delay - Duration::from_millis(1)),
            (vec![], vec![])
        );
        t += *delay;
        assert_eq!(c.next_deadline(), Some(t));
        let (s, d) = c.poll(t);
        assert_eq!(s, vec![first.clone()], "same Identifier, same bytes");
        assert!(d.is_empty());
        sends.push(t);
    }
    assert_eq!(sends.len(), MAX_TRANSMISSIONS as usize);
    t += RETRY_DELAYS[MAX_TRANSMISSIONS as usize - 1];
    let (s, d) = c.poll(t);
    assert!(s.is_empty());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].result, DasResult::Timeout);
    assert_eq!(d[0].transmissions, MAX_TRANSMISSIONS);
    assert_eq!(t - t0, Duration::from_secs(23));
    assert_eq!(c.outstanding(), 0);
    assert_eq!(c.next_deadline(), None);
}

#[test]
fn at_most_256_outstanding_per_nas() {
    let mut c = DasClient::new();
    let now = Instant::now();
    let mut ids = std::collections::HashSet::new();
    for i in 0..256 {
        let t = c.start(request(&i.to_string(), nas()), now, 1).unwrap();
        ids.insert(t.bytes[1]);
    }
    assert_eq!(ids.len(), 256);
    assert!(!c.can_start(nas()));
    assert_eq!(
        c.start(request("x", nas()), now, 1).unwrap_err(),
        StartError::Busy
    );
    // Another NAS is not affected.
    let other: SocketAddr = "127.0.0.2:3799".parse().unwrap();
    assert!(c.can_start(other));
    c.start(request("y", other), now, 1).unwrap();
}

#[test]
fn unusable_session_is_refused() {
    let mut c = DasClient::new();
    let mut r = request("a", nas());
    r.session.user_name = "x".repeat(254);
    assert!(matches!(
        c.start(r, Instant::now(), 1),
        Err(StartError::Build(BuildError::BadAttribute("User-Name")))
    ));
    assert_eq!(c.outstanding(), 0);
    assert!(c.can_start(nas()));
}

#[test]
fn request_bytes_pinned() {
    // Computed apart from this code (Python hashlib): Message-Authenticator
    // = HMAC-MD5 over the packet with a zero Request Authenticator and a
    // zero Message-Authenticator (RFC 3579 section 3.2, RFC 5176 section
    // 3.3), then Request Authenticator = MD5(Code | Identifier | Length |
    // 16 zero octets | Attributes | secret) (RFC 5176 section 2.3). The
    // same layout hostapd acknowledged in tests/hostapd_das.rs.
    let r = request("a", nas());
    let bytes = packet::disconnect_request(&r.session, 7, 1_700_000_123, SECRET).unwrap();
    assert_eq!(
        hex::encode(&bytes),
        "2807005edb0df19b8fee2c13af945f91dbcfddb050121240e42ff0815cd2fbe60c426b1da8e1010761\
         6c6963652c12303132333435363738394142434445461f1330322d30302d30302d30302d30302d3031\
         04067f00000137066553f17b"
    );
}
