//! EAP-TLS server and peer in memory, continued: oversized TLS messages,
//! method negotiation, discarded garbage, early Success, resumption.

#[path = "support/eap_tls_harness.rs"]
mod harness;

use harness::*;

/// Runs the exchange up to the EAP-TLS Start and returns its identifier.
fn to_tls_start(server: &mut ServerSession) -> u8 {
    let Outcome::Request(req) = server.handle_allow(&[]) else {
        panic!()
    };
    let resp = [0x02, req[1], 0x00, 0x06, 0x01, b'u'];
    let Outcome::Request(start) = server.handle_allow(&resp) else {
        panic!()
    };
    assert_eq!(start[4], 13);
    start[1]
}

#[test]
fn declared_tls_message_too_long() {
    let s = setup(TLS13);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let id = to_tls_start(&mut server);
    // EAP-Response/EAP-TLS, L+M, TLS Message Length 70000.
    let resp = [
        0x02, id, 0x00, 0x0c, 0x0d, 0xc0, 0x00, 0x01, 0x11, 0x70, 0x16, 0x03,
    ];
    match server.handle_allow(&resp) {
        Outcome::Failure { eap, reason } => {
            assert_eq!(eap, [0x04, id, 0x00, 0x04]);
            assert_eq!(
                reason,
                Reason::TlsMessageTooLong {
                    declared_or_actual: 70000
                }
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn actual_tls_message_too_long() {
    let s = setup(TLS13);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let mut id = to_tls_start(&mut server);
    // Fragments with M set and no length, 1000 octets each, until the
    // server gives up at 64 KiB.
    let mut frag = vec![0x02, id, 0x00, 0x00, 0x0d, 0x40];
    frag.extend(std::iter::repeat_n(0x16, 1000));
    let len = frag.len() as u16;
    frag[2..4].copy_from_slice(&len.to_be_bytes());
    for i in 0..100 {
        frag[1] = id;
        match server.handle_allow(&frag) {
            Outcome::Request(ack) => {
                assert_eq!(&ack[4..], &[0x0d, 0x00]);
                id = ack[1];
            }
            Outcome::Failure { reason, .. } => {
                assert_eq!(
                    reason,
                    Reason::TlsMessageTooLong {
                        declared_or_actual: 66000
                    }
                );
                assert_eq!(i, 65);
                return;
            }
            other => panic!("{other:?}"),
        }
    }
    panic!("no failure");
}

#[test]
fn nak_without_common_method_fails() {
    let s = setup(TLS13);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let id = to_tls_start(&mut server);
    // EAP-Response/Nak proposing MD5-Challenge (4) and PEAP (25).
    let nak = [0x02, id, 0x00, 0x07, 0x03, 0x04, 0x19];
    match server.handle_allow(&nak) {
        Outcome::Failure { reason, .. } => {
            assert_eq!(reason, Reason::NoCommonMethod(vec![4, 25]));
            assert_eq!(reason.label(), "no_common_method");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn server_discards_requests_and_garbage() {
    let s = setup(TLS13);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let id = to_tls_start(&mut server);
    assert!(matches!(
        server.handle_allow(&[0x01, id, 0x00, 0x05, 0x01]),
        Outcome::Discard(Reason::UnexpectedCode)
    ));
    assert!(matches!(
        server.handle_allow(&[0x02, id, 0x00, 0x09, 0x0d]),
        Outcome::Discard(Reason::Malformed(_))
    ));
    // A different method than the one requested.
    assert!(matches!(
        server.handle_allow(&[0x02, id, 0x00, 0x06, 0x04, 0x00]),
        Outcome::Discard(Reason::UnexpectedType)
    ));
}

#[test]
fn peer_naks_other_methods_and_rejects_early_success() {
    let s = setup(TLS13);
    let mut peer = PeerSession::new(peer_config(s.client.clone(), 1398));
    // EAP-Request/MD5-Challenge -> Nak proposing EAP-TLS.
    let md5 = [0x01, 0x03, 0x00, 0x06, 0x04, 0x00];
    let PeerOutcome::Response(nak) = peer.handle(&md5) else {
        panic!()
    };
    assert_eq!(nak, [0x02, 0x03, 0x00, 0x06, 0x03, 0x0d]);
    // EAP-TLS Start -> ClientHello; then an early EAP-Success.
    let start = [0x01, 0x04, 0x00, 0x06, 0x0d, 0x20];
    let PeerOutcome::Response(hello) = peer.handle(&start) else {
        panic!()
    };
    assert_eq!(hello[4], 0x0d);
    assert_eq!(hello[6], 0x16, "a TLS handshake record");
    assert!(matches!(
        peer.handle(&[0x03, 0x04, 0x00, 0x04]),
        PeerOutcome::Failure(Reason::HandshakeIncomplete)
    ));
    // Success before any method at all.
    let mut peer = PeerSession::new(peer_config(s.client.clone(), 1398));
    assert!(matches!(
        peer.handle(&[0x03, 0x01, 0x00, 0x04]),
        PeerOutcome::Failure(Reason::HandshakeIncomplete)
    ));
}

fn resumption(
    versions: &'static [&'static SupportedProtocolVersion],
    fragment_size: usize,
) -> (usize, usize) {
    let s = setup(versions);
    resumption_with(s.server.clone(), s.client.clone(), fragment_size)
}

fn resumption_with(
    server_config: Arc<ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    fragment_size: usize,
) -> (usize, usize) {
    let s = (server_config, client);
    let mut server = ServerSession::new(s.0.clone(), fragment_size);
    let mut peer = PeerSession::new(peer_config(s.1.clone(), fragment_size));
    let (first, _, full_rounds) = expect_success(run(&mut server, &mut peer));
    assert!(!first.peer.resumed);
    let mut server = ServerSession::new(s.0.clone(), fragment_size);
    let mut peer = PeerSession::new(peer_config(s.1.clone(), fragment_size));
    let (second, _, resumed_rounds) = expect_success(run(&mut server, &mut peer));
    println!(
        "{:?}: full {full_rounds} round trips, resumed {resumed_rounds}",
        second.peer.tls_version
    );
    assert!(second.peer.resumed);
    assert!(resumed_rounds < full_rounds);
    assert!(first.msk != second.msk);
    assert_ne!(first.session_id, second.session_id);
    (full_rounds, resumed_rounds)
}

#[test]
fn resumption_tls13_commitment_with_server_finished() {
    // With half-RTT data allowed, the resumed server flight carries the
    // commitment message after its Finished (RFC 9190 figure 3): the peer's
    // Finished is the last message, one round trip less than a full
    // handshake even when no fragmenting is needed.
    let s = setup(TLS13);
    let mut tls = (*s.server.tls).clone();
    tls.send_half_rtt_data = true;
    let server = Arc::new(ServerConfig::new(Arc::new(tls)));
    let (full, resumed) = resumption_with(server, s.client.clone(), 1398);
    assert_eq!(resumed + 1, full, "full {full}, resumed {resumed}");
}

#[test]
fn resumption_tls12() {
    // TLS 1.2 abbreviated handshake: Success follows the peer's Finished.
    resumption(TLS12, 1398);
}

#[test]
fn resumption_tls13() {
    // TLS 1.3 resumption has as many flights as a full handshake; with a
    // fragment size the certificate flights need fragmenting, the resumed
    // ones do not.
    resumption(TLS13, 300);
}

/// A server configuration that may seal the access_denied alert with the
/// connection's keys (what authd builds), optionally with half-RTT data
/// (the TLS 1.3 commitment in the resumed server flight).
fn denying_server(s: &Setup, half_rtt: bool) -> Arc<ServerConfig> {
    let mut tls = (*s.server.tls).clone();
    tls.enable_secret_extraction = true;
    tls.send_half_rtt_data = half_rtt;
    Arc::new(ServerConfig::new(Arc::new(tls)))
}

/// Runs one exchange answering every decision with `verdict`; returns how
/// it ended, the decisions asked for, and whether the peer saw the TLS 1.3
/// commitment message.
fn run_verdict(
    server: &Arc<ServerConfig>,
    client: &Arc<rustls::ClientConfig>,
    verdict: Verdict,
) -> (Ended, Vec<PeerVerified>, bool) {
    let mut session = ServerSession::new(server.clone(), 1398);
    let mut peer = PeerSession::new(peer_config(client.clone(), 1398));
    let mut asked = Vec::new();
    let ended = run_deciding(
        &mut session,
        &mut peer,
        |_, _, _| true,
        |v| {
            asked.push(v.clone());
            verdict
        },
    );
    let commitment = peer.commitment_received();
    (ended, asked, commitment)
}

/// RFC 9190 §2.5 / RFC 5216 §2.1.3: a refused peer gets a TLS
/// access_denied alert and then EAP-Failure, never the commitment message
/// or the server's Finished first.
fn expect_denied(ended: &Ended, asked: &[PeerVerified], commitment: bool, resumed: bool) {
    assert_eq!(asked.len(), 1, "exactly one decision asked for");
    assert_eq!(asked[0].identity, "alice@example.org");
    assert_eq!(asked[0].resumed, resumed);
    assert!(!asked[0].peer_certificates.is_empty());
    assert_eq!(expect_server_failure(ended), &Reason::AccessDenied);
    assert!(
        matches!(
            ended.peer,
            Some(PeerOutcome::Failure(Reason::PeerAlert(
                rustls::AlertDescription::AccessDenied
            )))
        ),
        "the peer read the access_denied alert: {:?}",
        ended.peer
    );
    assert!(!commitment, "no commitment message before the refusal");
}

#[test]
fn refused_peer_gets_access_denied_alert_tls12_and_tls13() {
    for (versions, v) in [
        (TLS12, ProtocolVersion::TLSv1_2),
        (TLS13, ProtocolVersion::TLSv1_3),
    ] {
        let s = setup(versions);
        let server = denying_server(&s, false);
        // Positive control: the same configuration, allowed.
        let (ended, asked, commitment) = run_verdict(&server, &s.client, Verdict::Allow);
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].tls_version, Some(v));
        let (auth, _, _) = expect_success(ended);
        assert_eq!(auth.peer.tls_version, Some(v));
        assert_eq!(commitment, v == ProtocolVersion::TLSv1_3);

        let s = setup(versions);
        let server = denying_server(&s, false);
        let (ended, asked, commitment) = run_verdict(&server, &s.client, Verdict::Deny);
        expect_denied(&ended, &asked, commitment, false);
    }
}

#[test]
fn refused_resumed_peer_gets_access_denied_alert() {
    // TLS 1.2 abbreviated handshake (the alert is sealed with the keys the
    // server's Finished already used), TLS 1.3 resumption, and TLS 1.3
    // with the commitment in the resumed server flight (decided before
    // that flight; the alert follows the peer's Finished).
    for (versions, half_rtt) in [(TLS12, false), (TLS13, false), (TLS13, true)] {
        let s = setup(versions);
        let server = denying_server(&s, half_rtt);
        let (ended, _, _) = run_verdict(&server, &s.client, Verdict::Allow);
        let (first, _, _) = expect_success(ended);
        assert!(!first.peer.resumed);
        let (ended, asked, commitment) = run_verdict(&server, &s.client, Verdict::Deny);
        expect_denied(&ended, &asked, commitment, true);
        // Positive control: the session resumes and is allowed.
        let (ended, asked, _) = run_verdict(&server, &s.client, Verdict::Allow);
        assert!(asked[0].resumed, "{versions:?} half_rtt={half_rtt}");
        let (again, _, _) = expect_success(ended);
        assert!(again.peer.resumed);
    }
}

#[test]
fn decision_answered_once_and_packets_wait_for_it() {
    let s = setup(TLS13);
    let server = denying_server(&s, false);
    let mut session = ServerSession::new(server.clone(), 1398);
    let mut peer = PeerSession::new(peer_config(s.client.clone(), 1398));
    // No decision pending: decide changes nothing.
    assert!(matches!(
        session.decide(Verdict::Allow),
        Outcome::Discard(_)
    ));
    let mut outcome = session.handle(&[]);
    let mut last_response = Vec::new();
    while let Outcome::Request(req) = outcome {
        let PeerOutcome::Response(resp) = peer.handle(&req) else {
            panic!("peer gave up")
        };
        outcome = session.handle(&resp);
        last_response = resp;
    }
    assert!(matches!(outcome, Outcome::Decide(_)), "{outcome:?}");
    // A retransmission while the decision is pending is discarded.
    assert!(matches!(
        session.handle(&last_response),
        Outcome::Discard(_)
    ));
    let Outcome::Request(commitment) = session.decide(Verdict::Allow) else {
        panic!("the commitment flight")
    };
    // Answered once: a second decide is refused.
    assert!(matches!(session.decide(Verdict::Deny), Outcome::Discard(_)));
    let PeerOutcome::Response(ack) = peer.handle(&commitment) else {
        panic!()
    };
    assert!(peer.commitment_received());
    assert!(matches!(session.handle(&ack), Outcome::Success { .. }));
}

#[test]
fn expanded_nak_ends_with_failure() {
    // RFC 3748 §5.3.2: Expanded Nak, Type 254, Vendor-Id 0, Vendor-Type 3,
    // proposing a vendor method. Answered with EAP-Failure, not silence.
    let s = setup(TLS13);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let id = to_tls_start(&mut server);
    let expanded_nak = [
        0x02, id, 0x00, 0x14, 0xfe, 0, 0, 0, 0, 0, 0, 3, 0xfe, 0, 0x9f, 0x3d, 0, 0, 0, 1,
    ];
    match server.handle(&expanded_nak) {
        Outcome::Failure { eap, reason } => {
            assert_eq!(reason, Reason::ExpandedNak);
            assert_eq!(eap, [0x04, id, 0x00, 0x04]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_hello_split_over_short_records_authenticates() {
    // A TLS 1.2 ClientHello fragmented into 32-octet records (rustls'
    // smallest max_fragment_size): the hello randoms for the Session-Id are
    // joined from several records (RFC 5246 §6.2.1).
    let s = setup(TLS12);
    let mut client = (*s.client).clone();
    client.max_fragment_size = Some(32);
    let client = Arc::new(client);
    let mut server = ServerSession::new(s.server.clone(), 1398);
    let mut peer = PeerSession::new(peer_config(client, 1398));
    let mut client_random = None;
    let ended = run_with(&mut server, &mut peer, |round, from_server, pkt| {
        if round == 2 && !from_server {
            let p = Packet::new_checked(&pkt[..]).unwrap();
            let t = TlsPacket::new_checked(p.type_data()).unwrap();
            let data = t.tls_data();
            // Several records, the first too short to hold the random.
            let first_len = usize::from(u16::from_be_bytes([data[3], data[4]]));
            assert!(first_len < 38, "first record {first_len} octets");
            client_random = hello_random(data, 1);
        }
        true
    });
    let (auth, _, _) = expect_success(ended);
    let client_random = client_random.expect("random found across records");
    assert_eq!(&auth.session_id[1..33], &client_random[..]);
}
