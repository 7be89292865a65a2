//! Each check on its own, at chosen times (the clock is an argument).

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use super::*;
use crate::pki::{CertificateAuthority, KeyKind};

const DAY: i64 = 86_400;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("authd-check-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn levels(r: &Report, what: &str) -> Vec<Level> {
    r.findings
        .iter()
        .filter(|f| f.what == what)
        .map(|f| f.level)
        .collect()
}

fn now() -> i64 {
    unix(SystemTime::now())
}

#[test]
fn validity_by_the_clock() {
    let ca = CertificateAuthority::generate("clock CA", 100).unwrap();
    let ders = read_pem_certs_from(&ca.cert_pem());
    let cert = X509Certificate::from_der(&ders[0]).unwrap().1;
    let to = cert.validity().not_after.timestamp();
    let from = cert.validity().not_before.timestamp();
    for (at, want) in [
        (from - 10, Level::Error),
        (from + DAY, Level::Ok),
        (to - 31 * DAY, Level::Ok),
        (to - 29 * DAY, Level::Warn),
        (to + 1, Level::Error),
    ] {
        let mut r = Report::default();
        validity(&mut r, "ca", "x", &cert, at);
        assert_eq!(levels(&r, "ca"), vec![want], "{at}: {:?}", r.findings);
    }
}

fn read_pem_certs_from(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_leaf_is_no_ca() {
    let d = Dir::new("leaf-ca");
    let ca = CertificateAuthority::generate("real CA", 100).unwrap();
    let leaf = ca.issue_server("srv", &[], 100).unwrap();
    let path = d.0.join("leaf.pem");
    std::fs::write(&path, &leaf.cert_pem).unwrap();
    let ders = read_pem_certs(&path).unwrap();
    let certs = parse_all(&ders).unwrap();
    let mut r = Report::default();
    check_ca(&mut r, &path, &certs, now());
    assert_eq!(levels(&r, "ca"), vec![Level::Error]);
    // Positive control: the CA itself passes.
    let ca_ders = read_pem_certs_from(&ca.cert_pem());
    let mut r = Report::default();
    check_ca(&mut r, &path, &parse_all(&ca_ders).unwrap(), now());
    assert_eq!(levels(&r, "ca"), vec![Level::Ok]);
}

#[test]
fn server_key_and_chain() {
    let d = Dir::new("server");
    let ca = CertificateAuthority::generate("the CA", 100).unwrap();
    let other = CertificateAuthority::generate("the CA", 100).unwrap();
    let srv = ca.issue_server("srv", &[], 100).unwrap();
    let (cert, key) = (d.0.join("s.pem"), d.0.join("s.key"));
    srv.write(&cert, &key).unwrap();
    let ca_ders = read_pem_certs_from(&ca.cert_pem());
    let other_ders = read_pem_certs_from(&other.cert_pem());
    let (ca_certs, other_certs) = (
        parse_all(&ca_ders).unwrap(),
        parse_all(&other_ders).unwrap(),
    );

    let mut r = Report::default();
    check_server(&mut r, &cert, &key, &ca_certs, now());
    assert_eq!(levels(&r, "key"), vec![Level::Ok]);
    assert_eq!(levels(&r, "chain"), vec![Level::Ok]);
    assert_eq!(levels(&r, "certificate"), vec![Level::Ok]);

    // A CA of the same name but another key did not sign it.
    let mut r = Report::default();
    check_server(&mut r, &cert, &key, &other_certs, now());
    assert_eq!(levels(&r, "chain"), vec![Level::Error], "{:?}", r.findings);

    // Another key of the same kind (P-256) does not match.
    let stranger = ca.issue_server("x", &[], 100).unwrap();
    let (c2, k2) = (d.0.join("x.pem"), d.0.join("x.key"));
    stranger.write(&c2, &k2).unwrap();
    let mut r = Report::default();
    check_server(&mut r, &cert, &k2, &ca_certs, now());
    assert_eq!(levels(&r, "key"), vec![Level::Error]);

    // A client certificate as the server's: no serverAuth, warned.
    let n = SystemTime::now();
    let client = ca
        .issue_client(
            "c",
            KeyKind::EcdsaP256,
            n - Duration::from_secs(60),
            n + Duration::from_secs(400 * 86_400),
        )
        .unwrap();
    let (c3, k3) = (d.0.join("c.pem"), d.0.join("c.key"));
    client.write(&c3, &k3).unwrap();
    let mut r = Report::default();
    check_server(&mut r, &c3, &k3, &ca_certs, now());
    assert!(
        levels(&r, "certificate").contains(&Level::Warn),
        "{:?}",
        r.findings
    );
}

#[test]
fn crl_next_update_by_the_clock() {
    let d = Dir::new("crl");
    let ca = CertificateAuthority::generate("crl CA", 100).unwrap();
    let n = SystemTime::now();
    let pem = ca
        .crl(&[], n, n + Duration::from_secs(7 * 86_400), 1)
        .unwrap();
    let file = d.0.join("c.crl");
    std::fs::write(&file, pem).unwrap();
    let ca_ders = read_pem_certs_from(&ca.cert_pem());
    let cas = parse_all(&ca_ders).unwrap();
    let t = now();
    for (at, policy, want) in [
        (t, CrlPolicy::Reject, Level::Ok),
        (t + 6 * DAY, CrlPolicy::Reject, Level::Warn),
        (t + 8 * DAY, CrlPolicy::Reject, Level::Error),
        (t + 8 * DAY, CrlPolicy::Allow, Level::Warn),
    ] {
        let mut r = Report::default();
        check_crls(&mut r, std::slice::from_ref(&file), &cas, policy, at);
        assert_eq!(levels(&r, "crl"), vec![want], "{at}: {:?}", r.findings);
    }
    // Not a CRL at all.
    std::fs::write(
        &file,
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    )
    .unwrap();
    let mut r = Report::default();
    check_crls(
        &mut r,
        std::slice::from_ref(&file),
        &cas,
        CrlPolicy::Reject,
        t,
    );
    assert_eq!(levels(&r, "crl"), vec![Level::Error]);
}

#[test]
fn credential_key_modes() {
    let d = Dir::new("key");
    let path = d.0.join("credential.key");
    let mut r = Report::default();
    check_credential_key(&mut r, &path);
    crate::credkey::CredentialKey::load_or_create(&path).unwrap();
    check_credential_key(&mut r, &path);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    check_credential_key(&mut r, &path);
    assert_eq!(
        levels(&r, "credential_key"),
        vec![Level::Warn, Level::Ok, Level::Error]
    );
}

#[test]
fn store_schema_older_equal_newer() {
    let d = Dir::new("store");
    let db = DatabaseConfig::new(crate::store::default_url(&d.0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut r = Report::default();
        check_store(&mut r, &db).await;
        // Nothing was created by the check.
        assert!(!d.0.join("authd.db").exists());
        let store = crate::store::Store::connect(&db.url).await.unwrap();
        store.close().await;
        check_store(&mut r, &db).await;
        let known = known_version();
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = ?")
            .bind(known)
            .execute(&pool)
            .await
            .unwrap();
        check_store(&mut r, &db).await;
        sqlx::query("UPDATE _sqlx_migrations SET version = ? WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
            .bind(known + 1)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        check_store(&mut r, &db).await;
        assert_eq!(
            levels(&r, "store"),
            vec![Level::Warn, Level::Ok, Level::Warn, Level::Error],
            "{:?}",
            r.findings
        );
        assert!(r.findings[2].message.contains("will be migrated at start"));
        assert!(r.findings[3].message.contains("newer than this binary's"));
    });
}

#[test]
fn clients_none_or_short() {
    let tls =
        crate::config::TlsConfig::new(Path::new("s.pem"), Path::new("s.key"), Path::new("ca.pem"));
    let mut config = Config::new(tls);
    let mut r = Report::default();
    check_clients(&mut r, &config);
    config.database = Some(DatabaseConfig::new("sqlite:///x.db".to_owned()));
    check_clients(&mut r, &config);
    assert_eq!(levels(&r, "clients"), vec![Level::Error, Level::Warn]);
    let text = Report {
        findings: r.findings.clone(),
    }
    .render();
    assert!(
        text.ends_with("authd check: 0 ok, 1 warnings, 1 errors\n"),
        "{text}"
    );
}
