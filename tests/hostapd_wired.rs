//! End-to-end test with the real authenticator and supplicant: hostapd
//! (`driver=wired`, IEEE 802.1X authenticator, RADIUS client) on one end of
//! a veth pair and wpa_supplicant (`-D wired`) on the other end, inside its
//! own network namespace. EAPOL runs over the veth link to the PAE group
//! address (IEEE 802.1X-2010 section 11.1.1); RADIUS runs over loopback to
//! `authd`.
//!
//! EAP-TLS with a certificate, and PEAP-MSCHAPv2 and TTLS-PAP as a
//! password user of the store with an anonymous outer identity.
//!
//! Success is the supplicant's port becoming Authorized, and the PMK the
//! authenticator received in MS-MPPE-Recv-Key (RFC 2548 section 2.4.3)
//! being equal to the first 32 bytes of the MSK the supplicant derived
//! (RFC 5216 section 2.3, RFC 9190 section 2.3).
//!
//! Needs root, `ip`, `hostapd`, `wpa_supplicant` and `wpa_cli`: a missing
//! piece fails the test. tests/run.sh installs them.

mod common;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::wired::{
    Daemon, Link, hostapd_conf, spawn_supplicant, supplicant_conf, supplicant_status,
};
use common::{
    PasswordMethod, PasswordPeer, Server, TempDir, TestPki, TlsChoice, hexdump, require_tool,
};

/// Who authenticates over the wire, and how.
enum Peer {
    /// EAP-TLS with the test PKI's good certificate (alice).
    Certificate,
    /// PEAP or TTLS as `bob`, a password user of the store, with an
    /// anonymous outer identity.
    Password(PasswordMethod),
}

/// The password of `bob`.
const PASSWORD: &str = "wired password";

fn authenticate_over_wire(label: &str, tls: TlsChoice, expect_version: &str) {
    over_wire(label, Peer::Certificate, tls, expect_version);
}

fn over_wire(label: &str, peer: Peer, tls: TlsChoice, expect_version: &str) {
    assert!(
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0"),
        "this test needs root (network namespaces): run it through tests/run.sh as root"
    );
    for tool in ["ip", "hostapd", "wpa_supplicant", "wpa_cli"] {
        require_tool(tool);
    }

    let dir = TempDir::new(label);
    let pki = TestPki::create(dir.path());
    let (server, network, user, msk_title, selected) = match &peer {
        Peer::Certificate => (
            Server::start(dir.path(), &pki),
            common::network_block(&pki.good, &pki.ca_cert, tls),
            pki.good.name.as_str(),
            "EAP-TLS: Derived key",
            "selectedMethod=13 (EAP-TLS)",
        ),
        Peer::Password(method) => {
            let port = common::free_udp_port();
            let config = common::write_store_config(dir.path(), &pki, port, |_| {});
            common::admin_cli(
                &config,
                &["user", "add", "bob", "--password"],
                &format!("{PASSWORD}\n"),
            );
            let network = common::password_network_block(
                &PasswordPeer {
                    method: *method,
                    identity: "bob",
                    anonymous: Some("anonymous@example.org"),
                    password: PASSWORD,
                    tls,
                },
                &pki.ca_cert,
            );
            let (title, selected) = match method {
                PasswordMethod::Peap => ("EAP-PEAP: Derived key", "selectedMethod=25 (EAP-PEAP)"),
                _ => ("EAP-TTLS: Derived key", "selectedMethod=21 (EAP-TTLS)"),
            };
            (Server::spawn(config, port), network, "bob", title, selected)
        }
    };
    let link = Link::create();

    let mut hostapd = Daemon::spawn(
        "hostapd",
        Command::new("hostapd")
            .args(["-dd", "-K", "-t"])
            .arg(hostapd_conf(dir.path(), &link.outer, server.port)),
        dir.path().join("hostapd.log"),
    );
    // hostapd opens the interface and the RADIUS socket before the
    // supplicant's EAPOL-Start needs them.
    thread::sleep(Duration::from_millis(500));
    hostapd.assert_running();

    let (conf, ctrl) = supplicant_conf(dir.path(), &network);
    let mut supplicant = spawn_supplicant(&link, &conf, dir.path());

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = String::new();
    while Instant::now() < deadline {
        hostapd.assert_running();
        supplicant.assert_running();
        status = supplicant_status(&link, &ctrl);
        if status.contains("suppPortStatus=Authorized") && status.contains("EAP state=SUCCESS") {
            break;
        }
        thread::sleep(Duration::from_millis(250));
    }
    assert!(
        status.contains("suppPortStatus=Authorized") && status.contains("EAP state=SUCCESS"),
        "wpa_supplicant not authorized within 30 s; last status:\n{status}\n----- authd -----\n{}",
        server.log()
    );

    assert!(
        status.contains(&format!("eap_tls_version={expect_version}")) && status.contains(selected),
        "{expect_version} or {selected} not used:\n{status}"
    );
    let supp_log = supplicant.output();
    // MSK as the supplicant derived it (RFC 5216 section 2.3: first 64
    // bytes of the exported keying material; PEAP and TTLS: of their own
    // labels, RFC 5281 section 8, RFC 9427 section 2).
    let msk = hexdump(&supp_log, msk_title).expect("wpa_supplicant logged no MSK");
    assert_eq!(msk.len(), 64);
    // hostapd logs the decrypted MPPE keys of the Access-Accept; the Recv
    // key is the PMK (MSK[0..32]), the Send key MSK[32..64].
    let mut recv = None;
    let mut send = None;
    let hostapd_deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < hostapd_deadline && (recv.is_none() || send.is_none()) {
        let log = hostapd.output();
        recv = hexdump(&log, "MS-MPPE-Recv-Key");
        send = hexdump(&log, "MS-MPPE-Send-Key");
        thread::sleep(Duration::from_millis(100));
    }
    let recv = recv.expect("hostapd logged no MS-MPPE-Recv-Key");
    let send = send.expect("hostapd logged no MS-MPPE-Send-Key");
    assert_eq!(recv.len(), 32);
    assert_eq!(
        recv,
        msk[..32],
        "PMK differs between authenticator and supplicant"
    );
    assert_eq!(send, msk[32..], "MS-MPPE-Send-Key differs from MSK[32..64]");

    // hostapd's own view of the station: authorized by 802.1X, named by
    // the Access-Accept's User-Name (hostapd takes it over the EAP
    // identity): for a password user the inner identity, not the
    // anonymous outer one.
    let all_sta = Command::new("hostapd_cli")
        .arg("-p")
        .arg(dir.path().join("hostapd-ctrl"))
        .args(["-i", &link.outer, "all_sta"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        all_sta.contains("flags=[AUTHORIZED]")
            && all_sta.contains("dot1xAuthAuthSuccessesWhileAuthenticating=1")
            && all_sta.contains(&format!("dot1xAuthSessionUserName={user}\n")),
        "hostapd does not list an authorized station:\n{all_sta}"
    );
}

#[test]
fn wired_8021x_tls12_pmk_matches() {
    authenticate_over_wire("wired12", TlsChoice::Only12, "TLSv1.2");
}

#[test]
fn wired_8021x_tls13_pmk_matches() {
    authenticate_over_wire("wired13", TlsChoice::Only13, "TLSv1.3");
}

#[test]
fn wired_8021x_peap_mschapv2_tls12_pmk_matches() {
    over_wire(
        "wired-peap12",
        Peer::Password(PasswordMethod::Peap),
        TlsChoice::Only12,
        "TLSv1.2",
    );
}

#[test]
fn wired_8021x_peap_mschapv2_tls13_pmk_matches() {
    over_wire(
        "wired-peap13",
        Peer::Password(PasswordMethod::Peap),
        TlsChoice::Only13,
        "TLSv1.3",
    );
}

#[test]
fn wired_8021x_ttls_pap_tls12_pmk_matches() {
    over_wire(
        "wired-ttls12",
        Peer::Password(PasswordMethod::TtlsPap),
        TlsChoice::Only12,
        "TLSv1.2",
    );
}

#[test]
fn wired_8021x_ttls_pap_tls13_pmk_matches() {
    over_wire(
        "wired-ttls13",
        Peer::Password(PasswordMethod::TtlsPap),
        TlsChoice::Only13,
        "TLSv1.3",
    );
}
