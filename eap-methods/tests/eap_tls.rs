//! EAP-TLS server and peer driven against each other in memory
//! (quinn-proto style pair): full handshakes over TLS 1.2 and 1.3,
//! fragmentation, duplicates and losses, certificate failures, resumption.

use std::sync::Arc;

use eap_methods::codec::{EapType, Packet};
use eap_methods::tls_common::{TlsPacket, classic_kx_provider, flags, hello_random};
use eap_methods::{
    Outcome, PeerAuthenticated, PeerConfig, PeerOutcome, PeerSession, PeerVerified, Reason,
    ServerConfig, ServerSession, Verdict,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber, date_time_ymd,
};
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use rustls::server::WebPkiClientVerifier;
use rustls::{ProtocolVersion, RootCertStore, SupportedProtocolVersion};

/// The server session with every decision answered Allow, for tests that
/// are not about authorization.
trait HandleAllow {
    fn handle_allow(&mut self, eap: &[u8]) -> Outcome;
}

impl HandleAllow for ServerSession {
    fn handle_allow(&mut self, eap: &[u8]) -> Outcome {
        match self.handle(eap) {
            Outcome::Decide(_) => self.decide(Verdict::Allow),
            other => other,
        }
    }
}

const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// An ECDSA P-256 leaf.
    fn leaf(&self, name: &str, client: bool, serial: u64, expired: bool) -> Leaf {
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.serial_number = Some(SerialNumber::from(serial));
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.der().clone(),
            key: key.serialize_der(),
        }
    }

    fn crl(&self, revoked_serial: u64) -> CertificateRevocationListDer<'static> {
        let params = CertificateRevocationListParams {
            this_update: date_time_ymd(2020, 1, 1),
            next_update: date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(revoked_serial),
                revocation_time: date_time_ymd(2021, 1, 1),
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer).unwrap().der().clone()
    }
}

struct Leaf {
    cert: CertificateDer<'static>,
    key: Vec<u8>,
}

impl Leaf {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivatePkcs8KeyDer::from(self.key.clone()).into()
    }
}

fn roots(ca: &Ca) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.der()).unwrap();
    Arc::new(roots)
}

struct ServerOpts {
    versions: &'static [&'static SupportedProtocolVersion],
    crls: Vec<CertificateRevocationListDer<'static>>,
    allow_unauthenticated: bool,
}

fn server_tls(ca: &Ca, server: &Leaf, opts: ServerOpts) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut verifier = WebPkiClientVerifier::builder_with_provider(roots(ca), provider.clone())
        .with_crls(opts.crls);
    if opts.allow_unauthenticated {
        verifier = verifier.allow_unauthenticated();
    }
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(opts.versions)
        .unwrap()
        .with_client_cert_verifier(verifier.build().unwrap())
        .with_single_cert(vec![server.cert.clone()], server.key())
        .unwrap();
    Arc::new(cfg)
}

fn client_tls(
    trusted: &Ca,
    client: Option<&Leaf>,
    versions: &'static [&'static SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(classic_kx_provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots(trusted));
    let cfg = match client {
        Some(c) => builder
            .with_client_auth_cert(vec![c.cert.clone()], c.key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    Arc::new(cfg)
}

fn peer_config(tls: Arc<rustls::ClientConfig>, fragment_size: usize) -> Arc<PeerConfig> {
    Arc::new(PeerConfig {
        identity: "alice@example.org".into(),
        method: eap_methods::peer::PeerMethod::Tls,
        tls,
        server_name: ServerName::try_from("radius.example.org").unwrap(),
        fragment_size,
        max_tls_message_len: 65536,
    })
}

/// A CA, a server and a client certificate, and configs for both sides.
struct Setup {
    server: Arc<ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn setup(versions: &'static [&'static SupportedProtocolVersion]) -> Setup {
    let ca = Ca::new("Test CA");
    let server_leaf = ca.leaf("radius.example.org", false, 2, false);
    let client_leaf = ca.leaf("alice@example.org", true, 3, false);
    let server = server_tls(
        &ca,
        &server_leaf,
        ServerOpts {
            versions,
            crls: vec![],
            allow_unauthenticated: false,
        },
    );
    Setup {
        server: Arc::new(ServerConfig::new(server)),
        client: client_tls(&ca, Some(&client_leaf), versions),
    }
}

/// How one exchange ended.
#[derive(Debug)]
struct Ended {
    server: Outcome,
    peer: Option<PeerOutcome>,
    /// EAP Request/Response round trips (Success/Failure not counted).
    round_trips: usize,
}

/// Drives a server and a peer against each other from EAP-Start.
/// `tamper(round, from_server, packet)` may alter a packet; returning
/// `false` drops it (the harness then stops).
fn run_with(
    server: &mut ServerSession,
    peer: &mut PeerSession,
    tamper: impl FnMut(usize, bool, &mut Vec<u8>) -> bool,
) -> Ended {
    run_deciding(server, peer, tamper, |_| Verdict::Allow)
}

/// [`run_with`], with `decide` answering every [`Outcome::Decide`].
fn run_deciding(
    server: &mut ServerSession,
    peer: &mut PeerSession,
    mut tamper: impl FnMut(usize, bool, &mut Vec<u8>) -> bool,
    mut decide: impl FnMut(&PeerVerified) -> Verdict,
) -> Ended {
    let mut outcome = server.handle(&[]);
    let mut round_trips = 0;
    loop {
        match outcome {
            Outcome::Decide(verified) => {
                outcome = server.decide(decide(&verified));
            }
            Outcome::NeedCredential(q) => panic!("EAP-TLS asked for a credential: {q:?}"),
            Outcome::Request(mut req) => {
                round_trips += 1;
                assert!(round_trips < 500, "no progress");
                if !tamper(round_trips, true, &mut req) {
                    return Ended {
                        server: Outcome::Request(req),
                        peer: None,
                        round_trips,
                    };
                }
                match peer.handle(&req) {
                    PeerOutcome::Response(mut resp) => {
                        if !tamper(round_trips, false, &mut resp) {
                            return Ended {
                                server: Outcome::Request(req),
                                peer: None,
                                round_trips,
                            };
                        }
                        outcome = server.handle(&resp);
                    }
                    other => {
                        return Ended {
                            server: Outcome::Request(req),
                            peer: Some(other),
                            round_trips,
                        };
                    }
                }
            }
            Outcome::Success { ref eap, .. } | Outcome::Failure { ref eap, .. } => {
                let p = peer.handle(eap);
                return Ended {
                    server: outcome,
                    peer: Some(p),
                    round_trips,
                };
            }
            Outcome::Discard(_) => {
                return Ended {
                    server: outcome,
                    peer: None,
                    round_trips,
                };
            }
        }
    }
}

fn run(server: &mut ServerSession, peer: &mut PeerSession) -> Ended {
    run_with(server, peer, |_, _, _| true)
}

fn expect_success(
    ended: Ended,
) -> (
    Box<eap_methods::Authenticated>,
    Box<PeerAuthenticated>,
    usize,
) {
    let Outcome::Success { eap, auth } = ended.server else {
        panic!("server did not succeed: {:?}", ended.server);
    };
    assert_eq!(eap[0], 3);
    let Some(PeerOutcome::Success(peer)) = ended.peer else {
        panic!("peer did not succeed: {:?}", ended.peer);
    };
    assert!(auth.msk == peer.msk, "MSK differs");
    assert!(auth.emsk == peer.emsk, "EMSK differs");
    assert_eq!(auth.session_id, peer.session_id, "Session-Id differs");
    assert_ne!(auth.msk.as_bytes(), &[0u8; 64]);
    assert_ne!(auth.emsk.as_bytes(), &[0u8; 64]);
    assert_ne!(auth.msk.as_bytes()[..], auth.emsk.as_bytes()[..]);
    assert_eq!(auth.session_id.len(), 65);
    assert_eq!(auth.session_id[0], 0x0d);
    assert_eq!(auth.peer.tls_version, peer.tls_version);
    assert_eq!(auth.peer.resumed, peer.resumed);
    assert_eq!(auth.peer.identity, "alice@example.org");
    assert_eq!(auth.peer.method, EapType::Tls);
    assert!(!auth.peer.peer_certificates.is_empty());
    (auth, peer, ended.round_trips)
}

fn expect_server_failure(ended: &Ended) -> &Reason {
    match &ended.server {
        Outcome::Failure { eap, reason } => {
            assert_eq!(eap[0], 4);
            assert!(
                matches!(ended.peer, Some(PeerOutcome::Failure(_))),
                "peer: {:?}",
                ended.peer
            );
            reason
        }
        other => panic!("expected failure, got {other:?}"),
    }
}

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
