use super::*;
use crate::pki::{CertificateAuthority, KeyKind, ensure_dev_pki};
use rustls::{ClientConfig, ClientConnection, ServerConnection};
use std::fs;
use std::time::{Duration, SystemTime};

pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(name: &str) -> TempDir {
        let mut r = [0u8; 8];
        rand::fill(&mut r[..]);
        let p = std::env::temp_dir().join(format!(
            "authd-tls-{name}-{}-{}",
            std::process::id(),
            hex::encode(r)
        ));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(super) fn dev_config(dir: &Path) -> (TlsConfig, crate::pki::DevPki) {
    let (pki, _) = ensure_dev_pki(&dir.join("pki"), "demo").unwrap();
    (
        TlsConfig::new(&pki.server_cert, &pki.server_key, &pki.ca_cert),
        pki,
    )
}

/// Runs a handshake in memory; `Ok(version)` or the first error.
pub(super) fn handshake(
    server: Arc<ServerConfig>,
    client_cert: &Path,
    client_key: &Path,
    ca: &Path,
) -> Result<rustls::ProtocolVersion, rustls::Error> {
    handshake_as(server, Some((client_cert, client_key)), ca)
}

fn handshake_as(
    server: Arc<ServerConfig>,
    client_auth: Option<(&Path, &Path)>,
    ca: &Path,
) -> Result<rustls::ProtocolVersion, rustls::Error> {
    let builder = ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(ca));
    let client_config = match client_auth {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                load_certificates(cert).unwrap(),
                load_private_key(key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let mut client =
        ClientConnection::new(Arc::new(client_config), "authd.local".try_into().unwrap()).unwrap();
    let mut server = ServerConnection::new(server).unwrap();
    pump(&mut client, &mut server, ClientErrors::End)?;
    Ok(server.protocol_version().unwrap())
}

/// The trust anchors in the PEM file `ca`.
pub(super) fn roots(ca: &Path) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for c in load_certificates(ca).unwrap() {
        roots.add(c).unwrap();
    }
    roots
}

/// Whose errors end [`pump`].
#[derive(Debug, Clone, Copy)]
pub(super) enum ClientErrors {
    /// The client's too: the first error of either side.
    End,
    /// Only the server's: the client's view of a refusal is the server's
    /// alert, and what matters is the server's error.
    Ignore,
}

/// Runs a handshake in memory, at most ten flights each way: `Ok(())`
/// once neither side is handshaking, or the first error; panics if the
/// handshake does not finish.
pub(super) fn pump(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    client_errors: ClientErrors,
) -> Result<(), rustls::Error> {
    for _ in 0..10 {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            server.read_tls(&mut rd).unwrap();
        }
        server.process_new_packets()?;
        let mut buf = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            client.read_tls(&mut rd).unwrap();
        }
        if let (Err(e), ClientErrors::End) = (client.process_new_packets(), client_errors) {
            return Err(e);
        }
        if !server.is_handshaking() && !client.is_handshaking() {
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

#[test]
fn builds_from_dev_pki_and_authenticates_a_client() {
    let tmp = TempDir::new("ok");
    let (tls, pki) = dev_config(&tmp.0);
    let config = build_server_config(&tls).unwrap();
    assert_eq!(
        handshake(
            config.clone(),
            &pki.client_cert,
            &pki.client_key,
            &pki.ca_cert
        ),
        Ok(rustls::ProtocolVersion::TLSv1_3)
    );
    let mut tls12 = tls.clone();
    tls12.max_version = TlsVersion::Tls12;
    let config = build_server_config(&tls12).unwrap();
    assert_eq!(
        handshake(config, &pki.client_cert, &pki.client_key, &pki.ca_cert),
        Ok(rustls::ProtocolVersion::TLSv1_2)
    );
}

#[test]
fn client_certificate_is_required() {
    let tmp = TempDir::new("noclient");
    let (tls, pki) = dev_config(&tmp.0);
    let config = build_server_config(&tls).unwrap();
    let err = handshake_as(config, None, &pki.ca_cert).unwrap_err();
    assert!(
        matches!(err, rustls::Error::NoCertificatesPresented),
        "{err:?}"
    );
}

#[test]
fn mismatched_key_is_named() {
    let tmp = TempDir::new("mismatch");
    let (mut tls, pki) = dev_config(&tmp.0);
    tls.private_key = pki.client_key.clone();
    let err = build_server_config(&tls).unwrap_err();
    assert!(matches!(err, TlsSetupError::KeyMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("client.key") && msg.contains("server.pem"),
        "{msg}"
    );
}

#[test]
fn empty_and_missing_files_are_named() {
    let tmp = TempDir::new("empty");
    let (mut tls, _) = dev_config(&tmp.0);
    let empty = tmp.0.join("empty.pem");
    fs::write(&empty, "").unwrap();

    let mut t = tls.clone();
    t.certificate = empty.clone();
    let err = build_server_config(&t).unwrap_err();
    assert!(matches!(err, TlsSetupError::NoCertificate { .. }));
    assert!(
        err.to_string().contains("empty.pem: no certificate found"),
        "{err}"
    );

    let mut t = tls.clone();
    t.private_key = empty.clone();
    let err = build_server_config(&t).unwrap_err();
    assert!(matches!(err, TlsSetupError::NoPrivateKey { .. }), "{err}");

    let mut t = tls.clone();
    t.ca = empty.clone();
    assert!(matches!(
        build_server_config(&t).unwrap_err(),
        TlsSetupError::NoCertificate { .. }
    ));

    tls.ca = tmp.0.join("absent.pem");
    let err = build_server_config(&tls).unwrap_err();
    assert!(err.to_string().contains("absent.pem"), "{err}");
}

#[test]
fn bad_crl_file_is_named() {
    let tmp = TempDir::new("badcrl");
    let (mut tls, pki) = dev_config(&tmp.0);
    // A file without a CRL.
    tls.crl = vec![pki.ca_cert.clone()];
    let err = build_server_config(&tls).unwrap_err();
    assert!(matches!(err, TlsSetupError::NoCrl { .. }), "{err}");
    // A CRL block whose body is not a CRL.
    let bogus = tmp.0.join("bogus.crl");
    fs::write(
        &bogus,
        "-----BEGIN X509 CRL-----\nMAMCAQE=\n-----END X509 CRL-----\n",
    )
    .unwrap();
    tls.crl = vec![bogus];
    let err = build_server_config(&tls).unwrap_err();
    assert!(
        matches!(err, TlsSetupError::InvalidCrl { index: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("bogus.crl"), "{err}");
}

#[test]
fn revoked_client_is_refused_via_crl_in_ca_file_or_crl_list() {
    let tmp = TempDir::new("crl");
    let (tls, pki) = dev_config(&tmp.0);
    let ca = CertificateAuthority::load(&pki.ca_cert, &pki.ca_key).unwrap();
    let now = SystemTime::now();
    let revoked = ca
        .issue_client_for_days("mallory", KeyKind::EcdsaP256, 1)
        .unwrap();
    let (rc, rk) = (tmp.0.join("r.pem"), tmp.0.join("r.key"));
    revoked.write(&rc, &rk).unwrap();
    let crl = ca
        .crl(
            &[(revoked.serial.clone(), now, None)],
            now - Duration::from_secs(60),
            now + Duration::from_secs(3600),
            2,
        )
        .unwrap();

    // Without a CRL, the client is accepted.
    let plain = build_server_config(&tls).unwrap();
    assert!(handshake(plain, &rc, &rk, &pki.ca_cert).is_ok());

    // CA file holding the CA and the CRL.
    let bundle = tmp.0.join("ca+crl.pem");
    fs::write(&bundle, format!("{}{}", ca.cert_pem(), crl)).unwrap();
    let mut t = tls.clone();
    t.ca = bundle;
    let config = build_server_config(&t).unwrap();
    let err = handshake(config.clone(), &rc, &rk, &pki.ca_cert).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)
        ),
        "{err:?}"
    );
    // The good client still gets in.
    assert!(handshake(config, &pki.client_cert, &pki.client_key, &pki.ca_cert).is_ok());

    // Same CRL through `crl = [...]`.
    let crl_file = tmp.0.join("revoked.crl");
    fs::write(&crl_file, &crl).unwrap();
    let mut t = tls.clone();
    t.crl = vec![crl_file];
    let config = build_server_config(&t).unwrap();
    assert!(handshake(config, &rc, &rk, &pki.ca_cert).is_err());
}

/// A CA of a test hierarchy, built with rcgen directly: the development
/// PKI signs leaves only.
pub(super) struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pub(super) pem: String,
    pub(super) serial: Vec<u8>,
}

fn test_serial() -> Vec<u8> {
    let mut s = [0u8; 16];
    rand::fill(&mut s[..]);
    s[0] = (s[0] & 0x7f).max(1);
    s.to_vec()
}

fn test_params(cn: &str, serial: &[u8]) -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::hours(1);
    p.not_after = now + time::Duration::days(1);
    p.key_identifier_method = rcgen::KeyIdMethod::Sha256;
    p
}

fn ca_params(cn: &str, serial: &[u8]) -> rcgen::CertificateParams {
    let mut p = test_params(cn, serial);
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    p
}

impl TestCa {
    pub(super) fn root(cn: &str) -> TestCa {
        let serial = test_serial();
        let params = ca_params(cn, &serial);
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            issuer: rcgen::Issuer::new(params, key),
            pem,
            serial,
        }
    }

    pub(super) fn intermediate(&self, cn: &str) -> TestCa {
        let serial = test_serial();
        let mut params = ca_params(cn, &serial);
        params.use_authority_key_identifier_extension = true;
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.signed_by(&key, &self.issuer).unwrap().pem();
        TestCa {
            issuer: rcgen::Issuer::new(params, key),
            pem,
            serial,
        }
    }

    /// A client certificate; its file holds the leaf then `self`.
    pub(super) fn leaf(&self, dir: &Path, cn: &str) -> (PathBuf, PathBuf, Vec<u8>) {
        let serial = test_serial();
        let mut params = test_params(cn, &serial);
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (c, k) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
        fs::write(&c, format!("{}{}", cert.pem(), self.pem)).unwrap();
        fs::write(&k, key.serialize_pem()).unwrap();
        (c, k, serial)
    }

    /// A CRL of this CA revoking `serials`, written to `dir/file`;
    /// `age` moves thisUpdate and nextUpdate that far into the past.
    pub(super) fn crl(&self, dir: &Path, file: &str, serials: &[&[u8]], age: Duration) -> PathBuf {
        let now = time::OffsetDateTime::now_utc() - age;
        let params = rcgen::CertificateRevocationListParams {
            this_update: now - time::Duration::minutes(1),
            next_update: now + time::Duration::minutes(30),
            crl_number: rcgen::SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from_slice(s),
                    revocation_time: now - time::Duration::minutes(1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let path = dir.join(file);
        fs::write(
            &path,
            params.signed_by(&self.issuer).unwrap().pem().unwrap(),
        )
        .unwrap();
        path
    }
}

/// Collects what `tracing` logs on this thread while `f` runs.
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (out, text)
}

/// The server of the dev PKI trusting `root` for clients, with `crls`.
pub(super) fn hierarchy_config(
    tls: &TlsConfig,
    dir: &Path,
    root: &TestCa,
    crls: Vec<PathBuf>,
) -> TlsConfig {
    let ca = dir.join("root.pem");
    fs::write(&ca, &root.pem).unwrap();
    let mut t = tls.clone();
    t.ca = ca;
    t.crl = crls;
    t
}

fn is_cert_error(
    r: &Result<rustls::ProtocolVersion, rustls::Error>,
    want: fn(&CertificateError) -> bool,
) -> bool {
    matches!(r, Err(rustls::Error::InvalidCertificate(e)) if want(e))
}

#[test]
fn revoked_intermediate_is_refused_while_a_sibling_is_accepted() {
    let tmp = TempDir::new("revinter");
    let (tls, pki) = dev_config(&tmp.0);
    let root = TestCa::root("Test Root");
    let revoked = root.intermediate("Revoked Intermediate");
    let good = root.intermediate("Good Intermediate");
    let (bc, bk, _) = revoked.leaf(&tmp.0, "bob");
    let (gc, gk, _) = good.leaf(&tmp.0, "alice");
    let crls = vec![
        root.crl(&tmp.0, "root.crl", &[&revoked.serial], Duration::ZERO),
        revoked.crl(&tmp.0, "revoked.crl", &[], Duration::ZERO),
        good.crl(&tmp.0, "good.crl", &[], Duration::ZERO),
    ];
    let t = hierarchy_config(&tls, &tmp.0, &root, crls);
    let config = build_server_config(&t).unwrap();

    // Positive control: a leaf under the intermediate that is not revoked.
    assert!(handshake(config.clone(), &gc, &gk, &pki.ca_cert).is_ok());
    // The leaf itself is in no CRL; its issuer is revoked in the root's.
    let (r, log) = logged(|| handshake(config, &bc, &bk, &pki.ca_cert));
    assert!(
        is_cert_error(&r, |e| *e == CertificateError::Revoked),
        "{r:?}"
    );
    assert!(
        log.contains("CN=Revoked Intermediate") && log.contains("CRL of CN=Test Root"),
        "{log}"
    );
    assert!(
        log.contains("root.crl") && log.contains(&hex::encode(&revoked.serial)),
        "{log}"
    );

    // Without any CRL nothing is checked for revocation, as before.
    let none = hierarchy_config(&tls, &tmp.0, &root, Vec::new());
    assert!(handshake(build_server_config(&none).unwrap(), &bc, &bk, &pki.ca_cert).is_ok());
}

#[test]
fn stale_crl_is_refused_unless_relaxed() {
    let tmp = TempDir::new("stalecrl");
    let (tls, pki) = dev_config(&tmp.0);
    let root = TestCa::root("Stale Root");
    let inter = root.intermediate("Stale Intermediate");
    let (c, k, leaf_serial) = inter.leaf(&tmp.0, "carol");
    let root_crl = root.crl(&tmp.0, "root.crl", &[], Duration::ZERO);
    let fresh = inter.crl(&tmp.0, "fresh.crl", &[], Duration::ZERO);
    // nextUpdate an hour and a half ago.
    let stale = inter.crl(&tmp.0, "stale.crl", &[], Duration::from_secs(7200));

    // Positive control: the same chain with a current CRL.
    let t = hierarchy_config(&tls, &tmp.0, &root, vec![root_crl.clone(), fresh]);
    assert!(handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert).is_ok());

    let mut t = hierarchy_config(&tls, &tmp.0, &root, vec![root_crl.clone(), stale]);
    let (r, log) = logged(|| handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert));
    assert!(
        is_cert_error(&r, |e| matches!(
            e,
            CertificateError::ExpiredRevocationList
                | CertificateError::ExpiredRevocationListContext { .. }
        )),
        "{r:?}"
    );
    assert!(
        log.contains("CRL of CN=Stale Intermediate")
            && log.contains("stale.crl")
            && log.contains("past its nextUpdate"),
        "{log}"
    );

    t.crl_expired = CrlPolicy::Allow;
    assert!(handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert).is_ok());
    // Relaxed, a stale CRL still revokes what it lists.
    let listing = inter.crl(
        &tmp.0,
        "stale-listing.crl",
        &[&leaf_serial],
        Duration::from_secs(7200),
    );
    t.crl = vec![root_crl, listing];
    let r = handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert);
    assert!(
        is_cert_error(&r, |e| *e == CertificateError::Revoked),
        "{r:?}"
    );
}

#[test]
fn missing_crl_is_refused_unless_relaxed() {
    let tmp = TempDir::new("missingcrl");
    let (tls, pki) = dev_config(&tmp.0);
    let root = TestCa::root("Known Root");
    let inter = root.intermediate("Intermediate Without CRL");
    let (c, k, _) = inter.leaf(&tmp.0, "dave");
    let root_crl = root.crl(&tmp.0, "root.crl", &[], Duration::ZERO);
    let inter_crl = inter.crl(&tmp.0, "inter.crl", &[], Duration::ZERO);

    // Positive control: both CAs of the path have a CRL.
    let t = hierarchy_config(&tls, &tmp.0, &root, vec![root_crl.clone(), inter_crl]);
    assert!(handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert).is_ok());

    // Only the root's CRL: the leaf's status is unknown.
    let mut t = hierarchy_config(&tls, &tmp.0, &root, vec![root_crl]);
    let (r, log) = logged(|| handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert));
    assert!(
        is_cert_error(&r, |e| *e == CertificateError::UnknownRevocationStatus),
        "{r:?}"
    );
    assert!(
        log.contains("no CRL of CA CN=Intermediate Without CRL")
            && log.contains("CN=dave")
            && log.contains("CRL of CN=Known Root (")
            && log.contains("crl_missing"),
        "{log}"
    );

    t.crl_missing = CrlPolicy::Allow;
    assert!(handshake(build_server_config(&t).unwrap(), &c, &k, &pki.ca_cert).is_ok());
}

#[test]
fn untrusted_and_expired_clients_are_refused() {
    let tmp = TempDir::new("untrusted");
    let (tls, pki) = dev_config(&tmp.0);
    let config = build_server_config(&tls).unwrap();

    let other = CertificateAuthority::generate("Other CA", 1).unwrap();
    let stranger = other
        .issue_client_for_days("eve", KeyKind::EcdsaP256, 1)
        .unwrap();
    let (sc, sk) = (tmp.0.join("s.pem"), tmp.0.join("s.key"));
    stranger.write(&sc, &sk).unwrap();
    assert!(handshake(config.clone(), &sc, &sk, &pki.ca_cert).is_err());

    let ca = CertificateAuthority::load(&pki.ca_cert, &pki.ca_key).unwrap();
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let expired = ca
        .issue_client("old", KeyKind::Rsa2048, now - day * 30, now - day)
        .unwrap();
    let (ec, ek) = (tmp.0.join("e.pem"), tmp.0.join("e.key"));
    expired.write(&ec, &ek).unwrap();
    let err = handshake(config, &ec, &ek, &pki.ca_cert).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::ExpiredContext { .. } | rustls::CertificateError::Expired
            )
        ),
        "{err:?}"
    );
}

#[test]
fn versions_follow_config() {
    let tls = TlsConfig::new("a", "b", "c");
    assert_eq!(protocol_versions(&tls).len(), 2);
    let mut only13 = tls.clone();
    only13.min_version = TlsVersion::Tls13;
    assert_eq!(protocol_versions(&only13), vec![&rustls::version::TLS13]);
    let mut only12 = tls;
    only12.max_version = TlsVersion::Tls12;
    assert_eq!(protocol_versions(&only12), vec![&rustls::version::TLS12]);
}

/// `[tls] suite_b_192` (RFC 9190 §2.4, RFC 6460).
mod suite_b_192 {
    use super::*;
    use rustls::{CipherSuite, NamedGroup};

    struct Pki {
        _tmp: TempDir,
        tls: TlsConfig,
        ca: PathBuf,
        client: (PathBuf, PathBuf),
        p256_client: (PathBuf, PathBuf),
    }

    fn p384_pki() -> Pki {
        let tmp = TempDir::new("suiteb");
        let d = tmp.0.clone();
        let ca = CertificateAuthority::generate_with("b", 30, KeyKind::EcdsaP384).unwrap();
        ca.save(&d.join("ca.pem"), &d.join("ca.key")).unwrap();
        let names = ["authd.local".to_owned()];
        ca.issue_server_with("authd", &names, 30, KeyKind::EcdsaP384)
            .unwrap()
            .write(&d.join("s.pem"), &d.join("s.key"))
            .unwrap();
        let c = ca
            .issue_client_for_days("alice", KeyKind::EcdsaP384, 1)
            .unwrap();
        c.write(&d.join("c.pem"), &d.join("c.key")).unwrap();
        let c = ca
            .issue_client_for_days("bob", KeyKind::EcdsaP256, 1)
            .unwrap();
        c.write(&d.join("b.pem"), &d.join("b.key")).unwrap();
        let mut tls = TlsConfig::new(d.join("s.pem"), d.join("s.key"), d.join("ca.pem"));
        tls.suite_b_192 = true;
        Pki {
            tls,
            ca: d.join("ca.pem"),
            client: (d.join("c.pem"), d.join("c.key")),
            p256_client: (d.join("b.pem"), d.join("b.key")),
            _tmp: tmp,
        }
    }

    /// A handshake with a client offering the default suites and groups:
    /// the negotiated version, suite and key exchange group.
    fn negotiate(
        server: Arc<ServerConfig>,
        client: &(PathBuf, PathBuf),
        ca: &Path,
        versions: &[&'static SupportedProtocolVersion],
    ) -> Result<(rustls::ProtocolVersion, CipherSuite, Option<NamedGroup>), rustls::Error> {
        // rustls' default order, AES-256-GCM-SHA384 first (like OpenSSL 3
        // supplicants), not authd's.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots(ca))
            .with_client_auth_cert(
                load_certificates(&client.0).unwrap(),
                load_private_key(&client.1).unwrap(),
            )
            .unwrap();
        let mut c =
            ClientConnection::new(Arc::new(config), "authd.local".try_into().unwrap()).unwrap();
        let mut s = ServerConnection::new(server).unwrap();
        pump(&mut c, &mut s, ClientErrors::End)?;
        let suite = s.negotiated_cipher_suite().unwrap().suite();
        let group = s.negotiated_key_exchange_group().map(|g| g.name());
        Ok((s.protocol_version().unwrap(), suite, group))
    }

    #[test]
    fn only_the_192_bit_suites_and_p384() {
        let pki = p384_pki();
        let config = build_server_config(&pki.tls).unwrap();
        let tls13 = negotiate(
            config.clone(),
            &pki.client,
            &pki.ca,
            &[&rustls::version::TLS13],
        );
        assert_eq!(
            tls13.unwrap(),
            (
                rustls::ProtocolVersion::TLSv1_3,
                CipherSuite::TLS13_AES_256_GCM_SHA384,
                Some(NamedGroup::secp384r1)
            )
        );
        let tls12 = negotiate(
            config.clone(),
            &pki.client,
            &pki.ca,
            &[&rustls::version::TLS12],
        );
        assert_eq!(
            tls12.unwrap(),
            (
                rustls::ProtocolVersion::TLSv1_2,
                CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                Some(NamedGroup::secp384r1)
            )
        );
        // Without suite_b_192 the same PKI negotiates authd's first choice,
        // AES-128-GCM-SHA256, over the client's AES-256-GCM-SHA384, and the
        // client's first group (not P-384).
        let mut plain = pki.tls.clone();
        plain.suite_b_192 = false;
        let any = negotiate(
            build_server_config(&plain).unwrap(),
            &pki.client,
            &pki.ca,
            &[&rustls::version::TLS13],
        )
        .unwrap();
        assert_eq!(any.1, CipherSuite::TLS13_AES_128_GCM_SHA256);
        assert_ne!(any.2, Some(NamedGroup::secp384r1));
        let any12 = negotiate(
            build_server_config(&plain).unwrap(),
            &pki.client,
            &pki.ca,
            &[&rustls::version::TLS12],
        )
        .unwrap();
        assert_eq!(
            any12.1,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        );
        // A P-256 client key (under the P-384 CA) cannot sign with
        // ECDSA P-384/SHA-384: refused, as in the PEAP/TTLS tunnel.
        assert!(
            negotiate(
                config,
                &pki.p256_client,
                &pki.ca,
                &[&rustls::version::TLS13]
            )
            .is_err()
        );
        let tunnel = build_tunnel_tls(&pki.tls, None, TicketMethod::Peap).unwrap();
        let mut s = ServerConnection::new(tunnel).unwrap();
        assert!(s.process_new_packets().is_ok());
    }

    #[test]
    fn p256_server_or_ca_is_refused_at_start() {
        let tmp = TempDir::new("suiteb-p256");
        let (mut tls, _) = dev_config(&tmp.0);
        tls.suite_b_192 = true;
        let err = build_server_config(&tls).unwrap_err();
        assert!(
            matches!(err, TlsSetupError::NotSuiteB { index: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("not ECDSA P-384"), "{err}");
        assert!(build_tunnel_tls(&tls, None, TicketMethod::Ttls).is_err());
        // A P-384 server under the P-256 development CA: the CA is refused.
        let pki = p384_pki();
        tls.certificate = pki.tls.certificate.clone();
        tls.private_key = pki.tls.private_key.clone();
        let err = build_server_config(&tls).unwrap_err();
        assert!(
            matches!(err, TlsSetupError::NotSuiteB { ref path, .. } if *path == tls.ca),
            "{err}"
        );
    }
}
