//! Fuzz target for the Disconnect client core ([`authd::das::DasClient`]):
//! one Disconnect-Request is outstanding to a NAS, and datagrams arrive as
//! its answers (bytes in, a result or a reason out). It must never panic,
//! and it may take only a Disconnect-ACK or Disconnect-NAK from the NAS's
//! address, with the request's Identifier and a Response Authenticator
//! (RFC 5176 section 2.3) that verifies with the secret; the result must
//! say what the packet says, and a request ends once.
//!
//! Input: a control octet, then datagrams, each behind a 2-octet length.
//! Random bytes would never carry a valid Response Authenticator, so
//! unless control bit 0 asks for the raw bytes, the harness rebuilds each
//! datagram that parses as a reply to the outstanding request (its code
//! and attributes kept, the Identifier set, signed with the secret); such
//! a rebuilt Disconnect-ACK or NAK from the NAS must be taken (the
//! positive control). Control bit 1 sends from another port of the NAS's
//! host, which must be ignored.
#![no_main]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use authd::das::{DasClient, DasResult, Ignored, Request, SessionId, packet::ERROR_CAUSE};
use libfuzzer_sys::fuzz_target;
use radius_proto::{Code, Packet, PacketBuilder, dict};
use zeroize::Zeroizing;

const SECRET: &[u8] = b"das-fuzzing-secret";

fn rebuild(data: &[u8], request: &Packet<&[u8]>) -> Option<Vec<u8>> {
    let p = Packet::new_checked(data).ok()?;
    let mut b = PacketBuilder::new(p.code(), request.identifier());
    for attr in p.attributes() {
        if attr.typ != dict::MESSAGE_AUTHENTICATOR {
            b.add(attr.typ, attr.value).ok()?;
        }
    }
    b.encode_response(request, SECRET).ok()
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, mut rest)) = input.split_first() else {
        return;
    };
    let nas = SocketAddr::from(([127, 0, 0, 1], 3799));
    let from = if control & 2 == 0 {
        nas
    } else {
        SocketAddr::from(([127, 0, 0, 1], 3800))
    };
    let mut client = DasClient::new();
    let start = Instant::now();
    let sent = client
        .start(
            Request {
                id: "q1".into(),
                nas,
                secret: Zeroizing::new(SECRET.to_vec()),
                session: SessionId {
                    user_name: "alice".into(),
                    acct_session_id: "0123456789ABCDEF".into(),
                    calling_station_id: Some("02-00-00-00-00-01".into()),
                    nas_ip_address: Some(Ipv4Addr::LOCALHOST),
                },
            },
            start,
            1_700_000_000,
        )
        .expect("the first request starts");
    let request = Packet::new_checked(&sent.bytes[..]).expect("the request parses");
    let mut finished = false;
    let mut step = 0u32;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let take = len.min(body.len());
        let raw = &body[..take];
        rest = &body[take..];
        let rebuilt = if control & 1 == 0 {
            rebuild(raw, &request)
        } else {
            None
        };
        let datagram = rebuilt.clone().unwrap_or_else(|| raw.to_vec());
        let got = client.handle_datagram(from, &datagram);
        // Independently: is this a valid signed answer from the NAS?
        let valid = from == nas
            && !finished
            && Packet::new_checked(&datagram[..]).ok().is_some_and(|p| {
                p.identifier() == request.identifier()
                    && matches!(p.code(), Code::DisconnectAck | Code::DisconnectNak)
                    && radius_proto::verify_response(&p, request.authenticator(), SECRET).is_ok()
            });
        match got {
            Ok(done) => {
                assert!(valid, "took an answer that is not a valid signed ACK/NAK");
                let p = Packet::new_checked(&datagram[..]).expect("checked above");
                assert_eq!(done.id, "q1");
                assert_eq!(done.nas, nas);
                assert_eq!(done.transmissions, 1 + step.min(4));
                match (p.code(), done.result) {
                    (Code::DisconnectAck, DasResult::Ack) => {}
                    (Code::DisconnectNak, DasResult::Nak { error_cause }) => assert_eq!(
                        error_cause,
                        p.attr(ERROR_CAUSE)
                            .and_then(|v| <[u8; 4]>::try_from(v).ok())
                            .map(u32::from_be_bytes)
                    ),
                    other => panic!("result does not match the code: {other:?}"),
                }
                finished = true;
                assert_eq!(client.outstanding(), 0);
            }
            Err(why) => {
                // A rebuilt answer is signed right: refused only when it is
                // not an ACK/NAK, comes from elsewhere, came too late, or
                // carries an EAP-Message without a Message-Authenticator,
                // which RFC 3579 section 3.2 says to discard silently (the
                // rebuild drops any Message-Authenticator it was given, and
                // encode_response adds none to a Disconnect-ACK/NAK).
                assert!(!valid, "refused a valid signed ACK/NAK");
                if rebuilt.is_some() && from == nas && !finished {
                    let p = Packet::new_checked(&datagram[..]).expect("rebuilt parses");
                    if matches!(p.code(), Code::DisconnectAck | Code::DisconnectNak) {
                        assert!(
                            p.attr(dict::EAP_MESSAGE).is_some(),
                            "refused a rebuilt ACK/NAK without EAP-Message: {why:?}"
                        );
                        assert_eq!(why, Ignored::BadAuthenticator);
                    }
                }
            }
        }
        // Time passes between datagrams: retransmissions, never a second
        // result, and the table stays one request at most.
        step += 1;
        let (sends, done) = client.poll(start + Duration::from_secs(u64::from(step) * 9));
        if finished {
            assert!(sends.is_empty() && done.is_empty());
        } else {
            for s in &sends {
                assert_eq!(s.bytes, sent.bytes, "a retransmission is the same bytes");
            }
            if let Some(d) = done.first() {
                assert_eq!(d.result, DasResult::Timeout);
                finished = true;
            }
        }
        assert!(client.outstanding() <= 1);
    }
});
