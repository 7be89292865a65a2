//! End-to-end tests of `authd serve` with `eapol_test` (the wpa_supplicant
//! RADIUS test client) and a raw UDP client.
//!
//! eapol_test plays the access point and the supplicant at once: it runs
//! EAP-TLS (RFC 5216 for TLS 1.2, RFC 9190 for TLS 1.3) over RADIUS
//! (RFC 3579) and, after Access-Accept, compares the PMK it derived itself
//! with the MS-MPPE-Recv-Key the server sent (RFC 2548 section 2.4.3),
//! printing `MPPE keys OK: 1  mismatch: 0`.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{EapolRun, Server, TempDir, TestPki, TlsChoice, run_eapol_test, write_eapol_conf};

struct Setup {
    dir: TempDir,
    pki: TestPki,
    server: Server,
}

fn setup(name: &str) -> Setup {
    let dir = TempDir::new(name);
    let pki = TestPki::create(dir.path());
    let server = Server::start(dir.path(), &pki);
    Setup { dir, pki, server }
}

fn assert_accepted(run: &EapolRun, server: &Server) {
    assert!(
        run.success() && run.contains("MPPE keys OK: 1  mismatch: 0") && run.contains("SUCCESS"),
        "eapol_test did not succeed ({:?}):\n{}\n----- authd -----\n{}",
        run.status,
        run.output,
        server.log()
    );
}

fn assert_rejected(run: &EapolRun) {
    assert!(
        run.status.is_some_and(|s| !s.success()),
        "eapol_test should fail ({:?}):\n{}",
        run.status,
        run.output
    );
    assert!(
        run.contains("Access-Reject"),
        "no Access-Reject:\n{}",
        run.output
    );
    assert!(!run.contains("Access-Accept"), "accepted:\n{}", run.output);
    assert!(
        run.contains("EAP Failure"),
        "no EAP-Failure:\n{}",
        run.output
    );
}

#[test]
fn tls12_succeeds_and_mppe_keys_match() {
    let s = setup("tls12");
    let conf = write_eapol_conf(
        s.dir.path(),
        "tls12",
        &s.pki.good,
        &s.pki.ca_cert,
        TlsChoice::Only12,
    );
    let run = run_eapol_test(&conf, s.server.port, &[]);
    assert_accepted(&run, &s.server);
    assert!(
        run.contains("SSL: Using TLS version TLSv1.2"),
        "{}",
        run.output
    );
    // wpa_supplicant offers AES-256-GCM first; authd picks by its own
    // order (tls::crypto_provider): TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.
    assert!(
        run.contains("OpenSSL: Server selected cipher suite 0xc02b"),
        "{}",
        run.output
    );
    // The Access-Accept's Class (eapol_test dumps it in hex): authd's,
    // naming the certificate's user, EAP-TLS and a certificate serial.
    let class = run
        .output
        .split("Attribute 25 (Class)")
        .nth(1)
        .and_then(|rest| rest.split("Value: ").nth(1))
        .and_then(|v| hex::decode(v.lines().next()?.trim()).ok())
        .unwrap_or_else(|| panic!("no Class in the Access-Accept:\n{}", run.output));
    let info = authd::class::parse(&class).expect("authd's Class");
    assert_eq!(info.method, authd::class::Method::Tls);
    assert_eq!(info.user.as_deref(), Some(s.pki.good.name.as_str()));
    assert!(info.serial.is_some_and(|s| !s.is_empty()));
}

#[test]
fn tls13_succeeds_and_mppe_keys_match() {
    let s = setup("tls13");
    let conf = write_eapol_conf(
        s.dir.path(),
        "tls13",
        &s.pki.good,
        &s.pki.ca_cert,
        TlsChoice::Only13,
    );
    let run = run_eapol_test(&conf, s.server.port, &[]);
    assert_accepted(&run, &s.server);
    assert!(
        run.contains("SSL: Using TLS version TLSv1.3"),
        "{}",
        run.output
    );
    // TLS_AES_128_GCM_SHA256 (RFC 8446 appendix B.4), authd's first choice
    // over the AES-256-GCM-SHA384 wpa_supplicant lists first.
    assert!(
        run.contains("OpenSSL: Server selected cipher suite 0x1301"),
        "{}",
        run.output
    );
}

/// The `Access-Accept` lines of the server log: (resumed, round trips).
fn accepts_in_log(log: &str) -> Vec<(bool, u32)> {
    log.lines()
        .filter(|l| l.contains("Access-Accept"))
        .map(|l| {
            let field = |name: &str| {
                let start = l.find(&format!("{name}="))? + name.len() + 1;
                l[start..].split_whitespace().next().map(str::to_owned)
            };
            (
                field("resumed").as_deref() == Some("true"),
                field("round_trips")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("no round_trips in {l}")),
            )
        })
        .collect()
}

/// eapol_test `-r 1` authenticates, then again on the same TLS session
/// cache: the second time resumes (RFC 5216 section 2.1.3, RFC 9190
/// section 2.1.2) without a certificate exchange, and the keys match both
/// times.
fn resumes_with_eapol_test(
    name: &str,
    tls: TlsChoice,
    version: &str,
    expected_resumed_round_trips: u32,
) {
    let s = setup(name);
    let conf = write_eapol_conf(s.dir.path(), name, &s.pki.good, &s.pki.ca_cert, tls);
    let run = run_eapol_test(&conf, s.server.port, &["-r1"]);
    assert!(
        run.success() && run.contains("MPPE keys OK: 2  mismatch: 0") && run.contains("SUCCESS"),
        "eapol_test -r1 did not succeed twice with matching keys ({:?}):\n{}\n----- authd -----\n{}",
        run.status,
        run.output,
        s.server.log()
    );
    assert_eq!(
        run.output.matches("CTRL-EVENT-EAP-SUCCESS").count(),
        2,
        "{}",
        run.output
    );
    assert!(run.contains(version), "{}", run.output);
    s.server
        .wait_for_log_count("Access-Accept", 2, common::LOG_WAIT);
    let accepts = accepts_in_log(&s.server.log());
    assert_eq!(accepts.len(), 2, "{}", s.server.log());
    let (first, second) = (accepts[0], accepts[1]);
    assert!(!first.0, "first authentication resumed: {}", s.server.log());
    assert!(
        second.0,
        "second authentication not resumed: {}",
        s.server.log()
    );
    assert_eq!(
        second.1, expected_resumed_round_trips,
        "resumed in {} round trips, full in {}",
        second.1, first.1
    );
    assert!(second.1 <= first.1);
}

#[test]
fn tls12_resumes_with_eapol_test() {
    // Abbreviated handshake (RFC 5216 section 2.1.2): the peer's Finished
    // is last, one round trip less than the full handshake's 4.
    resumes_with_eapol_test(
        "resume12",
        TlsChoice::Only12,
        "SSL: Using TLS version TLSv1.2",
        3,
    );
}

#[test]
fn tls13_resumes_with_eapol_test() {
    // The commitment message follows the peer's Finished (authd does not
    // send it as half-RTT data: wpa_supplicant 2.10 cannot finish such a
    // flight), so resumption saves the certificates, not a round trip.
    resumes_with_eapol_test(
        "resume13",
        TlsChoice::Only13,
        "SSL: Using TLS version TLSv1.3",
        4,
    );
}

#[test]
fn rsa_client_certificate_succeeds() {
    let s = setup("rsa");
    let conf = write_eapol_conf(
        s.dir.path(),
        "rsa",
        &s.pki.good_rsa,
        &s.pki.ca_cert,
        TlsChoice::Only12,
    );
    let run = run_eapol_test(&conf, s.server.port, &[]);
    assert_accepted(&run, &s.server);
}

#[test]
fn eap_key_name_matches_session_id_tls12() {
    // RFC 4072 section 2.1 / RFC 7268 section 2.4: EAP-Key-Name carries the
    // EAP Session-Id, for EAP-TLS 1.2 0x0D || client.random || server.random
    // (RFC 5216 section 2.3). eapol_test derives it locally and compares.
    let s = setup("ekn12");
    let conf = write_eapol_conf(
        s.dir.path(),
        "ekn12",
        &s.pki.good,
        &s.pki.ca_cert,
        TlsChoice::Only12,
    );
    let run = run_eapol_test(&conf, s.server.port, &["-e"]);
    assert_accepted(&run, &s.server);
    assert!(
        run.contains("Locally derived EAP Session-Id matches EAP-Key-Name from server"),
        "EAP-Key-Name missing or different:\n{}",
        run.output
    );
    let session_id = run
        .hexdump("EAP-TLS: Derived Session-Id")
        .expect("Session-Id in output");
    assert_eq!(session_id.len(), 65);
    assert_eq!(session_id[0], 13, "Session-Id starts with the EAP-TLS type");
}

/// The EAP-Key-Name value of the last Access-Accept eapol_test printed.
fn eap_key_name_in_accept(output: &str) -> Option<Vec<u8>> {
    let mut lines = output.lines();
    let mut found = None;
    while let Some(line) = lines.next() {
        if line.contains("Attribute 102 (EAP-Key-Name)") && !line.contains("length=3") {
            let value = lines.next()?.trim().strip_prefix("Value: ")?.to_owned();
            found = hex::decode(value).ok();
        }
    }
    found
}

#[test]
fn eap_key_name_matches_session_id_tls13() {
    // RFC 9190 section 2.3: Session-Id = 0x0D || Method-Id, Method-Id =
    // TLS-Exporter("EXPORTER_EAP_TLS_Method-Id", Type-Code, 64) with the
    // Type-Code 0x0D as the context, as for Key_Material. wpa_supplicant
    // 2.10 (Debian's eapol_test) derives it the same way and compares it
    // with the EAP-Key-Name of the Access-Accept: a real peer's verdict,
    // not a second copy of our own derivation.
    let s = setup("ekn13");
    let conf = write_eapol_conf(
        s.dir.path(),
        "ekn13",
        &s.pki.good,
        &s.pki.ca_cert,
        TlsChoice::Only13,
    );
    let run = run_eapol_test(&conf, s.server.port, &["-e"]);
    assert_accepted(&run, &s.server);
    assert!(
        run.contains("Locally derived EAP Session-Id matches EAP-Key-Name from server"),
        "EAP-Key-Name missing or different:\n{}",
        run.output
    );
    let name = eap_key_name_in_accept(&run.output).expect("EAP-Key-Name in the Access-Accept");
    assert_eq!(name.len(), 65);
    assert_eq!(name[0], 13, "Session-Id starts with the EAP-TLS type");
    let derived = run
        .hexdump("EAP-TLS: Derived Session-Id")
        .expect("Session-Id in output");
    assert_eq!(
        derived, name,
        "eapol_test's own Session-Id is the attribute"
    );
}

#[test]
fn untrusted_ca_is_rejected() {
    let s = setup("untrusted");
    for tls in [TlsChoice::Only12, TlsChoice::Only13] {
        let conf = write_eapol_conf(
            s.dir.path(),
            "untrusted",
            &s.pki.untrusted,
            &s.pki.ca_cert,
            tls,
        );
        assert_rejected(&run_eapol_test(&conf, s.server.port, &[]));
    }
}

#[test]
fn revoked_client_is_rejected() {
    let s = setup("revoked");
    for tls in [TlsChoice::Only12, TlsChoice::Only13] {
        let conf = write_eapol_conf(s.dir.path(), "revoked", &s.pki.revoked, &s.pki.ca_cert, tls);
        assert_rejected(&run_eapol_test(&conf, s.server.port, &[]));
    }
}

#[test]
fn expired_client_is_rejected() {
    let s = setup("expired");
    for tls in [TlsChoice::Only12, TlsChoice::Only13] {
        let conf = write_eapol_conf(s.dir.path(), "expired", &s.pki.expired, &s.pki.ca_cert, tls);
        assert_rejected(&run_eapol_test(&conf, s.server.port, &[]));
    }
}

#[test]
fn wrong_secret_gets_no_answer_from_eapol_test() {
    let s = setup("badsecret");
    let conf = write_eapol_conf(
        s.dir.path(),
        "badsecret",
        &s.pki.good,
        &s.pki.ca_cert,
        TlsChoice::Only12,
    );
    let run = common::run_eapol_test_with_secret(&conf, s.server.port, "not-the-secret", &[]);
    assert!(!run.success(), "{}", run.output);
    assert!(!run.contains("Access-Challenge"), "{}", run.output);
    assert!(!run.contains("Access-Accept"), "{}", run.output);
}

// ---------------------------------------------------------------------------
// Raw RADIUS over UDP.

/// RADIUS attribute types (RFC 2865 section 5, RFC 3579 section 3).
const USER_NAME: u8 = 1;
const NAS_IP_ADDRESS: u8 = 4;
const EAP_MESSAGE: u8 = 79;
const MESSAGE_AUTHENTICATOR: u8 = 80;

/// EAP-Response/Identity (RFC 3748 section 5.1) for `name`.
fn eap_identity_response(id: u8, name: &str) -> Vec<u8> {
    let len = 5 + name.len();
    let mut eap = vec![2, id, (len >> 8) as u8, len as u8, 1];
    eap.extend_from_slice(name.as_bytes());
    eap
}

/// An Access-Request assembled by hand, without Message-Authenticator.
fn access_request_without_ma(identifier: u8, name: &str) -> Vec<u8> {
    let mut authenticator = [0u8; 16];
    rand::fill(&mut authenticator[..]);
    let mut attrs = Vec::new();
    let mut push = |t: u8, v: &[u8]| {
        attrs.push(t);
        attrs.push((v.len() + 2) as u8);
        attrs.extend_from_slice(v);
    };
    push(USER_NAME, name.as_bytes());
    push(NAS_IP_ADDRESS, &[127, 0, 0, 1]);
    push(EAP_MESSAGE, &eap_identity_response(0, name));
    let len = 20 + attrs.len();
    let mut packet = vec![1, identifier, (len >> 8) as u8, len as u8];
    packet.extend_from_slice(&authenticator);
    packet.extend_from_slice(&attrs);
    packet
}

fn client(server: &Server) -> UdpSocket {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(("127.0.0.1", server.port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    sock
}

/// Sends `packet` and returns the reply, if one comes within a second.
fn exchange(sock: &UdpSocket, packet: &[u8]) -> Option<Vec<u8>> {
    sock.send(packet).unwrap();
    let mut buf = [0u8; 4096];
    match sock.recv(&mut buf) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(e) => panic!("recv: {e}"),
    }
}

#[test]
fn request_without_message_authenticator_is_dropped() {
    let s = setup("noma");
    let sock = client(&s.server);
    let packet = access_request_without_ma(7, "alice");
    assert_eq!(
        exchange(&sock, &packet),
        None,
        "a request without Message-Authenticator was answered"
    );
}

use common::radius as signed;

#[test]
fn request_with_wrong_secret_is_dropped() {
    let s = setup("wrongsecret");
    let sock = client(&s.server);
    let packet = signed::access_request(
        9,
        "alice",
        b"wrong-secret",
        &eap_identity_response(0, "alice"),
    );
    assert_eq!(
        exchange(&sock, &packet),
        None,
        "a request signed with the wrong secret was answered"
    );
    // The same request with the right secret is answered: the drop above is
    // about the secret, not about the packet.
    let packet = signed::access_request(
        10,
        "alice",
        common::SECRET.as_bytes(),
        &eap_identity_response(0, "alice"),
    );
    assert!(exchange(&sock, &packet).is_some(), "{}", s.server.log());
}

#[test]
fn identity_gets_a_verified_challenge_with_message_authenticator_first() {
    let s = setup("challenge");
    let sock = client(&s.server);
    let request = signed::access_request(
        42,
        "alice",
        common::SECRET.as_bytes(),
        &eap_identity_response(0, "alice"),
    );
    let reply =
        exchange(&sock, &request).unwrap_or_else(|| panic!("no reply:\n{}", s.server.log()));
    assert_eq!(reply[0], 11, "not an Access-Challenge: {reply:02x?}");
    assert_eq!(reply[1], 42, "identifier");
    // First attribute is Message-Authenticator (type 80, length 18), so a
    // BlastRADIUS prefix cannot be forged in front of it.
    assert!(reply.len() >= 38, "{reply:02x?}");
    assert_eq!((reply[20], reply[21]), (MESSAGE_AUTHENTICATOR, 18));
    signed::verify_response(&reply, &request, common::SECRET.as_bytes());
    // It carries an EAP-Request/TLS-Start (RFC 5216 section 2.1.1): code 1,
    // type 13, S flag.
    let eap = signed::eap_message(&reply);
    assert_eq!(eap.first(), Some(&1), "{eap:02x?}");
    assert_eq!(eap.get(4), Some(&13), "{eap:02x?}");
    assert_eq!(eap.get(5).map(|f| f & 0x20), Some(0x20), "{eap:02x?}");
}

#[test]
fn proxy_state_is_copied_into_the_reply_in_order() {
    use radius_proto::{Code, Packet, PacketBuilder, dict};
    let s = setup("proxy-state");
    let sock = client(&s.server);
    let mut authenticator = [0u8; 16];
    rand::fill(&mut authenticator[..]);
    let mut b = PacketBuilder::new(Code::AccessRequest, 7);
    b.add(dict::USER_NAME, b"alice").unwrap();
    b.add(dict::PROXY_STATE, b"first proxy").unwrap();
    b.add_eap_message(&eap_identity_response(0, "alice"));
    b.add(dict::PROXY_STATE, &[0, 1, 2, 3]).unwrap();
    let request = b
        .encode_request(authenticator, common::SECRET.as_bytes())
        .unwrap();
    let reply =
        exchange(&sock, &request).unwrap_or_else(|| panic!("no reply:\n{}", s.server.log()));
    signed::verify_response(&reply, &request, common::SECRET.as_bytes());
    let reply = Packet::new_checked(&reply[..]).unwrap();
    assert_eq!(reply.code(), Code::AccessChallenge);
    let states: Vec<&[u8]> = reply.attrs(dict::PROXY_STATE).collect();
    assert_eq!(states, [&b"first proxy"[..], &[0, 1, 2, 3][..]]);
}

/// A CA made with rcgen for the chain test: its certificate PEM and the
/// issuer that signs with it.
struct ChainCa {
    pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    serial: Vec<u8>,
}

fn chain_params(cn: &str, serial: &[u8]) -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    p.not_after = rcgen::date_time_ymd(2099, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p
}

impl ChainCa {
    fn new(cn: &str, serial: u8, parent: Option<&ChainCa>) -> ChainCa {
        let serial = vec![0x10, serial];
        let mut params = chain_params(cn, &serial);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = match parent {
            Some(p) => params.signed_by(&key, &p.issuer).unwrap().pem(),
            None => params.self_signed(&key).unwrap().pem(),
        };
        ChainCa {
            pem,
            issuer: rcgen::Issuer::new(params, key),
            serial,
        }
    }

    /// An end-entity certificate and key in `dir`; the certificate file
    /// holds the chain up to (not including) the root.
    fn issue(&self, dir: &std::path::Path, cn: &str, serial: u8, client: bool) -> common::Creds {
        let mut params = chain_params(cn, &[0x20, serial]);
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let creds = common::Creds {
            name: cn.to_owned(),
            cert: dir.join(format!("{cn}.pem")),
            key: dir.join(format!("{cn}.key")),
        };
        std::fs::write(&creds.cert, format!("{}{}", cert.pem(), self.pem)).unwrap();
        std::fs::write(&creds.key, key.serialize_pem()).unwrap();
        creds
    }

    /// This CA's CRL revoking `serials` (fresh: nextUpdate in 2099).
    fn crl(&self, serials: &[&[u8]]) -> String {
        rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2020, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: rcgen::SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from_slice(s),
                    revocation_time: rcgen::date_time_ymd(2021, 1, 1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer)
        .unwrap()
        .pem()
        .unwrap()
    }
}

#[test]
fn revoked_intermediate_is_rejected_and_its_sibling_accepted() {
    // RFC 9190 section 5.4, RFC 5280 section 6.3: every certificate of the
    // chain but the trust anchor is checked against the CRLs. The root's
    // CRL revokes one intermediate; a leaf under it is refused, a leaf
    // under the sibling intermediate is accepted (positive control).
    // eapol_test sends the intermediate from its client_cert file.
    let dir = TempDir::new("chain");
    let root = ChainCa::new("chain root", 1, None);
    let good_ca = ChainCa::new("chain intermediate good", 2, Some(&root));
    let bad_ca = ChainCa::new("chain intermediate revoked", 3, Some(&root));
    let pki_dir = dir.path().join("chain");
    std::fs::create_dir_all(&pki_dir).unwrap();
    let ca_cert = pki_dir.join("root.pem");
    std::fs::write(&ca_cert, &root.pem).unwrap();
    let server = root.issue(&pki_dir, "authd", 1, false);
    let carol = good_ca.issue(&pki_dir, "carol", 2, true);
    let dave = bad_ca.issue(&pki_dir, "dave", 3, true);
    let crl = pki_dir.join("chain.crl");
    std::fs::write(
        &crl,
        format!(
            "{}{}{}",
            root.crl(&[&bad_ca.serial]),
            good_ca.crl(&[]),
            bad_ca.crl(&[])
        ),
    )
    .unwrap();
    let pki = TestPki {
        ca_cert: ca_cert.clone(),
        server,
        good: carol.clone(),
        good_rsa: carol.clone(),
        untrusted: dave.clone(),
        revoked: dave.clone(),
        expired: dave.clone(),
        crl,
    };
    let server = Server::start(dir.path(), &pki);
    for tls in [TlsChoice::Only12, TlsChoice::Only13] {
        let conf = write_eapol_conf(dir.path(), "carol", &carol, &ca_cert, tls);
        assert_accepted(&run_eapol_test(&conf, server.port, &[]), &server);
        let conf = write_eapol_conf(dir.path(), "dave", &dave, &ca_cert, tls);
        assert_rejected(&run_eapol_test(&conf, server.port, &[]));
    }
    // Refused for the revocation, naming the intermediate.
    server.expect_log("tls_certificate_revoked");
    server.expect_log("chain intermediate revoked");
}
