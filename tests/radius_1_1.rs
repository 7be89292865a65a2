//! RADIUS/1.1 (RFC 9765) on the RadSec listener: ALPN "radius/1.1" over
//! TLS 1.3, the Token instead of Identifier and Authenticator, no MD5.
//!
//! No packaged peer speaks RADIUS/1.1 (radsecproxy 1.9 has no ALPN, and
//! FreeRADIUS 3.2 only in special builds), so the peers are a raw rustls
//! client that lays the packets out by hand from RFC 9765 §4 and §5, and
//! fourway-sim's AP with `--radius-1-1`, whose four-way handshake proves
//! the MS-MPPE keys arrived intact without the RFC 2548 salt. Every
//! refusal has its positive control on the same server.

mod common;

use std::io::Write;

use authd::config::Radius11Mode;
use radius_proto::v11::{ALPN_RADIUS_1_0, ALPN_RADIUS_1_1};
use radius_proto::{Code, Packet, PacketBuilder, dict};
use rustls::SupportedProtocolVersion;

use common::radsec::{
    RadsecServer, Tls, assert_closed, classic_exchange, read_packet, station_line, v11_request,
};

const PASSWORD: &str = "correct horse battery";

/// authd with a RadSec listener in `mode`, a RadSec client `nas.test`,
/// and, when `store`, a SQLite store holding user `pat` with [`PASSWORD`]
/// (without one, EAP-TLS accepts any certificate from the test CA).
fn setup(name: &str, mode: Radius11Mode, store: bool) -> RadsecServer {
    let builder = RadsecServer::builder(name).radius_1_1(mode);
    if store {
        builder.user("pat", Some(PASSWORD)).start()
    } else {
        builder.start()
    }
}

const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// A TLS connection with the NAS certificate, offering `alpn` over
/// `versions`; the handshake's error as text when it fails.
fn connect(
    f: &RadsecServer,
    alpn: &[&[u8]],
    versions: &[&'static SupportedProtocolVersion],
) -> Result<Tls, String> {
    f.connect(Some(versions), alpn)
}

/// Checks the RFC 9765 §4 header of a reply to `token` and returns it.
fn v11_reply(reply: &[u8], token: [u8; 4]) -> Packet<&[u8]> {
    let p = Packet::new_checked(reply).expect("a well-formed reply");
    assert_eq!(reply[1], 0, "Reserved-1 is zero");
    assert_eq!(&reply[4..8], &token, "the Token is echoed");
    assert_eq!(&reply[8..20], &[0u8; 12], "Reserved-2 is zero");
    assert!(
        p.attr(dict::MESSAGE_AUTHENTICATOR).is_none(),
        "no Message-Authenticator on RADIUS/1.1 (RFC 9765 §5.2)"
    );
    p
}

fn assert_status_v11(tls: &mut Tls, token: [u8; 4]) {
    tls.write_all(&v11_request(Code::StatusServer, token, &[]))
        .unwrap();
    let reply = read_packet(tls).expect("an answer to Status-Server");
    assert_eq!(v11_reply(&reply, token).code(), Code::AccessAccept);
}

/// A classic Status-Server (Message-Authenticator with "radsec") answered
/// and signed.
fn assert_status_classic(tls: &mut Tls, id: u8) {
    let auth = [id ^ 0x5a; 16];
    let req = PacketBuilder::new(Code::StatusServer, id)
        .encode_request(auth, b"radsec")
        .unwrap();
    let reply = classic_exchange(tls, &req);
    assert_eq!(reply[0], u8::from(Code::AccessAccept));
}

#[test]
fn raw_client_token_echo_pap_in_clear_and_no_message_authenticator() {
    let f = setup("v11-raw", Radius11Mode::Allow, true);
    let mut tls = connect(&f, &[ALPN_RADIUS_1_1, ALPN_RADIUS_1_0], TLS13).unwrap();
    assert_eq!(tls.conn.alpn_protocol(), Some(ALPN_RADIUS_1_1));
    assert_status_v11(&mut tls, [0, 0, 0, 0]);

    // PAP: User-Password in clear (RFC 9765 §5.1.1). Two requests in one
    // write, both with Reserved-1 zero: only the Token tells them apart.
    let good = v11_request(
        Code::AccessRequest,
        [0xa1, 0xb2, 0xc3, 0xd4],
        &[
            (dict::USER_NAME, b"pat"),
            (dict::USER_PASSWORD, PASSWORD.as_bytes()),
            // Meaningless on RADIUS/1.1: ignored, not checked (§5.2).
            (dict::MESSAGE_AUTHENTICATOR, &[0xee; 16]),
        ],
    );
    let bad = v11_request(
        Code::AccessRequest,
        [0xa1, 0xb2, 0xc3, 0xd5],
        &[
            (dict::USER_NAME, b"pat"),
            (dict::USER_PASSWORD, b"not the password"),
        ],
    );
    let mut both = good.clone();
    both.extend_from_slice(&bad);
    tls.write_all(&both).unwrap();
    let mut codes = std::collections::HashMap::new();
    for _ in 0..2 {
        let reply = read_packet(&mut tls).unwrap_or_else(|| panic!("{}", f.server.log()));
        let token: [u8; 4] = reply[4..8].try_into().unwrap();
        let code = v11_reply(&reply, token).code();
        codes.insert(token, code);
    }
    assert_eq!(
        codes.get(&[0xa1, 0xb2, 0xc3, 0xd4]),
        Some(&Code::AccessAccept),
        "{}",
        f.server.log()
    );
    assert_eq!(
        codes.get(&[0xa1, 0xb2, 0xc3, 0xd5]),
        Some(&Code::AccessReject)
    );

    // The password hidden as classic RADIUS would (MD5 with "radsec") is
    // not the password on RADIUS/1.1: rejected.
    let hidden =
        radius_proto::encrypt_user_password(PASSWORD.as_bytes(), b"radsec", &[0; 16]).unwrap();
    let req = v11_request(
        Code::AccessRequest,
        [0, 0, 0, 9],
        &[(dict::USER_NAME, b"pat"), (dict::USER_PASSWORD, &hidden)],
    );
    tls.write_all(&req).unwrap();
    let reply = read_packet(&mut tls).unwrap();
    assert_eq!(v11_reply(&reply, [0, 0, 0, 9]).code(), Code::AccessReject);

    // A Token used again once its reply arrived is a new request (RFC
    // 9765 §4), not a duplicate: [0, 0, 0, 0] answered Status-Server with
    // an Access-Accept above; now a wrong password under it is rejected.
    let again = v11_request(
        Code::AccessRequest,
        [0, 0, 0, 0],
        &[(dict::USER_NAME, b"pat"), (dict::USER_PASSWORD, b"wrong")],
    );
    tls.write_all(&again).unwrap();
    let reply = read_packet(&mut tls).unwrap();
    assert_eq!(v11_reply(&reply, [0, 0, 0, 0]).code(), Code::AccessReject);
    // The connection stays open after a reject: the next Token answered.
    assert_status_v11(&mut tls, [0xff, 0xff, 0xff, 0xff]);
    assert!(
        f.server.log().contains("radius_1_1=true"),
        "{}",
        f.server.log()
    );
}

#[test]
fn require_refuses_classic_and_accepts_radius_1_1() {
    let f = setup("v11-require", Radius11Mode::Require, false);
    // A classic client without ALPN: the handshake finishes, then the
    // server closes the connection (RFC 9765 §3).
    let mut classic = connect(&f, &[], TLS13).unwrap();
    let _ = classic.write_all(
        &PacketBuilder::new(Code::StatusServer, 1)
            .encode_request([1; 16], b"radsec")
            .unwrap(),
    );
    assert_closed(&mut classic);
    f.server.expect_log("no ALPN radius/1.1");
    // Offering only radius/1.0: no common protocol, alert from rustls.
    let Err(e) = connect(&f, &[ALPN_RADIUS_1_0], TLS13) else {
        panic!("the handshake succeeded");
    };
    assert!(e.contains("NoApplicationProtocol"), "{e}");
    // Positive control: a RADIUS/1.1 client on the same server.
    let mut v11 = connect(&f, &[ALPN_RADIUS_1_1], TLS13).unwrap();
    assert_status_v11(&mut v11, [7, 7, 7, 7]);
}

#[test]
fn forbid_refuses_radius_1_1_only_and_accepts_classic() {
    let f = setup("v11-forbid", Radius11Mode::Forbid, false);
    // Only radius/1.1 offered: the TLS alert no_application_protocol
    // (RFC 7301 §3.2; RFC 9765 §3 when no protocol is compatible).
    let Err(e) = connect(&f, &[ALPN_RADIUS_1_1], TLS13) else {
        panic!("the handshake succeeded");
    };
    assert!(e.contains("NoApplicationProtocol"), "{e}");
    // Controls: both offered -> radius/1.0; no ALPN -> classic RadSec.
    let mut both = connect(&f, &[ALPN_RADIUS_1_1, ALPN_RADIUS_1_0], TLS13).unwrap();
    assert_eq!(both.conn.alpn_protocol(), Some(ALPN_RADIUS_1_0));
    assert_status_classic(&mut both, 3);
    let mut none = connect(&f, &[], TLS13).unwrap();
    assert_eq!(none.conn.alpn_protocol(), None);
    assert_status_classic(&mut none, 4);
}

#[test]
fn radius_1_1_over_tls_1_2_is_refused() {
    let f = setup("v11-tls12", Radius11Mode::Allow, false);
    let mut tls = connect(&f, &[ALPN_RADIUS_1_1], TLS12).unwrap();
    assert_eq!(tls.conn.alpn_protocol(), Some(ALPN_RADIUS_1_1));
    let _ = tls.write_all(&v11_request(Code::StatusServer, [1, 2, 3, 4], &[]));
    assert_closed(&mut tls);
    f.server.expect_log("RADIUS/1.1 requires TLS 1.3");
    // Controls: TLS 1.2 classic (no ALPN) and TLS 1.3 RADIUS/1.1 work.
    let mut classic = connect(&f, &[], TLS12).unwrap();
    assert_status_classic(&mut classic, 5);
    let mut v11 = connect(&f, &[ALPN_RADIUS_1_1], TLS13).unwrap();
    assert_status_v11(&mut v11, [1, 2, 3, 4]);
}

#[test]
fn eap_tls_with_fourway_sim_over_radius_1_1() {
    let f = setup("v11-sim", Radius11Mode::Allow, false);
    let (ok, out) = f.run_fourway_sim(&f.nas, &["--radius-1-1"]);
    let ctx = format!("{out}\n----- authd -----\n{}", f.server.log());
    assert!(ok, "{ctx}");
    let line = station_line(&out, &ctx);
    eprintln!("RADIUS/1.1: {line}");
    assert!(f.server.log().contains("radius_1_1=true"), "{ctx}");
    // The line may reach the log after the answer reached the AP.
    f.server.expect_log("Access-Accept client=nas");

    // Negative control: the simulator requiring RADIUS/1.1 against a
    // server that forbids it gets no_application_protocol and no keys.
    let g = setup("v11-sim-forbid", Radius11Mode::Forbid, false);
    let (ok, out) = g.run_fourway_sim(&g.nas, &["--radius-1-1"]);
    assert!(!ok, "{out}");
    assert!(!out.contains("pmk=match"), "{out}");
    // And classic RadSec from the same simulator on that server works.
    let (ok, out) = g.run_fourway_sim(&g.nas, &[]);
    assert!(ok, "{out}\n{}", g.server.log());
    assert!(out.contains("pmk=match"), "{out}");
    if let Some(line) = out.lines().find(|l| l.starts_with("station 1 ")) {
        eprintln!("classic RadSec: {line}");
    }
}
