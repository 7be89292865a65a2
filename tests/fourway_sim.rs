//! End-to-end: fourway-sim's simulated AP and station against the real
//! `authd` binary. The station runs EAP-TLS through the AP (a RADIUS client)
//! to authd; the AP takes the PMK out of the Access-Accept's
//! MS-MPPE-Recv-Key, the station derives its own from the MSK, and both run
//! the four-way and group key handshakes and exchange CCMP frames.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use common::{Creds, Server, TempDir, TestPki};
use eap_methods::peer::PeerConfig;
use fourway_sim::ap::NasConfig;
use fourway_sim::eapol::Akm;
use fourway_sim::frames::MacAddr;
use fourway_sim::radius_client::Retransmit;
use fourway_sim::sim::{SimOptions, run_handshakes};
use fourway_sim::station::{
    Authentication, StationError, StationTls, TlsChoice, authenticate, client_config,
    default_server_name,
};

const AP: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);

fn nas() -> NasConfig {
    NasConfig {
        secret: zeroize::Zeroizing::new(common::SECRET.as_bytes().to_vec()),
        nas_identifier: "fourway-sim-test".into(),
        framed_mtu: 1400,
        bssid: AP.0,
        ssid: "authd-lab".into(),
        request_key_name: true,
    }
}

fn peer(pki: &TestPki, creds: &Creds, tls: TlsChoice) -> Arc<PeerConfig> {
    let config = client_config(&StationTls {
        cert: &creds.cert,
        key: &creds.key,
        ca: &pki.ca_cert,
        version: Some(tls),
        server_name: None,
        resumption: false,
    })
    .expect("station TLS config");
    Arc::new(PeerConfig {
        identity: creds.name.clone(),
        tls: config,
        server_name: default_server_name(None),
        fragment_size: 1386,
        max_tls_message_len: 65536,
    })
}

fn auth(
    server: &Server,
    pki: &TestPki,
    creds: &Creds,
    tls: TlsChoice,
) -> Result<Authentication, StationError> {
    let addr: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(authenticate(
        addr,
        nas(),
        [0x02, 0, 0x5a, 0, 0, 1],
        peer(pki, creds, tls),
        Retransmit::default(),
    ))
}

fn full_run(tls: TlsChoice, expected: rustls::ProtocolVersion) {
    let dir = TempDir::new("fourway-sim");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    let a = auth(&server, &pki, &pki.good, tls)
        .unwrap_or_else(|e| panic!("authentication failed: {e}\n{}", server.log()));
    assert_eq!(a.tls_version, Some(expected));
    assert!(a.pmk_ap.ct_eq(&a.pmk_station), "AP and station PMKs differ");
    assert_eq!(
        a.session_id_matches_key_name,
        Some(true),
        "EAP-Key-Name from authd is not the station's Session-Id"
    );
    // The goal from the issue: 4 RADIUS round trips with an ECDSA P-256
    // server certificate and Framed-MTU 1400.
    assert_eq!(a.round_trips, 4, "round trips");
    let opts = SimOptions {
        akm: Akm::Ieee8021x,
        ..SimOptions::default()
    };
    let report = run_handshakes(
        &a.pmk_ap,
        &a.pmk_station,
        AP,
        MacAddr([0x02, 0, 0x5a, 0, 0, 1]),
        &mut rand::rng(),
        Instant::now(),
        &opts,
    );
    assert!(
        report.pmk_match && report.ptk_installed && report.gtk_installed && report.ccmp_ok,
        "handshakes failed: {:?}",
        report.error
    );
}

#[test]
fn tls12_station_through_ap_to_authd_then_fourway() {
    full_run(TlsChoice::Tls12, rustls::ProtocolVersion::TLSv1_2);
}

#[test]
fn tls13_station_through_ap_to_authd_then_fourway() {
    full_run(TlsChoice::Tls13, rustls::ProtocolVersion::TLSv1_3);
}

#[test]
fn untrusted_certificate_is_rejected_and_no_pmk() {
    let dir = TempDir::new("fourway-sim-reject");
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    match auth(&server, &pki, &pki.untrusted, TlsChoice::Tls13) {
        Err(StationError::Rejected(_)) => {}
        Err(other) => panic!("expected Access-Reject, got {other}\n{}", server.log()),
        Ok(_) => panic!("untrusted certificate accepted"),
    }
    server.expect_log("Access-Reject");
}
