//! The in-memory EAP-TLS harness both EAP-TLS test files use: a CA and
//! leaves made with rcgen, both sides' TLS configurations, and a driver
//! that runs a server and a peer against each other.

#![allow(dead_code, unused_imports)]

pub use std::sync::Arc;

pub use eap_methods::codec::{EapType, Packet};
pub use eap_methods::tls_common::{TlsPacket, classic_kx_provider, flags, hello_random};
pub use eap_methods::{
    Outcome, PeerAuthenticated, PeerConfig, PeerOutcome, PeerSession, PeerVerified, Reason,
    ServerConfig, ServerSession, Verdict,
};
pub use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber, date_time_ymd,
};
pub use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
pub use rustls::server::WebPkiClientVerifier;
pub use rustls::{ProtocolVersion, RootCertStore, SupportedProtocolVersion};

/// The server session with every decision answered Allow, for tests that
/// are not about authorization.
pub trait HandleAllow {
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

pub const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
pub const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

pub struct Ca {
    pub issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
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

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// An ECDSA P-256 leaf.
    pub fn leaf(&self, name: &str, client: bool, serial: u64, expired: bool) -> Leaf {
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

    pub fn crl(&self, revoked_serial: u64) -> CertificateRevocationListDer<'static> {
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

pub struct Leaf {
    pub cert: CertificateDer<'static>,
    pub key: Vec<u8>,
}

impl Leaf {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivatePkcs8KeyDer::from(self.key.clone()).into()
    }
}

pub fn roots(ca: &Ca) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.der()).unwrap();
    Arc::new(roots)
}

pub struct ServerOpts {
    pub versions: &'static [&'static SupportedProtocolVersion],
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    pub allow_unauthenticated: bool,
}

pub fn server_tls(ca: &Ca, server: &Leaf, opts: ServerOpts) -> Arc<rustls::ServerConfig> {
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

pub fn client_tls(
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

pub fn peer_config(tls: Arc<rustls::ClientConfig>, fragment_size: usize) -> Arc<PeerConfig> {
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
pub struct Setup {
    pub server: Arc<ServerConfig>,
    pub client: Arc<rustls::ClientConfig>,
}

pub fn setup(versions: &'static [&'static SupportedProtocolVersion]) -> Setup {
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
pub struct Ended {
    pub server: Outcome,
    pub peer: Option<PeerOutcome>,
    /// EAP Request/Response round trips (Success/Failure not counted).
    pub round_trips: usize,
}

/// Drives a server and a peer against each other from EAP-Start.
/// `tamper(round, from_server, packet)` may alter a packet; returning
/// `false` drops it (the harness then stops).
pub fn run_with(
    server: &mut ServerSession,
    peer: &mut PeerSession,
    tamper: impl FnMut(usize, bool, &mut Vec<u8>) -> bool,
) -> Ended {
    run_deciding(server, peer, tamper, |_| Verdict::Allow)
}

/// [`run_with`], with `decide` answering every [`Outcome::Decide`].
pub fn run_deciding(
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

pub fn run(server: &mut ServerSession, peer: &mut PeerSession) -> Ended {
    run_with(server, peer, |_, _, _| true)
}

pub fn expect_success(
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

pub fn expect_server_failure(ended: &Ended) -> &Reason {
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
