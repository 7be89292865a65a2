//! Tests of the EAP-MSCHAPv2 halves: round trips, the RFC 2759 §9.2
//! vector on the wire, and malformed input.

use super::*;

fn h<const N: usize>(s: &str) -> [u8; N] {
    let v = hex::decode(s.replace(' ', "")).unwrap();
    v.try_into().unwrap()
}

// RFC 2759 §9.2.
const AUTH_CHALLENGE: &str = "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28";
const PEER_CHALLENGE: &str = "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E";
const NT_RESPONSE: &str = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
const AUTH_RESPONSE: &str = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

fn send(step: MschapServerStep) -> Vec<u8> {
    match step {
        MschapServerStep::Send(v) => v,
        other => panic!("expected Send, got {other:?}"),
    }
}

fn peer_send(step: MschapPeerStep) -> Vec<u8> {
    match step {
        MschapPeerStep::Send(v) => v,
        other => panic!("expected Send, got {other:?}"),
    }
}

/// Runs Challenge and Response; returns both halves waiting for the
/// caller's NT hash, and the Response the peer sent.
fn to_need_hash(id: u8, user: &str, password: &str) -> (MschapServer, MschapPeer, Vec<u8>, String) {
    let (mut server, challenge) = MschapServer::start(id, [0x11; 16], "authd");
    let mut peer = MschapPeer::new(user, password, [0x22; 16]);
    let response = peer_send(peer.process(&challenge));
    let MschapServerStep::NeedNtHash { user_name } = server.process(&response) else {
        panic!("expected NeedNtHash");
    };
    (server, peer, response, user_name)
}

#[test]
fn challenge_format() {
    let ac = h::<16>(AUTH_CHALLENGE);
    let (_, challenge) = MschapServer::start(7, ac, "authd");
    // OpCode 1, MS-CHAPv2-ID, MS-Length 4+1+16+5, Value-Size 16.
    let mut expected = vec![1, 7, 0, 26, 16];
    expected.extend_from_slice(&ac);
    expected.extend_from_slice(b"authd");
    assert_eq!(challenge, expected);
    // The Name is cut at 256 octets; MS-Length follows.
    let (_, long) = MschapServer::start(1, ac, &"n".repeat(1000));
    assert_eq!(long.len(), 4 + 1 + 16 + 256);
    assert_eq!(u16::from_be_bytes([long[2], long[3]]), 277);
}

#[test]
fn right_password_round_trip() {
    let (mut server, mut peer, response, user_name) = to_need_hash(3, "alice", "s3cret");
    assert_eq!(user_name, "alice");
    // Response: OpCode 2, the Challenge's ID, MS-Length, Value-Size 49,
    // Peer-Challenge, 8 zero octets, NT-Response, Flags 0, Name.
    assert_eq!(&response[..2], &[2, 3]);
    assert_eq!(
        usize::from(u16::from_be_bytes([response[2], response[3]])),
        response.len()
    );
    assert_eq!(response[4], 49);
    assert_eq!(&response[5..21], &[0x22; 16]);
    assert_eq!(&response[21..29], &[0; 8]);
    assert_eq!(response[53], 0);
    assert_eq!(&response[54..], b"alice");

    assert!(server.msk().is_none());
    let hash = NtHash::of_password("s3cret");
    assert_eq!(server.nt_hash(Some(&hash)), MschapServerStep::Verified);
    assert!(server.msk().is_some());
    let success = send(server.allow());
    assert_eq!(&success[..2], &[3, 3]);
    assert_eq!(
        usize::from(u16::from_be_bytes([success[2], success[3]])),
        success.len()
    );
    assert!(success[4..].starts_with(b"S="));
    assert!(success[4..].ends_with(b" M=OK"));

    assert!(!peer.succeeded());
    assert_eq!(peer.process(&success), MschapPeerStep::Succeeded(vec![3]));
    assert!(peer.succeeded());
    assert_eq!(server.process(&[3]), MschapServerStep::Done);
    // Both ends hold the same MSK.
    assert!(server.msk().unwrap() == peer.msk().unwrap());
    // Anything further is refused without panicking.
    assert_eq!(
        server.process(&[3]),
        MschapServerStep::Fail(Reason::SessionFinished)
    );
    assert_eq!(
        peer.process(&success),
        MschapPeerStep::Fail(Reason::SessionFinished)
    );
}

fn failure_request(id: u8) -> Vec<u8> {
    let mut v = vec![4, id];
    v.extend_from_slice(
        &u16::try_from(4 + FAILURE_MESSAGE.len())
            .unwrap()
            .to_be_bytes(),
    );
    v.extend_from_slice(FAILURE_MESSAGE);
    v
}

#[test]
fn wrong_password_fails_with_e691() {
    let (mut server, mut peer, _, _) = to_need_hash(9, "alice", "wrong");
    let failure = send(server.nt_hash(Some(&NtHash::of_password("s3cret"))));
    assert_eq!(failure, failure_request(9));
    assert!(failure[4..].starts_with(b"E=691 R=0 C="));
    assert!(server.msk().is_none());
    assert_eq!(peer.process(&failure), MschapPeerStep::Send(vec![4]));
    assert!(!peer.succeeded());
    assert_eq!(peer.failure(), Some(&Reason::WrongPassword));
    assert_eq!(
        server.process(&[4]),
        MschapServerStep::Fail(Reason::WrongPassword)
    );
}

#[test]
fn no_credential_sends_the_same_failure() {
    let (mut server, mut peer, _, _) = to_need_hash(9, "nobody", "whatever");
    let failure = send(server.nt_hash(None));
    assert_eq!(failure, failure_request(9));
    assert_eq!(peer.process(&failure), MschapPeerStep::Send(vec![4]));
    assert_eq!(
        server.process(&[4]),
        MschapServerStep::Fail(Reason::NoCredential)
    );
}

#[test]
fn deny_after_verification_and_before_it() {
    let (mut server, mut peer, _, _) = to_need_hash(5, "alice", "s3cret");
    assert_eq!(
        server.nt_hash(Some(&NtHash::of_password("s3cret"))),
        MschapServerStep::Verified
    );
    let failure = send(server.deny());
    assert_eq!(failure, failure_request(5));
    assert!(server.msk().is_none());
    assert_eq!(peer.process(&failure), MschapPeerStep::Send(vec![4]));
    // Whatever the peer answers, the reason stays the server's.
    assert_eq!(
        server.process(b"junk"),
        MschapServerStep::Fail(Reason::AccessDenied)
    );

    let (mut server, _, _, _) = to_need_hash(5, "alice", "s3cret");
    assert_eq!(send(server.deny()), failure_request(5));
    assert_eq!(
        server.process(&[4]),
        MschapServerStep::Fail(Reason::AccessDenied)
    );
}

#[test]
fn peer_rejecting_the_success_request() {
    let (mut server, _, _, _) = to_need_hash(5, "alice", "s3cret");
    server.nt_hash(Some(&NtHash::of_password("s3cret")));
    send(server.allow());
    assert_eq!(
        server.process(&[4]),
        MschapServerStep::Fail(Reason::InnerFailure)
    );
}

/// RFC 2759 §9.2 driven through the server with a Response built by
/// hand from the RFC's values.
#[test]
fn rfc2759_vector_through_the_server() {
    let (mut server, _) = MschapServer::start(0x42, h(AUTH_CHALLENGE), "authd");
    let mut response = vec![2, 0x42, 0, 0, 49];
    response.extend_from_slice(&h::<16>(PEER_CHALLENGE));
    response.extend_from_slice(&[0; 8]);
    response.extend_from_slice(&h::<24>(NT_RESPONSE));
    response.push(0);
    response.extend_from_slice(b"User");
    let len = u16::try_from(response.len()).unwrap().to_be_bytes();
    response[2..4].copy_from_slice(&len);

    assert_eq!(
        server.process(&response),
        MschapServerStep::NeedNtHash {
            user_name: "User".into()
        }
    );
    assert_eq!(
        server.nt_hash(Some(&NtHash::of_password("clientPass"))),
        MschapServerStep::Verified
    );
    let success = send(server.allow());
    let mut expected = vec![3, 0x42, 0, 4 + 42 + 5];
    expected.extend_from_slice(AUTH_RESPONSE.as_bytes());
    expected.extend_from_slice(b" M=OK");
    assert_eq!(success, expected);
}

/// RFC 2759 §9.2 through our peer: with the RFC's challenges, the
/// NT-Response on the wire is the RFC's, also for a name with a domain
/// (RFC 2759 §4: the domain does not enter the computation), and the
/// peer accepts the RFC's authenticator response.
#[test]
fn rfc2759_vector_through_the_peer_with_a_domain() {
    for name in ["User", "EXAMPLE\\User"] {
        let (mut server, challenge) = MschapServer::start(1, h(AUTH_CHALLENGE), "authd");
        let mut peer = MschapPeer::new(name, "clientPass", h(PEER_CHALLENGE));
        let response = peer_send(peer.process(&challenge));
        assert_eq!(&response[29..53], &h::<24>(NT_RESPONSE), "{name}");
        assert_eq!(&response[54..], name.as_bytes());
        assert_eq!(
            server.process(&response),
            MschapServerStep::NeedNtHash {
                user_name: name.into()
            }
        );
        assert_eq!(
            server.nt_hash(Some(&NtHash::of_password("clientPass"))),
            MschapServerStep::Verified
        );
        let mut success = vec![3, 1, 0, 4 + 42];
        success.extend_from_slice(AUTH_RESPONSE.as_bytes());
        assert_eq!(peer.process(&success), MschapPeerStep::Succeeded(vec![3]));
    }
}

#[test]
fn domain_user_round_trip() {
    let (mut server, mut peer, _, user_name) = to_need_hash(2, "EXAMPLE\\alice", "pw");
    // The caller sees the name as sent, domain included.
    assert_eq!(user_name, "EXAMPLE\\alice");
    assert_eq!(
        server.nt_hash(Some(&NtHash::of_password("pw"))),
        MschapServerStep::Verified
    );
    let success = send(server.allow());
    assert_eq!(peer.process(&success), MschapPeerStep::Succeeded(vec![3]));
    assert_eq!(server.process(&[3]), MschapServerStep::Done);
}

#[test]
fn peer_refuses_a_wrong_authenticator_response() {
    let (mut server, challenge) = MschapServer::start(1, h(AUTH_CHALLENGE), "authd");
    let mut peer = MschapPeer::new("User", "clientPass", h(PEER_CHALLENGE));
    server.process(&peer_send(peer.process(&challenge)));
    let mut bad = vec![3, 1, 0, 4 + 42];
    bad.extend_from_slice(b"S=407A5589115FD0D6209F510FE9C04566932CDA57");
    assert!(matches!(
        peer.process(&bad),
        MschapPeerStep::Fail(Reason::InnerProtocol(_))
    ));
    assert!(!peer.succeeded());
    assert!(peer.msk().is_none());

    // The right S= followed by something other than a space.
    let mut peer = MschapPeer::new("User", "clientPass", h(PEER_CHALLENGE));
    peer.process(&challenge);
    let mut glued = vec![3, 1, 0, 4 + 43];
    glued.extend_from_slice(AUTH_RESPONSE.as_bytes());
    glued.push(b'M');
    assert!(matches!(
        peer.process(&glued),
        MschapPeerStep::Fail(Reason::InnerProtocol(_))
    ));
}

fn valid_response() -> Vec<u8> {
    let (_, challenge) = MschapServer::start(1, [0x11; 16], "authd");
    let mut peer = MschapPeer::new("alice", "pw", [0x22; 16]);
    peer_send(peer.process(&challenge))
}

fn server_fails(input: &[u8]) -> bool {
    let (mut server, _) = MschapServer::start(1, [0x11; 16], "authd");
    matches!(
        server.process(input),
        MschapServerStep::Fail(Reason::InnerProtocol(_))
    )
}

#[test]
fn malformed_responses_fail() {
    let good = valid_response();
    assert!(!server_fails(&good));
    let with_len = |mut v: Vec<u8>| {
        let len = u16::try_from(v.len()).unwrap().to_be_bytes();
        v[2..4].copy_from_slice(&len);
        v
    };
    // Truncated anywhere, with MS-Length left alone or corrected.
    for n in 0..good.len() {
        assert!(server_fails(&good[..n]), "truncated to {n}");
        if (4..54).contains(&n) {
            assert!(server_fails(&with_len(good[..n].to_vec())), "short {n}");
        }
    }
    // MS-Length one off either way.
    for delta in [-1i32, 1] {
        let mut v = good.clone();
        let len = u16::try_from(good.len() as i32 + delta).unwrap();
        v[2..4].copy_from_slice(&len.to_be_bytes());
        assert!(server_fails(&v));
    }
    // Value-Size other than 49.
    for size in [0u8, 16, 48, 50, 255] {
        let mut v = good.clone();
        v[4] = size;
        assert!(server_fails(&v), "value size {size}");
    }
    // Unexpected OpCodes, and another MS-CHAPv2-ID.
    for opcode in [0u8, 1, 3, 4, 7, 255] {
        let mut v = good.clone();
        v[0] = opcode;
        assert!(server_fails(&v), "opcode {opcode}");
    }
    let mut v = good.clone();
    v[1] = 2;
    assert!(server_fails(&v));
    // A Name that is not UTF-8.
    let mut v = good.clone();
    v.push(0xff);
    assert!(server_fails(&with_len(v)));
    // Trailing octets after a Success response.
    let (mut server, _, _, _) = to_need_hash(1, "alice", "pw");
    server.nt_hash(Some(&NtHash::of_password("pw")));
    send(server.allow());
    assert!(matches!(
        server.process(&[3, 0]),
        MschapServerStep::Fail(Reason::InnerProtocol(_))
    ));
}

#[test]
fn out_of_order_calls_fail() {
    let (mut server, _) = MschapServer::start(1, [0; 16], "authd");
    assert!(matches!(
        server.nt_hash(None),
        MschapServerStep::Fail(Reason::InnerProtocol(_))
    ));
    let (mut server, _) = MschapServer::start(1, [0; 16], "authd");
    assert!(matches!(
        server.allow(),
        MschapServerStep::Fail(Reason::InnerProtocol(_))
    ));
    let (mut server, _, response, _) = to_need_hash(1, "alice", "pw");
    assert!(matches!(
        server.allow(),
        MschapServerStep::Fail(Reason::InnerProtocol(_))
    ));
    let (mut server, _, _, _) = to_need_hash(1, "alice", "pw");
    assert!(matches!(
        server.process(&response),
        MschapServerStep::Fail(Reason::InnerProtocol(_))
    ));
}

#[test]
fn malformed_requests_fail_the_peer() {
    let (_, challenge) = MschapServer::start(1, [0x11; 16], "authd");
    let peer_fails = |input: &[u8]| {
        let mut peer = MschapPeer::new("alice", "pw", [0x22; 16]);
        matches!(
            peer.process(input),
            MschapPeerStep::Fail(Reason::InnerProtocol(_))
        )
    };
    for n in 0..21 {
        assert!(peer_fails(&challenge[..n]), "truncated to {n}");
    }
    let mut v = challenge.clone();
    v[4] = 15;
    assert!(peer_fails(&v));
    let mut v = challenge.clone();
    v[3] += 1;
    assert!(peer_fails(&v));
    // A Success or Failure request before any Challenge.
    let mut success = vec![3, 1, 0, 4 + 42];
    success.extend_from_slice(AUTH_RESPONSE.as_bytes());
    assert!(peer_fails(&success));
    assert!(peer_fails(&failure_request(1)));
    // A second Challenge after the Response.
    let mut peer = MschapPeer::new("alice", "pw", [0x22; 16]);
    peer.process(&challenge);
    assert!(matches!(
        peer.process(&challenge),
        MschapPeerStep::Fail(Reason::InnerProtocol(_))
    ));
}

#[test]
fn failure_reasons_on_the_peer() {
    assert_eq!(failure_reason(FAILURE_MESSAGE), Reason::WrongPassword);
    assert_eq!(
        failure_reason(b"E=647 R=0 C=00000000000000000000000000000000 V=3"),
        Reason::AccessDenied
    );
    assert!(matches!(
        failure_reason(b"M=nope"),
        Reason::InnerProtocol(_)
    ));
    assert!(matches!(failure_reason(b"E="), Reason::InnerProtocol(_)));
    assert!(matches!(
        failure_reason(b"E=99999999999999999999"),
        Reason::InnerProtocol(_)
    ));
}

/// Every single-octet change and every truncation of a valid exchange
/// fails or proceeds, never panics.
#[test]
fn mutations_never_panic() {
    let good = valid_response();
    for i in 0..good.len() {
        for b in [0u8, 1, 2, 3, 4, 0x31, 0x7f, 0xff] {
            let mut v = good.clone();
            v[i] = b;
            let (mut server, _) = MschapServer::start(1, [0x11; 16], "authd");
            if let MschapServerStep::NeedNtHash { .. } = server.process(&v) {
                let _ = server.nt_hash(Some(&NtHash::of_password("pw")));
                let _ = server.allow();
                let _ = server.process(&v);
            }
        }
    }
    let (_, challenge) = MschapServer::start(1, [0x11; 16], "authd");
    let mut success = vec![3, 1, 0, 4 + 47];
    success.extend_from_slice(AUTH_RESPONSE.as_bytes());
    success.extend_from_slice(b" M=OK");
    for msg in [&challenge, &success, &failure_request(1)] {
        for i in 0..msg.len() {
            for b in [0u8, b' ', b'S', b'=', 0xff] {
                let mut v = msg.clone();
                v[i] = b;
                let mut peer = MschapPeer::new("alice", "pw", [0x22; 16]);
                let _ = peer.process(&challenge);
                let _ = peer.process(&v);
                let _ = peer.process(&v[..i]);
            }
        }
    }
}
