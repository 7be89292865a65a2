//! EAP-TLS authentications in memory, server side: a `ServerSession` and a
//! `PeerSession` exchange EAP packets from EAP-Start to EAP-Success, as the
//! RADIUS server and a supplicant would (no RADIUS, no sockets).
//!
//! The server-side groups time only the server: creating the
//! `ServerSession` and every `handle` call, summed with `iter_custom`; the
//! peer's work runs untimed between them. The "both sides" group times the
//! whole exchange, so the split is visible.
//!
//! Set-up mirrors a deployment: the server uses the aws-lc-rs default
//! provider and requires a client certificate (mutual authentication); the
//! peer offers X25519 then P-256 ([`classic_kx_provider`]), like OpenSSL 3.0
//! supplicants. Every iteration checks that the server reached Success with
//! an MSK (and, for the resumed group, that the handshake resumed).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use eap_methods::tls_common::classic_kx_provider;
use eap_methods::{
    Outcome, PeerConfig, PeerOutcome, PeerSession, ServerConfig, ServerSession, Verdict,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ProtocolVersion, RootCertStore, SupportedProtocolVersion};

/// The Framed-MTU hostapd sends by default.
const FRAMED_MTU: usize = 1400;
/// TLS data per EAP-TLS fragment for that Framed-MTU: the server subtracts
/// 14 octets of EAP-TLS and link overhead (as authd's request handler does).
const FRAGMENT_SIZE: usize = FRAMED_MTU - 14;
const SERVER_NAME: &str = "radius.example.org";
const IDENTITY: &str = "alice@example.org";

const VERSIONS: [(&str, &SupportedProtocolVersion, ProtocolVersion); 2] = [
    ("tls1.2", &rustls::version::TLS12, ProtocolVersion::TLSv1_2),
    ("tls1.3", &rustls::version::TLS13, ProtocolVersion::TLSv1_3),
];

#[derive(Clone, Copy)]
enum KeyKind {
    EcdsaP256,
    Rsa2048,
}

impl KeyKind {
    fn generate(self) -> KeyPair {
        match self {
            KeyKind::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
            KeyKind::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                    .unwrap()
            }
        }
    }
}

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
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

impl Ca {
    /// An ECDSA P-256 CA.
    fn new() -> Ca {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Bench CA");
        params.distinguished_name = dn;
        let key = KeyKind::EcdsaP256.generate();
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    fn leaf(&self, name: &str, client: bool, serial: u64, kind: KeyKind) -> Leaf {
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
        let key = kind.generate();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.der().clone(),
            key: key.serialize_der(),
        }
    }

    fn roots(&self) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        Arc::new(roots)
    }
}

/// Both sides' configurations for one protocol version and server key.
struct Setup {
    server: Arc<ServerConfig>,
    peer: Arc<PeerConfig>,
}

/// `resumption`: whether the peer keeps sessions (for the resumed group);
/// otherwise every iteration is a full handshake. The server is the same
/// either way.
fn setup(
    version: &'static SupportedProtocolVersion,
    server_key: KeyKind,
    resumption: bool,
) -> Setup {
    let ca = Ca::new();
    let server_leaf = ca.leaf(SERVER_NAME, false, 2, server_key);
    let client_leaf = ca.leaf(IDENTITY, true, 3, KeyKind::EcdsaP256);
    let versions = &[version];

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(ca.roots(), provider.clone())
        .build()
        .unwrap();
    let mut server_tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server_leaf.cert.clone()], server_leaf.key())
        .unwrap();
    // One TLS 1.3 ticket per handshake is enough for EAP (rustls sends two
    // by default); the session cache is rustls' in-memory default.
    server_tls.send_tls13_tickets = 1;

    let mut client_tls = rustls::ClientConfig::builder_with_provider(classic_kx_provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(ca.roots())
        .with_client_auth_cert(vec![client_leaf.cert.clone()], client_leaf.key())
        .unwrap();
    if !resumption {
        client_tls.resumption = rustls::client::Resumption::disabled();
    }

    Setup {
        server: Arc::new(ServerConfig::new(Arc::new(server_tls))),
        peer: Arc::new(PeerConfig {
            identity: IDENTITY.into(),
            method: eap_methods::peer::PeerMethod::Tls,
            tls: Arc::new(client_tls),
            server_name: ServerName::try_from(SERVER_NAME).unwrap(),
            fragment_size: FRAGMENT_SIZE,
            max_tls_message_len: 65536,
        }),
    }
}

/// What the benches check in every iteration.
#[derive(Clone, Copy)]
struct Expect {
    version: ProtocolVersion,
    resumed: bool,
}

/// Result of one exchange: time spent in the server and EAP round trips.
struct Run {
    server_time: Duration,
    round_trips: usize,
}

/// The server's answer to `eap`, every authorization decision allowed.
fn allowed(server: &mut ServerSession, eap: &[u8]) -> Outcome {
    match server.handle(eap) {
        Outcome::Decide(_) => server.decide(Verdict::Allow),
        other => other,
    }
}

/// Checks the server's final outcome; panics loudly on anything but the
/// expected Success with an MSK. Returns the EAP-Success for the peer.
fn check_success(outcome: Outcome, expect: Expect) -> Vec<u8> {
    match outcome {
        Outcome::Success { eap, auth } => {
            assert!(auth.msk.as_bytes() != &[0u8; 64], "Success without an MSK");
            assert_eq!(auth.peer.tls_version, Some(expect.version), "TLS version");
            assert_eq!(
                auth.peer.resumed, expect.resumed,
                "resumed = {} (expected {})",
                auth.peer.resumed, expect.resumed
            );
            eap
        }
        Outcome::Failure { reason, .. } => panic!("EAP-TLS failed: {reason:?}"),
        Outcome::Discard(reason) => panic!("server discarded a packet: {reason:?}"),
        Outcome::Request(_) | Outcome::Decide(_) | Outcome::NeedCredential(_) => {
            unreachable!("checked by the caller")
        }
    }
}

/// One authentication from EAP-Start to EAP-Success, timing the server
/// only. The peer also handles the EAP-Success (untimed), so that its
/// session store holds what a real supplicant's would.
fn exchange(s: &Setup, expect: Expect) -> Run {
    let start = Instant::now();
    let mut server = ServerSession::new(s.server.clone(), FRAGMENT_SIZE);
    let mut outcome = server.handle(&[]);
    let mut server_time = start.elapsed();
    let mut peer = PeerSession::new(s.peer.clone());
    let mut round_trips = 0;
    while let Outcome::Request(request) = outcome {
        round_trips += 1;
        let response = match peer.handle(&request) {
            PeerOutcome::Response(r) => r,
            other => panic!("peer: {other:?}"),
        };
        let t = Instant::now();
        outcome = allowed(&mut server, &response);
        server_time += t.elapsed();
    }
    let success = check_success(outcome, expect);
    match peer.handle(&success) {
        PeerOutcome::Success(p) => assert_eq!(p.resumed, expect.resumed, "peer resumed"),
        other => panic!("peer did not accept EAP-Success: {other:?}"),
    }
    Run {
        server_time,
        round_trips,
    }
}

/// The same exchange, both sides, untimed inside (the caller times it).
fn exchange_both_sides(s: &Setup, expect: Expect) {
    let mut server = ServerSession::new(s.server.clone(), FRAGMENT_SIZE);
    let mut peer = PeerSession::new(s.peer.clone());
    let mut outcome = server.handle(&[]);
    while let Outcome::Request(request) = outcome {
        let response = match peer.handle(&request) {
            PeerOutcome::Response(r) => r,
            other => panic!("peer: {other:?}"),
        };
        outcome = allowed(&mut server, &response);
    }
    let success = check_success(outcome, expect);
    match peer.handle(&success) {
        PeerOutcome::Success(p) => {
            black_box(p);
        }
        other => panic!("peer did not accept EAP-Success: {other:?}"),
    }
}

fn configure(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
}

fn server_side(c: &mut Criterion, group: &str, key: KeyKind, resumed: bool) {
    let mut g = c.benchmark_group(group);
    configure(&mut g);
    for (label, version, v) in VERSIONS {
        let s = setup(version, key, resumed);
        let expect = Expect {
            version: v,
            resumed,
        };
        if resumed {
            // A first, full handshake fills the peer's session store; each
            // iteration then resumes (and refreshes it, as a supplicant
            // does).
            exchange(
                &s,
                Expect {
                    version: v,
                    resumed: false,
                },
            );
        }
        let first = exchange(&s, expect);
        println!(
            "{group}/{label}: {} EAP round trips, fragment size {FRAGMENT_SIZE}",
            first.round_trips
        );
        g.bench_function(label, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| exchange(&s, expect).server_time).sum())
        });
    }
    g.finish();
}

fn full_ecdsa(c: &mut Criterion) {
    server_side(
        c,
        "eap_tls_server_full_ecdsa_p256",
        KeyKind::EcdsaP256,
        false,
    );
}

fn full_rsa(c: &mut Criterion) {
    server_side(c, "eap_tls_server_full_rsa2048", KeyKind::Rsa2048, false);
}

fn resumed_ecdsa(c: &mut Criterion) {
    server_side(
        c,
        "eap_tls_server_resumed_ecdsa_p256",
        KeyKind::EcdsaP256,
        true,
    );
}

fn both_sides(c: &mut Criterion) {
    let mut g = c.benchmark_group("eap_tls_both_sides_full_ecdsa_p256");
    configure(&mut g);
    for (label, version, v) in VERSIONS {
        let s = setup(version, KeyKind::EcdsaP256, false);
        let expect = Expect {
            version: v,
            resumed: false,
        };
        g.bench_function(label, |b| b.iter(|| exchange_both_sides(&s, expect)));
    }
    g.finish();
}

/// The same mutual TLS handshake with rustls alone, connections talking
/// through memory with no EAP framing: the floor the EAP-TLS server-side
/// figures are compared with. Server time only, as above.
fn rustls_alone(c: &mut Criterion) {
    let mut g = c.benchmark_group("rustls_server_full_ecdsa_p256");
    configure(&mut g);
    for (label, version, _) in VERSIONS {
        let s = setup(version, KeyKind::EcdsaP256, false);
        let server_config = s.server.tls.clone();
        let client_config = s.peer.tls.clone();
        let name = s.peer.server_name.clone();
        g.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let mut server_time = Duration::ZERO;
                for _ in 0..iters {
                    let mut client =
                        rustls::ClientConnection::new(client_config.clone(), name.clone()).unwrap();
                    let t = Instant::now();
                    let mut server = rustls::ServerConnection::new(server_config.clone()).unwrap();
                    server_time += t.elapsed();
                    let mut buf = Vec::new();
                    while client.is_handshaking() || server.is_handshaking() {
                        buf.clear();
                        while client.wants_write() {
                            client.write_tls(&mut buf).unwrap();
                        }
                        let t = Instant::now();
                        if !buf.is_empty() {
                            server.read_tls(&mut &buf[..]).unwrap();
                            server.process_new_packets().unwrap();
                        }
                        buf.clear();
                        while server.wants_write() {
                            server.write_tls(&mut buf).unwrap();
                        }
                        server_time += t.elapsed();
                        if !buf.is_empty() {
                            client.read_tls(&mut &buf[..]).unwrap();
                            client.process_new_packets().unwrap();
                        }
                    }
                    black_box(&server);
                }
                server_time
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    full_ecdsa,
    full_rsa,
    resumed_ecdsa,
    both_sides,
    rustls_alone
);
criterion_main!(benches);
