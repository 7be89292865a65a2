use super::*;
use crate::tls::tests::{
    ClientErrors, TempDir, TestCa, dev_config, handshake, hierarchy_config, pump, roots,
};
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, ServerConnection};
use std::time::Duration;

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn now() -> UnixTime {
    UnixTime::now()
}

/// notAfter of a DER certificate, Unix seconds.
fn not_after(der: &[u8]) -> u64 {
    let (_, c) = X509Certificate::from_der(der).unwrap();
    c.validity().not_after.timestamp() as u64
}

/// The trusted hierarchy root -> intermediate -> leaves, its CRLs
/// (revoking nothing unless asked) and the server configuration.
struct Hierarchy {
    tmp: TempDir,
    tls: TlsConfig,
    pki: crate::pki::DevPki,
    root: TestCa,
    inter: TestCa,
}

impl Hierarchy {
    fn new(name: &str) -> Hierarchy {
        let tmp = TempDir::new(name);
        let (tls, pki) = dev_config(&tmp.0);
        let root = TestCa::root(&format!("{name} Root"));
        let inter = root.intermediate(&format!("{name} Intermediate"));
        Hierarchy {
            tmp,
            tls,
            pki,
            root,
            inter,
        }
    }

    /// The server configuration with CRLs of both CAs, the intermediate's
    /// revoking `revoked`.
    fn with_crls(&self, revoked: &[&[u8]]) -> TlsConfig {
        let root_crl = self.root.crl(&self.tmp.0, "root.crl", &[], Duration::ZERO);
        let file = format!("inter-{}.crl", revoked.len());
        let inter_crl = self.inter.crl(&self.tmp.0, &file, revoked, Duration::ZERO);
        hierarchy_config(
            &self.tls,
            &self.tmp.0,
            &self.root,
            vec![root_crl, inter_crl],
        )
    }

    fn without_crls(&self) -> TlsConfig {
        hierarchy_config(&self.tls, &self.tmp.0, &self.root, Vec::new())
    }

    /// A leaf: its chain (leaf, intermediate), key file, serial.
    fn leaf(&self, cn: &str) -> (Vec<CertificateDer<'static>>, PathBuf, PathBuf, Vec<u8>) {
        let (c, k, serial) = self.inter.leaf(&self.tmp.0, cn);
        (load_certificates(&c).unwrap(), c, k, serial)
    }
}

#[test]
fn second_identical_chain_is_a_hit_and_carries_the_leaf() {
    let h = Hierarchy::new("hit");
    let (chain, ..) = h.leaf("alice");
    let v = build_server_tls(&h.with_crls(&[]), None).unwrap().verifier;
    let first = v.verify_chain(&chain, now()).unwrap();
    assert_eq!(v.stats(), CacheStats { hits: 0, misses: 1 });
    let second = v.verify_chain(&chain, now()).unwrap();
    assert_eq!(v.stats(), CacheStats { hits: 1, misses: 1 });
    assert!(Arc::ptr_eq(&first, &second), "the same entry");
    let leaf = second.leaf.as_ref().unwrap();
    assert_eq!(leaf.common_name.as_deref(), Some("alice"));
    assert_eq!(second.generation, v.generation());
    // `lookup` finds it without counting or verifying.
    assert!(v.lookup(&chain, now()).is_some());
    assert_eq!(v.stats(), CacheStats { hits: 1, misses: 1 });
}

#[test]
fn full_handshakes_go_through_the_cache() {
    let tmp = TempDir::new("hshake");
    let (tls, pki) = dev_config(&tmp.0);
    let s = build_server_tls(&tls, None).unwrap();
    for _ in 0..2 {
        assert!(
            handshake(
                s.config.clone(),
                &pki.client_cert,
                &pki.client_key,
                &pki.ca_cert
            )
            .is_ok()
        );
    }
    assert_eq!(s.verifier.stats(), CacheStats { hits: 1, misses: 1 });
    let chain = load_certificates(&pki.client_cert).unwrap();
    let entry = s
        .verifier
        .lookup(&chain, now())
        .expect("the handshake left an entry");
    assert_eq!(
        entry.leaf.as_ref().unwrap().common_name.as_deref(),
        Some(pki.demo_user.as_str())
    );
}

#[test]
fn a_reload_with_a_crl_revoking_the_leaf_refuses_it() {
    let h = Hierarchy::new("reload");
    let (chain, _, _, serial) = h.leaf("bob");
    let before = build_server_tls(&h.with_crls(&[]), None).unwrap().verifier;
    assert!(before.verify_chain(&chain, now()).is_ok());
    assert!(before.verify_chain(&chain, now()).is_ok());
    assert_eq!(before.stats().hits, 1, "cached in the old generation");

    // SIGHUP builds a new verifier: a new generation, an empty table.
    let after = build_server_tls(&h.with_crls(&[&serial]), None)
        .unwrap()
        .verifier;
    assert_ne!(after.generation(), before.generation());
    assert!(after.lookup(&chain, now()).is_none());
    let r = after.verify_chain(&chain, now());
    assert!(
        matches!(
            r,
            Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
        ),
        "{r:?}"
    );
    assert_eq!(after.stats(), CacheStats { hits: 0, misses: 1 });
    assert!(after.is_empty(), "a refusal is not kept");
}

#[test]
fn entries_end_at_the_crl_next_update_and_at_not_after() {
    let h = Hierarchy::new("expiry");
    let (chain, ..) = h.leaf("carol");
    // With CRLs: their nextUpdate (30 minutes from now) comes first.
    let t = h.with_crls(&[]);
    let next_update = t
        .crl
        .iter()
        .flat_map(|p| CertificateRevocationListDer::pem_file_iter(p).unwrap())
        .map(|c| {
            let c = c.unwrap();
            let (_, crl) = x509_parser::parse_x509_crl(&c).unwrap();
            crl.next_update().unwrap().timestamp() as u64
        })
        .min()
        .unwrap();
    let v = build_server_tls(&t, None).unwrap().verifier;
    let t0 = now().as_secs();
    assert!(next_update > t0 && next_update < not_after(&chain[0]));
    assert!(v.verify_chain(&chain, at(t0)).is_ok());
    assert!(v.verify_chain(&chain, at(next_update - 1)).is_ok());
    assert_eq!(
        v.stats(),
        CacheStats { hits: 1, misses: 1 },
        "a hit before nextUpdate"
    );
    // From nextUpdate on the chain is verified again; past it the stale
    // CRL is refused (crl_expired = reject, the default).
    let _ = v.verify_chain(&chain, at(next_update));
    assert_eq!(v.stats().misses, 2, "verified again at nextUpdate");
    let r = v.verify_chain(&chain, at(next_update + 1));
    assert!(r.is_err(), "{r:?}");
    assert_eq!(v.stats(), CacheStats { hits: 1, misses: 3 });

    // Without CRLs: the earliest notAfter of the chain.
    let v = build_server_tls(&h.without_crls(), None).unwrap().verifier;
    let end = chain.iter().map(|c| not_after(c)).min().unwrap();
    assert!(v.verify_chain(&chain, at(t0)).is_ok());
    assert!(v.verify_chain(&chain, at(end - 1)).is_ok());
    assert_eq!(
        v.stats(),
        CacheStats { hits: 1, misses: 1 },
        "a hit before notAfter"
    );
    let r = v.verify_chain(&chain, at(end + 1));
    assert!(
        matches!(
            r,
            Err(rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            ))
        ),
        "{r:?}"
    );
    assert_eq!(v.stats(), CacheStats { hits: 1, misses: 2 });
    // Time going back before notBefore is not answered from the cache.
    assert!(v.verify_chain(&chain, at(t0)).is_ok());
    let misses = v.stats().misses;
    assert!(v.verify_chain(&chain, at(t0 - 7200)).is_err());
    assert_eq!(v.stats().misses, misses + 1);
}

#[test]
fn another_intermediate_or_one_more_certificate_misses() {
    let h = Hierarchy::new("inter");
    let (chain, ..) = h.leaf("dave");
    let v = build_server_tls(&h.without_crls(), None).unwrap().verifier;
    assert!(v.verify_chain(&chain, now()).is_ok());
    // The same leaf and intermediate, then an unrelated extra certificate
    // (webpki ignores it): another chain, verified again.
    let sibling = h.root.intermediate("Sibling Intermediate");
    let sibling_der = rustls::pki_types::CertificateDer::from_pem_slice(sibling.pem.as_bytes())
        .unwrap()
        .into_owned();
    let mut longer = chain.clone();
    longer.push(sibling_der.clone());
    assert!(v.verify_chain(&longer, now()).is_ok());
    assert_eq!(v.stats(), CacheStats { hits: 0, misses: 2 });
    // The leaf with another intermediate in place of its own: a miss, and
    // refused (that intermediate did not sign it).
    let swapped = vec![chain[0].clone(), sibling_der];
    assert!(v.verify_chain(&swapped, now()).is_err());
    assert_eq!(v.stats(), CacheStats { hits: 0, misses: 3 });
    // Positive control: the original chain is still a hit.
    assert!(v.verify_chain(&chain, now()).is_ok());
    assert_eq!(v.stats().hits, 1);
}

#[test]
fn a_refusal_is_never_cached_nor_turned_into_success() {
    let h = Hierarchy::new("refuse");
    let stranger = TestCa::root("Stranger Root").intermediate("Stranger Intermediate");
    let (c, ..) = stranger.leaf(&h.tmp.0, "eve");
    let bad = load_certificates(&c).unwrap();
    let v = build_server_tls(&h.with_crls(&[]), None).unwrap().verifier;
    let first = v.verify_chain(&bad, now()).unwrap_err();
    let second = v.verify_chain(&bad, now()).unwrap_err();
    assert_eq!(first, second, "the same error each time");
    assert_eq!(v.stats(), CacheStats { hits: 0, misses: 2 });
    assert!(v.is_empty());
    assert!(v.lookup(&bad, now()).is_none());
    assert!(matches!(
        v.verify_chain(&[], now()),
        Err(rustls::Error::NoCertificatesPresented)
    ));
    // Positive control: a good chain is kept.
    let (good, ..) = h.leaf("frank");
    assert!(v.verify_chain(&good, now()).is_ok());
    assert_eq!(v.len(), 1);
}

/// Accepts every chain; refuses every signature.
#[derive(Debug)]
struct AcceptAnyChain;

impl ClientCertVerifier for AcceptAnyChain {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("no".into()))
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("no".into()))
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        Vec::new()
    }
}

#[test]
fn ten_thousand_distinct_chains_only_churn_the_table() {
    // 100 certificates, paired in order: 10,000 distinct chains.
    let key = rcgen::KeyPair::generate().unwrap();
    let certs: Vec<CertificateDer<'static>> = (1..=100u8)
        .map(|i| {
            let mut p = rcgen::CertificateParams::new(vec![format!("c{i}.example")]).unwrap();
            p.serial_number = Some(rcgen::SerialNumber::from_slice(&[i]));
            p.self_signed(&key).unwrap().der().clone()
        })
        .collect();
    let v = CachingVerifier::new(Arc::new(AcceptAnyChain), []);
    let pair = |n: usize| [certs[n / 100].clone(), certs[n % 100].clone()];
    let mut largest = 0;
    for n in 0..10_000 {
        assert!(v.verify_chain(&pair(n), now()).is_ok());
        largest = largest.max(v.len());
    }
    assert_eq!(largest, CAPACITY, "full, never more");
    assert_eq!(v.lock().order.len(), CAPACITY);
    assert_eq!(
        v.stats(),
        CacheStats {
            hits: 0,
            misses: 10_000
        }
    );
    // The newest is kept, the oldest was evicted.
    assert!(v.lookup(&pair(9_999), now()).is_some());
    assert!(v.lookup(&pair(0), now()).is_none());
    assert!(v.lookup(&pair(10_000 - CAPACITY), now()).is_some());
    assert!(v.lookup(&pair(10_000 - CAPACITY - 1), now()).is_none());
}

/// A client certificate with a key that is not its own.
#[derive(Debug)]
struct Presents(Arc<CertifiedKey>);

impl ResolvesClientCert for Presents {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

fn handshake_presenting(
    server: Arc<ServerConfig>,
    chain: Vec<CertificateDer<'static>>,
    key: &Path,
    ca: &Path,
) -> Result<(), rustls::Error> {
    let provider = crypto_provider();
    let signer = provider
        .key_provider
        .load_private_key(load_private_key(key).unwrap())
        .unwrap();
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(ca))
        .with_client_cert_resolver(Arc::new(Presents(Arc::new(CertifiedKey::new(
            chain, signer,
        )))));
    let mut client =
        ClientConnection::new(Arc::new(config), "authd.local".try_into().unwrap()).unwrap();
    let mut server = ServerConnection::new(server).unwrap();
    pump(&mut client, &mut server, ClientErrors::Ignore)
}

#[test]
fn certificate_verify_is_checked_on_every_handshake() {
    let h = Hierarchy::new("possession");
    let (alice, _, alice_key, _) = h.leaf("alice");
    let (_, _, mallory_key, _) = h.leaf("mallory");
    let dev_ca = h.pki.ca_cert.clone();
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let mut t = h.with_crls(&[]);
        t.min_version = version;
        t.max_version = version;
        let s = build_server_tls(&t, None).unwrap();
        // Positive control: alice with her own key; the chain is cached.
        assert_eq!(
            handshake_presenting(s.config.clone(), alice.clone(), &alice_key, &dev_ca),
            Ok(()),
            "{version:?}"
        );
        // Alice's chain (answered from the cache) with another key: the
        // CertificateVerify signature is refused.
        let r = handshake_presenting(s.config.clone(), alice.clone(), &mallory_key, &dev_ca);
        assert!(
            matches!(
                r,
                Err(
                    rustls::Error::InvalidCertificate(CertificateError::BadSignature)
                        | rustls::Error::PeerMisbehaved(_)
                        | rustls::Error::General(_)
                )
            ),
            "{version:?}: {r:?}"
        );
        assert_eq!(
            s.verifier.stats(),
            CacheStats { hits: 1, misses: 1 },
            "{version:?}: the second chain came from the cache"
        );
    }
}

#[test]
fn a_reload_keeps_counting_into_the_listeners_counters() {
    use crate::metrics::verify_cache::{ChainCacheCounters, ChainCacheReading};
    let h = Hierarchy::new("counted");
    let (chain, ..) = h.leaf("grace");
    let stranger = TestCa::root("Other Root").intermediate("Other Intermediate");
    let (c, ..) = stranger.leaf(&h.tmp.0, "trudy");
    let bad = load_certificates(&c).unwrap();
    let counters = Arc::new(ChainCacheCounters::default());
    let build = || {
        build_server_tls_counted(&h.without_crls(), None, counters.clone())
            .unwrap()
            .verifier
    };
    let reading = |hits, misses, refused, entries| ChainCacheReading {
        hits,
        misses,
        refused,
        entries,
    };
    let before = build();
    assert!(before.verify_chain(&chain, now()).is_ok());
    assert!(before.verify_chain(&chain, now()).is_ok());
    assert!(before.verify_chain(&bad, now()).is_err());
    assert_eq!(counters.read(), reading(1, 1, 1, 1));
    assert_eq!(before.stats(), CacheStats { hits: 1, misses: 2 });

    // The reload's verifier: another generation, the same counters.
    let after = build();
    assert!(after.verify_chain(&chain, now()).is_ok());
    assert_eq!(counters.read(), reading(1, 2, 1, 2), "both tables alive");
    drop(before);
    assert_eq!(counters.read(), reading(1, 2, 1, 1), "the old table left");

    // An entry past notAfter leaves the table (and the gauge), and the
    // chain is verified again, and refused.
    let end = chain.iter().map(|c| not_after(c)).min().unwrap();
    assert!(after.verify_chain(&chain, at(end + 1)).is_err());
    assert_eq!(counters.read(), reading(1, 2, 2, 0));
    assert!(after.is_empty());

    // Positive control: a verifier with counters of its own counts
    // nothing into these.
    let own = build_server_tls(&h.without_crls(), None).unwrap().verifier;
    assert!(own.verify_chain(&chain, now()).is_ok());
    assert_eq!(own.stats(), CacheStats { hits: 0, misses: 1 });
    assert_eq!(counters.read(), reading(1, 2, 2, 0));
}
