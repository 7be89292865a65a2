//! `fourway-sim floor` end to end: full mutual handshakes counted, and a
//! client certificate from another CA refused (no figure).

use std::path::{Path, PathBuf};

use fourway_sim::floor::{FloorOptions, run_floor};
use fourway_sim::station::TlsChoice;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

/// A CA, and leaves it signs, written as PEM files under `dir`.
fn ca(dir: &Path, name: &str) -> Issuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    Issuer::new(params, key)
}

fn leaf(dir: &Path, name: &str, issuer: &Issuer<'static, KeyPair>) {
    let params = CertificateParams::new(vec!["authd.local".to_string()]).unwrap();
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
}

fn options(dir: &Path, client: &str, version: TlsChoice) -> FloorOptions {
    let f = |n: &str| -> PathBuf { dir.join(n) };
    FloorOptions {
        server_cert: f("server.pem"),
        server_key: f("server.key"),
        ca: f("ca.pem"),
        client_cert: f(&format!("{client}.pem")),
        client_key: f(&format!("{client}.key")),
        version,
        handshakes: Some(10),
        duration: None,
        warmup: 2,
        in_flight: 4,
        rate: None,
        server_cpu: None,
        client_cpu: None,
    }
}

#[test]
fn floor_counts_verified_handshakes_and_refuses_a_foreign_client() {
    let dir = std::env::temp_dir().join(format!("fourway-floor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = ca(&dir, "ca");
    let other = ca(&dir, "other-ca");
    leaf(&dir, "server", &ours);
    leaf(&dir, "client", &ours);
    leaf(&dir, "stranger", &other);
    for v in [TlsChoice::Tls12, TlsChoice::Tls13] {
        let r = run_floor(&options(&dir, "client", v)).expect("floor runs");
        assert_eq!(r.handshakes, 10, "{v:?}");
        assert!(
            r.server_cpu_ns > 0 && r.server_ms_per_handshake > 0.0,
            "{r:?}"
        );
        // Another CA's client certificate: the server refuses it.
        let e = run_floor(&options(&dir, "stranger", v)).expect_err("foreign client refused");
        assert!(e.contains("server"), "{e}");
    }
    // Paced: 10 measured handshakes at 50/s start over at least 9/50 s
    // (the first at once), and all complete.
    let paced = FloorOptions {
        rate: Some(50.0),
        ..options(&dir, "client", TlsChoice::Tls13)
    };
    let r = run_floor(&paced).expect("paced floor runs");
    assert_eq!((r.handshakes, r.rate), (10, Some(50.0)), "{r:?}");
    assert!(r.elapsed_s >= 9.0 / 50.0, "{r:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
