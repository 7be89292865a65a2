//! PEAP and EAP-TTLS servers and peers driven against each other in
//! memory: every inner method on TLS 1.2 and 1.3, the credential question
//! and the decision, wrong passwords and refusals, method negotiation by
//! Nak, small fragments. The keys these derive are checked against real
//! peers (eapol_test's "MPPE keys OK" and Session-Id match) in the authd
//! end-to-end tests; here the state machines are under test.

use std::sync::Arc;

use eap_methods::codec::EapType;
use eap_methods::mschapv2::NtHash;
use eap_methods::peer::{PasswordCredentials, PeerMethod, TtlsInner};
use eap_methods::tls_common::classic_kx_provider;
use eap_methods::{
    Credential, CredentialKind, InnerMethod, Outcome, PeerConfig, PeerOutcome, PeerSession,
    PeerVerified, Reason, ServerConfig, ServerSession, Verdict,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ProtocolVersion, RootCertStore, SupportedProtocolVersion};

const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
const USER: &str = "alice";
const PASSWORD: &str = "correct horse";
const OUTER: &str = "anonymous@example.org";

struct Pki {
    ca: CertificateDer<'static>,
    server_cert: CertificateDer<'static>,
    server_key: Vec<u8>,
}

fn pki() -> Pki {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Tunnel Test CA");
    params.distinguished_name = dn;
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let issuer = CertifiedIssuer::self_signed(params, ca_key).unwrap();
    let mut leaf = CertificateParams::new(vec!["radius.example.org".to_owned()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    Pki {
        ca: issuer.der().clone(),
        server_cert: cert.der().clone(),
        server_key: key.serialize_der(),
    }
}

/// A PEAP/TTLS server configuration: no client certificate.
fn tunnel_tls(
    pki: &Pki,
    versions: &'static [&'static SupportedProtocolVersion],
) -> Arc<rustls::ServerConfig> {
    let key: PrivateKeyDer<'static> = PrivatePkcs8KeyDer::from(pki.server_key.clone()).into();
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![pki.server_cert.clone()], key)
    .unwrap();
    cfg.send_half_rtt_data = false;
    Arc::new(cfg)
}

fn server_config(
    pki: &Pki,
    versions: &'static [&'static SupportedProtocolVersion],
    methods: &[EapType],
) -> Arc<ServerConfig> {
    // EAP-TLS's configuration is not under test here: the tunnel one
    // stands in for it (a peer that Naks it never uses it).
    let tls = tunnel_tls(pki, versions);
    let mut config = ServerConfig::new(tls.clone());
    config.peap = Some(tunnel_tls(pki, versions));
    config.ttls = Some(tunnel_tls(pki, versions));
    config.methods = methods.to_vec();
    Arc::new(config)
}

fn peer(
    pki: &Pki,
    versions: &'static [&'static SupportedProtocolVersion],
    method: PeerMethod,
    fragment_size: usize,
) -> PeerSession {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(classic_kx_provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    PeerSession::new(Arc::new(PeerConfig {
        identity: OUTER.into(),
        method,
        tls: Arc::new(tls),
        server_name: ServerName::try_from("radius.example.org").unwrap(),
        fragment_size,
        max_tls_message_len: 65536,
    }))
}

fn credentials(user: &str, password: &str) -> PasswordCredentials {
    PasswordCredentials {
        user: user.into(),
        password: zeroize::Zeroizing::new(password.into()),
    }
}

/// The store of these tests: one user, alice.
fn answer(kind: &CredentialKind, user: &str) -> Credential {
    let known = user == USER || user.ends_with("\\alice");
    match kind {
        CredentialKind::NtHash => Credential::NtHash(known.then(|| NtHash::of_password(PASSWORD))),
        CredentialKind::Password(p) => {
            Credential::PasswordChecked(known && &p[..] == PASSWORD.as_bytes())
        }
    }
}

/// How a run ended.
struct Ended {
    server: Outcome,
    peer: Option<PeerOutcome>,
    round_trips: usize,
    asked: Vec<String>,
    decided: Vec<PeerVerified>,
}

fn run(server: &mut ServerSession, peer: &mut PeerSession, verdict: Verdict) -> Ended {
    let mut outcome = server.handle(&[]);
    let mut round_trips = 0;
    let mut asked = Vec::new();
    let mut decided = Vec::new();
    loop {
        match outcome {
            Outcome::NeedCredential(q) => {
                asked.push(q.user.clone());
                outcome = server.credential(answer(&q.kind, &q.user));
            }
            Outcome::Decide(v) => {
                decided.push((*v).clone());
                outcome = server.decide(verdict);
            }
            Outcome::Request(req) => {
                round_trips += 1;
                assert!(round_trips < 200, "no progress");
                match peer.handle(&req) {
                    PeerOutcome::Response(resp) => outcome = server.handle(&resp),
                    other => {
                        return Ended {
                            server: Outcome::Request(req),
                            peer: Some(other),
                            round_trips,
                            asked,
                            decided,
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
                    asked,
                    decided,
                };
            }
            Outcome::Discard(r) => panic!("server discarded a packet: {r:?}"),
        }
    }
}

fn methods() -> Vec<(PeerMethod, EapType, InnerMethod, u8)> {
    let c = || credentials(USER, PASSWORD);
    vec![
        (
            PeerMethod::Peap(c()),
            EapType::Peap,
            InnerMethod::EapMschapV2,
            25,
        ),
        (
            PeerMethod::Ttls(TtlsInner::Pap, c()),
            EapType::Ttls,
            InnerMethod::Pap,
            21,
        ),
        (
            PeerMethod::Ttls(TtlsInner::MschapV2, c()),
            EapType::Ttls,
            InnerMethod::MschapV2,
            21,
        ),
        (
            PeerMethod::Ttls(TtlsInner::EapMschapV2, c()),
            EapType::Ttls,
            InnerMethod::EapMschapV2,
            21,
        ),
    ]
}

#[test]
fn every_inner_method_succeeds_on_tls12_and_tls13_with_equal_keys() {
    let pki = pki();
    for (versions, version) in [
        (TLS12, ProtocolVersion::TLSv1_2),
        (TLS13, ProtocolVersion::TLSv1_3),
    ] {
        for (method, eap_type, inner, type_code) in methods() {
            let label = format!("{method:?} {version:?}");
            let mut server = ServerSession::new(server_config(&pki, versions, &[eap_type]), 1000);
            let mut p = peer(&pki, versions, method, 1000);
            let ended = run(&mut server, &mut p, Verdict::Allow);
            let Outcome::Success { auth, .. } = ended.server else {
                panic!("{label}: server did not succeed: {:?}", ended.server);
            };
            let Some(PeerOutcome::Success(peer_auth)) = ended.peer else {
                panic!("{label}: peer did not succeed: {:?}", ended.peer);
            };
            assert!(auth.msk == peer_auth.msk, "{label}: MSK differs");
            assert!(auth.emsk == peer_auth.emsk, "{label}: EMSK differs");
            assert_eq!(auth.session_id, peer_auth.session_id, "{label}");
            // RFC 9427 §2.1 / RFC 5216 §2.3: Type-Code, then 64 octets.
            assert_eq!(auth.session_id[0], type_code, "{label}");
            assert_eq!(auth.session_id.len(), 65, "{label}");
            assert_eq!(auth.peer.tls_version, Some(version), "{label}");
            assert_eq!(auth.peer.identity, USER, "{label}");
            assert_eq!(auth.peer.outer_identity.as_deref(), Some(OUTER), "{label}");
            assert_eq!(auth.peer.inner, Some(inner), "{label}");
            assert_eq!(auth.peer.method, eap_type, "{label}");
            assert!(auth.peer.peer_certificates.is_empty(), "{label}");
            // The credential was asked for the inner identity, never the
            // outer one, and the decision named it too.
            assert_eq!(ended.asked, vec![USER.to_owned()], "{label}");
            assert_eq!(ended.decided.len(), 1, "{label}");
            assert_eq!(ended.decided[0].identity, USER, "{label}");
            assert_eq!(ended.decided[0].inner, Some(inner), "{label}");
        }
    }
}

#[test]
fn a_wrong_password_fails_on_both_sides() {
    let pki = pki();
    for versions in [TLS12, TLS13] {
        for (method, eap_type, _, _) in methods() {
            let wrong = match method {
                PeerMethod::Peap(_) => PeerMethod::Peap(credentials(USER, "wrong")),
                PeerMethod::Ttls(inner, _) => PeerMethod::Ttls(inner, credentials(USER, "wrong")),
                PeerMethod::Tls => unreachable!(),
            };
            let label = format!("{wrong:?}");
            let mut server = ServerSession::new(server_config(&pki, versions, &[eap_type]), 1000);
            let mut p = peer(&pki, versions, wrong, 1000);
            let ended = run(&mut server, &mut p, Verdict::Allow);
            match ended.server {
                Outcome::Failure { reason, .. } => {
                    assert_eq!(reason, Reason::WrongPassword, "{label}")
                }
                other => panic!("{label}: expected failure, got {other:?}"),
            }
            assert!(
                matches!(ended.peer, Some(PeerOutcome::Failure(_))),
                "{label}: {:?}",
                ended.peer
            );
            // Never asked to decide: the password did not verify.
            assert!(ended.decided.is_empty(), "{label}");
        }
    }
}

#[test]
fn an_unknown_user_is_told_the_same_as_a_wrong_password() {
    let pki = pki();
    let mut server = ServerSession::new(server_config(&pki, TLS12, &[EapType::Peap]), 1000);
    let mut p = peer(
        &pki,
        TLS12,
        PeerMethod::Peap(credentials("mallory", "x")),
        1000,
    );
    let ended = run(&mut server, &mut p, Verdict::Allow);
    match ended.server {
        Outcome::Failure { reason, .. } => assert_eq!(reason, Reason::NoCredential),
        other => panic!("expected failure, got {other:?}"),
    }
    assert_eq!(ended.asked, vec!["mallory".to_owned()]);
    assert!(matches!(ended.peer, Some(PeerOutcome::Failure(_))));
}

#[test]
fn a_refusal_after_the_right_password_sends_no_success() {
    let pki = pki();
    for versions in [TLS12, TLS13] {
        for (method, eap_type, _, _) in methods() {
            let label = format!("{method:?}");
            let mut server = ServerSession::new(server_config(&pki, versions, &[eap_type]), 1000);
            let mut p = peer(&pki, versions, method, 1000);
            let ended = run(&mut server, &mut p, Verdict::Deny);
            assert_eq!(ended.decided.len(), 1, "{label}: decision asked once");
            match ended.server {
                Outcome::Failure { reason, .. } => {
                    assert_eq!(reason, Reason::AccessDenied, "{label}")
                }
                other => panic!("{label}: expected failure, got {other:?}"),
            }
            assert!(
                matches!(ended.peer, Some(PeerOutcome::Failure(_))),
                "{label}: {:?}",
                ended.peer
            );
        }
    }
}

#[test]
fn a_domain_prefix_reaches_the_caller_and_the_challenge_hash_leaves_it_out() {
    let pki = pki();
    for (method, eap_type) in [
        (
            PeerMethod::Peap(credentials("EXAMPLE\\alice", PASSWORD)),
            EapType::Peap,
        ),
        (
            PeerMethod::Ttls(TtlsInner::MschapV2, credentials("EXAMPLE\\alice", PASSWORD)),
            EapType::Ttls,
        ),
    ] {
        let mut server = ServerSession::new(server_config(&pki, TLS13, &[eap_type]), 1000);
        let mut p = peer(&pki, TLS13, method, 1000);
        let ended = run(&mut server, &mut p, Verdict::Allow);
        assert!(
            matches!(ended.server, Outcome::Success { .. }),
            "{:?}",
            ended.server
        );
        assert_eq!(ended.asked, vec!["EXAMPLE\\alice".to_owned()]);
    }
}

#[test]
fn a_nak_switches_to_a_listed_method_and_one_naming_none_fails() {
    let pki = pki();
    // Preference TLS, PEAP, TTLS; a TTLS peer Naks EAP-TLS.
    let config = server_config(&pki, TLS12, &[EapType::Tls, EapType::Peap, EapType::Ttls]);
    let ttls = || PeerMethod::Ttls(TtlsInner::Pap, credentials(USER, PASSWORD));
    let mut server = ServerSession::new(config.clone(), 1000);
    let mut p = peer(&pki, TLS12, ttls(), 1000);
    let ended = run(&mut server, &mut p, Verdict::Allow);
    let Outcome::Success { auth, .. } = ended.server else {
        panic!("{:?}", ended.server);
    };
    assert_eq!(auth.peer.method, EapType::Ttls);

    // The same peer against a server offering only EAP-TLS and PEAP.
    let config = server_config(&pki, TLS12, &[EapType::Tls, EapType::Peap]);
    let mut server = ServerSession::new(config, 1000);
    let mut p = peer(&pki, TLS12, ttls(), 1000);
    let ended = run(&mut server, &mut p, Verdict::Allow);
    match ended.server {
        Outcome::Failure { reason, .. } => {
            assert_eq!(reason, Reason::NoCommonMethod(vec![21]));
        }
        other => panic!("expected failure, got {other:?}"),
    }
}

#[test]
fn small_fragments_work_and_cost_round_trips() {
    let pki = pki();
    let method = || PeerMethod::Peap(credentials(USER, PASSWORD));
    let mut server = ServerSession::new(server_config(&pki, TLS13, &[EapType::Peap]), 1000);
    let mut p = peer(&pki, TLS13, method(), 1000);
    let large = run(&mut server, &mut p, Verdict::Allow);
    assert!(matches!(large.server, Outcome::Success { .. }));
    let mut server = ServerSession::new(server_config(&pki, TLS13, &[EapType::Peap]), 64);
    let mut p = peer(&pki, TLS13, method(), 64);
    let small = run(&mut server, &mut p, Verdict::Allow);
    assert!(
        matches!(small.server, Outcome::Success { .. }),
        "{:?}",
        small.server
    );
    assert!(
        small.round_trips > large.round_trips + 5,
        "{} vs {}",
        small.round_trips,
        large.round_trips
    );
}

#[test]
fn round_trips_per_method() {
    // Identity, Start, ClientHello, Finished, then the inner method:
    // PEAP: identity, MS-CHAPv2 response, success response, TLV result;
    // TTLS-PAP: AVPs; TTLS-MSCHAPv2: AVPs, acknowledgement;
    // TTLS-EAP-MSCHAPv2: identity, response, success response. On TLS 1.3
    // the TTLS peer sends its first AVPs with its Finished (the server
    // takes application data with the last handshake message), one round
    // trip less; PEAP's peer waits for the server's inner request.
    let pki = pki();
    for (versions, expected) in [(TLS12, [7, 4, 5, 6]), (TLS13, [7, 3, 4, 5])] {
        for ((method, eap_type, _, _), want) in methods().into_iter().zip(expected) {
            let label = format!("{method:?}");
            let mut server = ServerSession::new(server_config(&pki, versions, &[eap_type]), 1400);
            let mut p = peer(&pki, versions, method, 1400);
            let ended = run(&mut server, &mut p, Verdict::Allow);
            assert!(matches!(ended.server, Outcome::Success { .. }), "{label}");
            assert_eq!(ended.round_trips, want, "{label} {:?}", versions[0].version);
        }
    }
}
