//! EAP-TLS server and peer driven against each other in memory
//! (quinn-proto style pair): full handshakes over TLS 1.2 and 1.3,
//! fragmentation, duplicates and losses, certificate failures, resumption.

#[path = "support/eap_tls_harness.rs"]
mod harness;

use harness::*;

fn full_handshake(versions: &'static [&'static SupportedProtocolVersion], v: ProtocolVersion) {
    let s = setup(versions);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let mut peer = PeerSession::new(peer_config(s.client.clone(), 1398));
    let (auth, _, rounds) = expect_success(run(&mut server, &mut peer));
    println!("{v:?}: {rounds} EAP round trips with fragment size 1398");
    assert_eq!(auth.peer.tls_version, Some(v));
    assert!(!auth.peer.resumed);
    assert_eq!(server.identity(), Some("alice@example.org"));
    // Identity + Start/ClientHello + server flight/client flight + final
    // flight/ACK.
    assert_eq!(rounds, 4);
    if v == ProtocolVersion::TLSv1_3 {
        assert!(peer.commitment_received());
    }
}

#[test]
fn full_handshake_tls12() {
    full_handshake(TLS12, ProtocolVersion::TLSv1_2);
}

#[test]
fn full_handshake_tls13() {
    full_handshake(TLS13, ProtocolVersion::TLSv1_3);
}

#[test]
fn tls12_session_id_is_type_and_hello_randoms() {
    // RFC 5216 §2.3: Session-Id = 0x0D || client.random || server.random.
    let s = setup(TLS12);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let mut peer = PeerSession::new(peer_config(s.client.clone(), 1398));
    let mut client_random = None;
    let mut server_random = None;
    let ended = run_with(&mut server, &mut peer, |round, from_server, pkt| {
        let p = Packet::new_checked(&pkt[..]).unwrap();
        if round == 2 && !from_server {
            let t = TlsPacket::new_checked(p.type_data()).unwrap();
            client_random = hello_random(t.tls_data(), 1);
        }
        if round == 3 && from_server {
            let t = TlsPacket::new_checked(p.type_data()).unwrap();
            server_random = hello_random(t.tls_data(), 2);
        }
        true
    });
    let (auth, _, _) = expect_success(ended);
    let (c, s) = (client_random.unwrap(), server_random.unwrap());
    assert_eq!(&auth.session_id[1..33], &c);
    assert_eq!(&auth.session_id[33..], &s);
}

#[test]
fn small_fragments_both_directions() {
    for (versions, v) in [
        (TLS12, ProtocolVersion::TLSv1_2),
        (TLS13, ProtocolVersion::TLSv1_3),
    ] {
        for size in [64, 200] {
            // A fresh client config per run, so nothing is resumed.
            let s = setup(versions);
            let mut server = ServerSession::new(s.server.clone(), size);
            let mut peer = PeerSession::new(peer_config(s.client.clone(), size));
            let mut server_fragments = 0;
            let mut peer_fragments = 0;
            let ended = run_with(&mut server, &mut peer, |_, from_server, pkt| {
                let p = Packet::new_checked(&pkt[..]).unwrap();
                if p.eap_type() == Some(EapType::Tls) {
                    let t = TlsPacket::new_checked(p.type_data()).unwrap();
                    assert!(t.tls_data().len() <= size);
                    if t.more_fragments() {
                        if from_server {
                            server_fragments += 1;
                        } else {
                            peer_fragments += 1;
                        }
                    }
                }
                true
            });
            let (auth, _, rounds) = expect_success(ended);
            assert_eq!(auth.peer.tls_version, Some(v));
            println!("{v:?}: {rounds} round trips with fragment size {size}");
            assert!(rounds > 4);
            assert!(server_fragments > 0 && peer_fragments > 0);
        }
    }
}

#[test]
fn eap_start_answers_identity_request() {
    let s = setup(TLS13);
    let mut server = ServerSession::with_initial_identifier(s.server.clone(), 1000, 7);
    let Outcome::Request(req) = server.handle_allow(&[]) else {
        panic!()
    };
    assert_eq!(req, [0x01, 0x07, 0x00, 0x05, 0x01]);
    // A second EAP-Start in the same session is discarded.
    assert!(matches!(
        server.handle_allow(&[]),
        Outcome::Discard(Reason::UnexpectedCode)
    ));
}

#[test]
fn nas_solicited_identity_starts_tls() {
    let s = setup(TLS13);
    let mut server = ServerSession::new(s.server.clone(), 1000);
    let resp = [0x02, 0x2a, 0x00, 0x09, 0x01, b'u', b's', b'e', b'r'];
    let Outcome::Request(req) = server.handle_allow(&resp) else {
        panic!()
    };
    // EAP-TLS Start, next identifier.
    assert_eq!(req, [0x01, 0x2b, 0x00, 0x06, 0x0d, flags::START]);
    assert_eq!(server.identity(), Some("user"));
}

#[test]
fn duplicate_response_is_discarded() {
    let s = setup(TLS12);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let mut peer = PeerSession::new(peer_config(s.client.clone(), 1398));
    let Outcome::Request(identity_req) = server.handle_allow(&[]) else {
        panic!()
    };
    let PeerOutcome::Response(identity_resp) = peer.handle(&identity_req) else {
        panic!()
    };
    let Outcome::Request(start) = server.handle_allow(&identity_resp) else {
        panic!()
    };
    let PeerOutcome::Response(client_hello) = peer.handle(&start) else {
        panic!()
    };
    let Outcome::Request(flight) = server.handle_allow(&client_hello) else {
        panic!()
    };
    // Re-delivered ClientHello and Identity: stale identifiers.
    for dup in [&client_hello, &identity_resp] {
        match server.handle_allow(dup) {
            Outcome::Discard(Reason::UnexpectedIdentifier { expected, got }) => {
                assert_eq!(expected, flight[1]);
                assert_eq!(got, dup[1]);
            }
            other => panic!("{other:?}"),
        }
    }
    // The state did not move: the exchange completes normally.
    let PeerOutcome::Response(client_flight) = peer.handle(&flight) else {
        panic!()
    };
    let Outcome::Request(fin) = server.handle_allow(&client_flight) else {
        panic!()
    };
    let PeerOutcome::Response(ack) = peer.handle(&fin) else {
        panic!()
    };
    let Outcome::Success { eap, auth } = server.handle_allow(&ack) else {
        panic!()
    };
    let PeerOutcome::Success(p) = peer.handle(&eap) else {
        panic!()
    };
    assert!(auth.msk == p.msk);
    // After the end, everything is discarded.
    assert!(matches!(
        server.handle_allow(&ack),
        Outcome::Discard(Reason::SessionFinished)
    ));
}

#[test]
fn lost_fragment_then_retransmission() {
    let s = setup(TLS13);
    let mut server = ServerSession::new(s.server.clone(), 200);
    let mut peer = PeerSession::new(peer_config(s.client.clone(), 200));
    let send = |server: &mut ServerSession, pkt: &[u8]| match server.handle_allow(pkt) {
        Outcome::Request(r) => r,
        other => panic!("{other:?}"),
    };
    let resp = |peer: &mut PeerSession, pkt: &[u8]| match peer.handle(pkt) {
        PeerOutcome::Response(r) => r,
        other => panic!("{other:?}"),
    };
    let req = send(&mut server, &[]);
    let r = resp(&mut peer, &req);
    let start = send(&mut server, &r);
    let mut r = resp(&mut peer, &start);
    // Walk the peer's ClientHello fragments to the server's first flight.
    let mut req = send(&mut server, &r);
    while Packet::new_checked(&req[..]).unwrap().type_data() == [0] {
        r = resp(&mut peer, &req);
        req = send(&mut server, &r);
    }
    let first_fragment = req.clone();
    let ack1 = resp(&mut peer, &first_fragment);
    let lost = send(&mut server, &ack1);
    assert_ne!(lost, first_fragment);
    // `lost` never reaches the peer. The authenticator retransmits the
    // first fragment instead; the peer answers with the same ACK, which
    // the server discards as stale.
    let again = resp(&mut peer, &first_fragment);
    assert_eq!(again, ack1);
    assert!(matches!(
        server.handle_allow(&again),
        Outcome::Discard(Reason::UnexpectedIdentifier { .. })
    ));
    // A garbled packet in between does not hurt either side.
    assert!(matches!(
        peer.handle(&lost[..3]),
        PeerOutcome::Discard(Reason::Malformed(_))
    ));
    // The retransmitted lost fragment lets the exchange complete.
    let mut outcome = Outcome::Request(lost);
    let mut peer_out = None;
    for _ in 0..100 {
        match outcome {
            Outcome::Request(ref r) => match peer.handle(r) {
                PeerOutcome::Response(x) => outcome = server.handle_allow(&x),
                other => panic!("{other:?}"),
            },
            Outcome::Success { ref eap, .. } => {
                peer_out = Some(peer.handle(eap));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let (Outcome::Success { auth, .. }, Some(PeerOutcome::Success(p))) = (outcome, peer_out) else {
        panic!("no success")
    };
    assert!(auth.msk == p.msk);
}

#[test]
fn tampered_client_record_fails() {
    for versions in [TLS12, TLS13] {
        let s = setup(versions);
        let mut server = ServerSession::new(s.server.clone(), 1398);
        let mut peer = PeerSession::new(peer_config(s.client.clone(), 1398));
        // Round 3 carries the peer's Certificate...Finished flight; flip
        // its last octet (inside the encrypted Finished record).
        let ended = run_with(&mut server, &mut peer, |round, from_server, pkt| {
            if round == 3
                && !from_server
                && let Some(b) = pkt.last_mut()
            {
                *b ^= 0x01;
            }
            true
        });
        let reason = expect_server_failure(&ended);
        assert!(
            matches!(reason, Reason::Tls(_) | Reason::PeerAlert(_)),
            "{reason:?}"
        );
        println!("tampered client record: {reason}");
    }
}

#[test]
fn truncated_server_flight_fails() {
    // Flip the last octet of the TLS 1.2 ServerHelloDone (its length): the
    // peer is left waiting inside the handshake, acknowledges, and the
    // exchange ends in failure on both sides.
    let s = setup(TLS12);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let mut peer = PeerSession::new(peer_config(s.client.clone(), 1398));
    let ended = run_with(&mut server, &mut peer, |round, from_server, pkt| {
        if round == 3
            && from_server
            && let Some(b) = pkt.last_mut()
        {
            *b ^= 0x01;
        }
        true
    });
    assert_eq!(expect_server_failure(&ended), &Reason::HandshakeIncomplete);
}

#[test]
fn tampered_server_record_fails() {
    // The last encrypted record from the server: TLS 1.2 Finished (round 4),
    // TLS 1.3 Finished (round 3).
    for (versions, tamper_round) in [(TLS12, 4), (TLS13, 3)] {
        let s = setup(versions);
        let mut server = ServerSession::new(s.server.clone(), 1398);
        let mut peer = PeerSession::new(peer_config(s.client.clone(), 1398));
        let ended = run_with(&mut server, &mut peer, |round, from_server, pkt| {
            if round == tamper_round
                && from_server
                && let Some(b) = pkt.last_mut()
            {
                *b ^= 0x01;
            }
            true
        });
        // The peer rejects the server's flight and alerts; the server
        // fails on that alert.
        let reason = match &ended.server {
            Outcome::Failure { reason, .. } => reason.clone(),
            other => panic!("{other:?}"),
        };
        assert!(matches!(reason, Reason::PeerAlert(_)), "{reason:?}");
        assert!(matches!(
            ended.peer,
            Some(PeerOutcome::Failure(Reason::Tls(_)))
        ));
    }
}

fn client_cert_failure(
    make: impl Fn(&Ca) -> (Leaf, Vec<CertificateRevocationListDer<'static>>),
    versions: &'static [&'static SupportedProtocolVersion],
) -> Reason {
    let ca = Ca::new("Test CA");
    let server_leaf = ca.leaf("radius.example.org", false, 2, false);
    let (client_leaf, crls) = make(&ca);
    let server_tls = server_tls(
        &ca,
        &server_leaf,
        ServerOpts {
            versions,
            crls,
            allow_unauthenticated: false,
        },
    );
    let mut server = ServerSession::new(Arc::new(ServerConfig::new(server_tls)), 1398);
    let mut peer = PeerSession::new(peer_config(
        client_tls(&ca, Some(&client_leaf), versions),
        1398,
    ));
    let ended = run(&mut server, &mut peer);
    let reason = expect_server_failure(&ended).clone();
    // The server's alert reached the peer, which reports it.
    assert!(
        matches!(ended.peer, Some(PeerOutcome::Failure(Reason::PeerAlert(_)))),
        "{:?}",
        ended.peer
    );
    reason
}

#[test]
fn untrusted_client_ca_fails() {
    for versions in [TLS12, TLS13] {
        let reason = client_cert_failure(
            |_| {
                let rogue = Ca::new("Rogue CA");
                (rogue.leaf("mallory", true, 9, false), vec![])
            },
            versions,
        );
        println!("{reason}");
        assert!(reason.to_string().contains("unknown issuer"), "{reason}");
        assert_eq!(reason.label(), "tls_unknown_issuer");
    }
}

#[test]
fn revoked_client_cert_fails() {
    for versions in [TLS12, TLS13] {
        let reason = client_cert_failure(
            |ca| (ca.leaf("revoked-user", true, 77, false), vec![ca.crl(77)]),
            versions,
        );
        println!("{reason}");
        assert!(reason.to_string().contains("revoked"), "{reason}");
    }
}

#[test]
fn crl_for_other_serial_does_not_block() {
    let ca = Ca::new("Test CA");
    let server_leaf = ca.leaf("radius.example.org", false, 2, false);
    let client_leaf = ca.leaf("alice@example.org", true, 3, false);
    let tls = server_tls(
        &ca,
        &server_leaf,
        ServerOpts {
            versions: TLS13,
            crls: vec![ca.crl(77)],
            allow_unauthenticated: false,
        },
    );
    let mut server = ServerSession::new(Arc::new(ServerConfig::new(tls)), 1398);
    let mut peer = PeerSession::new(peer_config(
        client_tls(&ca, Some(&client_leaf), TLS13),
        1398,
    ));
    expect_success(run(&mut server, &mut peer));
}

#[test]
fn expired_client_cert_fails() {
    for versions in [TLS12, TLS13] {
        let reason =
            client_cert_failure(|ca| (ca.leaf("old-user", true, 5, true), vec![]), versions);
        println!("{reason}");
        assert!(reason.to_string().contains("expired"), "{reason}");
    }
}

#[test]
fn missing_client_cert_fails() {
    let ca = Ca::new("Test CA");
    let server_leaf = ca.leaf("radius.example.org", false, 2, false);
    for versions in [TLS12, TLS13] {
        // Even with a verifier that lets anonymous clients through, EAP-TLS
        // insists on a client certificate.
        let tls = server_tls(
            &ca,
            &server_leaf,
            ServerOpts {
                versions,
                crls: vec![],
                allow_unauthenticated: true,
            },
        );
        let mut server = ServerSession::new(Arc::new(ServerConfig::new(tls)), 1398);
        let mut peer = PeerSession::new(peer_config(client_tls(&ca, None, versions), 1398));
        let ended = run(&mut server, &mut peer);
        assert_eq!(expect_server_failure(&ended), &Reason::NoPeerCertificate);
    }
}

#[test]
fn peer_rejects_untrusted_server() {
    let ca = Ca::new("Test CA");
    let other = Ca::new("Other CA");
    let server_leaf = ca.leaf("radius.example.org", false, 2, false);
    let client_leaf = ca.leaf("alice@example.org", true, 3, false);
    for versions in [TLS12, TLS13] {
        let tls = server_tls(
            &ca,
            &server_leaf,
            ServerOpts {
                versions,
                crls: vec![],
                allow_unauthenticated: false,
            },
        );
        let mut server = ServerSession::new(Arc::new(ServerConfig::new(tls)), 1398);
        // The peer trusts only `other`.
        let mut peer = PeerSession::new(peer_config(
            client_tls(&other, Some(&client_leaf), versions),
            1398,
        ));
        let ended = run(&mut server, &mut peer);
        let reason = expect_server_failure(&ended);
        assert!(
            matches!(
                reason,
                Reason::PeerAlert(rustls::AlertDescription::UnknownCA)
            ),
            "{reason:?}"
        );
        let Some(PeerOutcome::Failure(peer_reason)) = &ended.peer else {
            panic!()
        };
        assert!(peer_reason.to_string().contains("unknown issuer"));
    }
}
