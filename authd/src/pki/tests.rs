use super::*;
use std::os::unix::fs::PermissionsExt;
use x509_parser::prelude::*;

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "authd-pki-{name}-{}-{}",
        std::process::id(),
        hex::encode(random_serial())
    ))
}

fn parse_pem(pem: &str) -> Vec<u8> {
    crate::certs::pem_block_der(pem).expect("PEM")
}

/// The leaf names the CA as issuer, by name and by key identifier
/// (RFC 5280 sections 4.1.2.4 and 4.2.1.1). Signatures are checked by
/// the TLS tests, which run real handshakes.
fn assert_issued_by(leaf: &X509Certificate<'_>, ca: &X509Certificate<'_>) {
    assert_eq!(leaf.issuer(), ca.subject());
    let ski = ca
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
            _ => None,
        })
        .expect("CA has a subject key identifier");
    let aki = leaf
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0),
            _ => None,
        })
        .expect("leaf has an authority key identifier");
    assert_eq!(aki, ski);
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn ca_profile() {
    let ca = CertificateAuthority::generate("Test CA", 10).unwrap();
    let der = parse_pem(&ca.cert_pem());
    let (_, cert) = parse_x509_certificate(&der).unwrap();
    let bc = cert.basic_constraints().unwrap().unwrap().value;
    assert!(bc.ca);
    assert_eq!(bc.path_len_constraint, Some(0));
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign());
    assert_eq!(cert.subject(), cert.issuer());
    assert!(format!("{ca:?}").contains("elided"));
    assert!(!format!("{ca:?}").contains("PRIVATE"));
}

#[test]
fn server_and_client_profiles() {
    let ca = CertificateAuthority::generate("Test CA", 10).unwrap();
    let server = ca
        .issue_server("authd", &["authd.local".into(), "localhost".into()], 10)
        .unwrap();
    let der = parse_pem(&server.cert_pem);
    let (_, cert) = parse_x509_certificate(&der).unwrap();
    assert!(
        cert.extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .server_auth
    );
    assert!(
        !cert
            .extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .client_auth
    );
    assert!(!cert.basic_constraints().unwrap().unwrap().value.ca);
    let san = cert.subject_alternative_name().unwrap().unwrap().value;
    let names: Vec<_> = san
        .general_names
        .iter()
        .filter_map(|g| match g {
            GeneralName::DNSName(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["authd.local", "localhost"]);
    assert_eq!(cert.raw_serial(), &server.serial[..]);
    assert_eq!(server.serial.len(), 16);
    assert!(server.serial[0] & 0x80 == 0 && server.serial[0] != 0);

    // The leaf verifies under the CA key.
    let ca_der = parse_pem(&ca.cert_pem());
    let (_, ca_cert) = parse_x509_certificate(&ca_der).unwrap();
    assert_issued_by(&cert, &ca_cert);

    let now = SystemTime::now();
    let client = ca
        .issue_client("alice@example.org", KeyKind::Rsa2048, now, now + DAY)
        .unwrap();
    let der = parse_pem(&client.cert_pem);
    let (_, cert) = parse_x509_certificate(&der).unwrap();
    assert!(
        cert.extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .client_auth
    );
    let cn = cert.subject().iter_common_name().next().unwrap();
    assert_eq!(cn.as_str().unwrap(), "alice@example.org");
    let san = cert.subject_alternative_name().unwrap().unwrap().value;
    assert_eq!(san.general_names.len(), 1);
    assert!(matches!(
        san.general_names[0],
        GeneralName::RFC822Name("alice@example.org")
    ));
    assert!(client.key_pem.contains("BEGIN PRIVATE KEY"));
    assert!(matches!(
        cert.public_key().parsed().unwrap(),
        x509_parser::public_key::PublicKey::RSA(ref k) if k.key_size() == 2048
    ));
    assert_issued_by(&cert, &ca_cert);
    assert!(!format!("{client:?}").contains("PRIVATE"));
    assert_ne!(client.serial, server.serial);
}

#[test]
fn expired_validity_is_kept() {
    let ca = CertificateAuthority::generate("Test CA", 10).unwrap();
    let now = SystemTime::now();
    let issued = ca
        .issue_client("old", KeyKind::EcdsaP256, now - DAY * 10, now - DAY)
        .unwrap();
    let der = parse_pem(&issued.cert_pem);
    let (_, cert) = parse_x509_certificate(&der).unwrap();
    assert!(!cert.validity().is_valid());
    assert!(ca.issue_client("x", KeyKind::EcdsaP256, now, now).is_err());
}

#[test]
fn crl_lists_serials() {
    let ca = CertificateAuthority::generate("Test CA", 10).unwrap();
    let now = SystemTime::now();
    let a = ca
        .issue_client_for_days("a", KeyKind::EcdsaP256, 1)
        .unwrap();
    let pem = ca
        .crl(
            &[(a.serial.clone(), now, Some(RevocationReason::KeyCompromise))],
            now,
            now + DAY,
            300,
        )
        .unwrap();
    assert!(pem.contains("BEGIN X509 CRL"));
    let der = parse_pem(&pem);
    let (_, crl) = parse_x509_crl(&der).unwrap();
    let serials: Vec<_> = crl
        .iter_revoked_certificates()
        .map(|r| r.raw_serial().to_vec())
        .collect();
    assert_eq!(serials, vec![a.serial.clone()]);
    assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("300".into()));
    assert!(ca.crl(&[], now, now, 1).is_err());
}

// A 192-bit PKI: P-384 keys everywhere, every signature
// ecdsa-with-SHA384 (RFC 5758 §3.2), and a loaded P-384 CA reports its
// kind so that its client certificates are P-384 too.
#[test]
fn p384_pki() {
    use x509_parser::oid_registry::{OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA384};
    let ca = CertificateAuthority::generate_with("suite b CA", 30, KeyKind::EcdsaP384).unwrap();
    assert_eq!(ca.key_kind(), KeyKind::EcdsaP384);
    let server = ca
        .issue_server_with("authd", &["authd.local".into()], 30, KeyKind::EcdsaP384)
        .unwrap();
    let client = ca.issue_client_for_days("alice", ca.key_kind(), 1).unwrap();
    let ca_der = parse_pem(&ca.cert_pem());
    let (_, ca_cert) = X509Certificate::from_der(&ca_der).unwrap();
    for (i, pem) in [&ca.cert_pem(), &server.cert_pem, &client.cert_pem]
        .into_iter()
        .enumerate()
    {
        let der = parse_pem(pem);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        assert_eq!(
            cert.signature_algorithm.algorithm,
            OID_SIG_ECDSA_WITH_SHA384
        );
        let params = cert.public_key().algorithm.parameters.as_ref().unwrap();
        assert_eq!(params.as_oid().unwrap(), OID_NIST_EC_P384);
        if i > 0 {
            assert_issued_by(&cert, &ca_cert);
        }
    }
    let dir = temp_dir("p384");
    fs::create_dir_all(&dir).unwrap();
    ca.save(&dir.join("ca.pem"), &dir.join("ca.key")).unwrap();
    let loaded = CertificateAuthority::load(&dir.join("ca.pem"), &dir.join("ca.key")).unwrap();
    assert_eq!(loaded.key_kind(), KeyKind::EcdsaP384);
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(
        CertificateAuthority::generate("p256", 1)
            .unwrap()
            .key_kind(),
        KeyKind::EcdsaP256
    );
}

#[test]
fn crl_number_encoding() {
    assert_eq!(crl_number_bytes(0), [0]);
    assert_eq!(crl_number_bytes(1), [1]);
    assert_eq!(crl_number_bytes(0x80), [0, 0x80]);
    assert_eq!(crl_number_bytes(0x1234), [0x12, 0x34]);
    assert_eq!(
        crl_number_bytes(u64::MAX),
        [0, 255, 255, 255, 255, 255, 255, 255, 255]
    );
}

#[test]
fn save_load_round_trip() {
    let dir = temp_dir("ca");
    fs::create_dir_all(&dir).unwrap();
    let ca = CertificateAuthority::generate("Round Trip CA", 10).unwrap();
    let (cert, key) = (dir.join("ca.pem"), dir.join("ca.key"));
    ca.save(&cert, &key).unwrap();
    assert_eq!(mode(&key), 0o600);
    assert!(ca.save(&cert, &key).is_err(), "never overwrites");
    let loaded = CertificateAuthority::load(&cert, &key).unwrap();
    assert_eq!(loaded.cert_pem(), ca.cert_pem());
    // A leaf issued by the loaded CA verifies under the original.
    let leaf = loaded
        .issue_client_for_days("bob", KeyKind::EcdsaP256, 1)
        .unwrap();
    let der = parse_pem(&leaf.cert_pem);
    let (_, leaf) = parse_x509_certificate(&der).unwrap();
    let ca_der = parse_pem(&ca.cert_pem());
    let (_, ca_cert) = parse_x509_certificate(&ca_der).unwrap();
    assert_issued_by(&leaf, &ca_cert);
    assert_eq!(leaf.issuer(), ca_cert.subject());

    // The wrong key is refused, naming the key file.
    let other = CertificateAuthority::generate("Other", 10).unwrap();
    let (ocert, okey) = (dir.join("o.pem"), dir.join("o.key"));
    other.save(&ocert, &okey).unwrap();
    let err = CertificateAuthority::load(&cert, &okey).unwrap_err();
    assert!(err.to_string().contains("o.key"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dev_pki_is_created_once_and_never_overwritten() {
    let dir = temp_dir("dev").join("pki");
    let (pki, created) = ensure_dev_pki(&dir, "demo").unwrap();
    assert!(created);
    assert_eq!(mode(&dir), 0o700);
    for key in [&pki.ca_key, &pki.server_key, &pki.client_key] {
        assert_eq!(mode(key), 0o600, "{}", key.display());
    }
    assert_eq!(mode(&pki.server_cert), 0o644);
    let before: Vec<_> = pki.files().iter().map(|f| fs::read(f).unwrap()).collect();

    let (again, created) = ensure_dev_pki(&dir, "someone-else").unwrap();
    assert!(!created);
    assert_eq!(again.demo_user, "demo");
    assert_eq!(again.ca_cert, pki.ca_cert);
    let after: Vec<_> = pki.files().iter().map(|f| fs::read(f).unwrap()).collect();
    assert_eq!(before, after);

    // Server certificate: CN authd, both DNS names, issued by the CA.
    let der = parse_pem(&fs::read_to_string(&pki.server_cert).unwrap());
    let (_, cert) = parse_x509_certificate(&der).unwrap();
    assert_eq!(
        cert.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "authd"
    );
    let ca = CertificateAuthority::load(&pki.ca_cert, &pki.ca_key).unwrap();
    let ca_der = parse_pem(&ca.cert_pem());
    let (_, ca_cert) = parse_x509_certificate(&ca_der).unwrap();
    assert_eq!(
        ca_cert
            .subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        DEV_CA_NAME
    );
    assert_issued_by(&cert, &ca_cert);
    let crl_der = parse_pem(&fs::read_to_string(&pki.crl).unwrap());
    let (_, crl) = parse_x509_crl(&crl_der).unwrap();
    assert_eq!(crl.iter_revoked_certificates().count(), 0);

    // One file gone: an error naming it, nothing regenerated.
    fs::remove_file(&pki.client_key).unwrap();
    match ensure_dev_pki(&dir, "demo") {
        Err(PkiError::Incomplete { missing, .. }) => {
            assert_eq!(missing, vec![pki.client_key.clone()])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read(&pki.ca_key).unwrap(), before[1]);
    fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}
