//! A minimal RADIUS client side for the raw UDP tests, on radius-proto.

use radius_proto::{Code, Packet, PacketBuilder, verify_response_with};

/// User-Name (RFC 2865 section 5.1).
const USER_NAME: u8 = 1;
/// NAS-IP-Address (RFC 2865 section 5.4).
const NAS_IP_ADDRESS: u8 = 4;
/// Calling-Station-Id (RFC 2865 section 5.31).
const CALLING_STATION_ID: u8 = 31;

/// An Access-Request with Message-Authenticator (RFC 3579 section 3.2)
/// keyed with `secret`, carrying `eap` in EAP-Message.
pub fn access_request(identifier: u8, name: &str, secret: &[u8], eap: &[u8]) -> Vec<u8> {
    let mut authenticator = [0u8; 16];
    rand::fill(&mut authenticator[..]);
    let mut b = PacketBuilder::new(Code::AccessRequest, identifier);
    b.add(USER_NAME, name.as_bytes()).unwrap();
    b.add(NAS_IP_ADDRESS, &[127, 0, 0, 1]).unwrap();
    b.add(CALLING_STATION_ID, b"02-00-00-00-00-02").unwrap();
    b.add_eap_message(eap);
    b.encode_request(authenticator, secret).unwrap()
}

/// Checks the Response Authenticator and the (required) Message-Authenticator
/// of `reply` to `request`; panics with the reason if either is wrong.
pub fn verify_response(reply: &[u8], request: &[u8], secret: &[u8]) {
    let request = Packet::new_checked(request).expect("request parses");
    let reply = Packet::new_checked(reply).expect("reply parses");
    verify_response_with(&reply, request.authenticator(), secret, true)
        .unwrap_or_else(|e| panic!("reply does not verify: {e}"));
}

/// The EAP packet carried in `reply`'s EAP-Message attributes.
pub fn eap_message(reply: &[u8]) -> Vec<u8> {
    Packet::new_checked(reply)
        .expect("reply parses")
        .eap_message()
        .expect("reply carries EAP-Message")
}

/// User-Password (RFC 2865 section 5.2).
const USER_PASSWORD: u8 = 2;

/// A PAP Access-Request (RFC 2865 section 5.2) with Message-Authenticator.
pub fn pap_request(identifier: u8, name: &str, password: &str, secret: &[u8]) -> Vec<u8> {
    let mut authenticator = [0u8; 16];
    rand::fill(&mut authenticator[..]);
    let mut b = PacketBuilder::new(Code::AccessRequest, identifier);
    b.add(USER_NAME, name.as_bytes()).unwrap();
    let hidden =
        radius_proto::encrypt_user_password(password.as_bytes(), secret, &authenticator).unwrap();
    b.add(USER_PASSWORD, &hidden).unwrap();
    b.add(NAS_IP_ADDRESS, &[127, 0, 0, 1]).unwrap();
    b.add(CALLING_STATION_ID, b"02-00-00-00-00-03").unwrap();
    b.encode_request(authenticator, secret).unwrap()
}

/// Sends `request` to 127.0.0.1:`port` and returns the verified reply's
/// code and packet, or `None` without an answer within two seconds.
pub fn exchange(port: u16, request: &[u8], secret: &[u8]) -> Option<(Code, Vec<u8>)> {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .unwrap();
    sock.send_to(request, ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).ok()?;
    let reply = buf[..n].to_vec();
    verify_response(&reply, request, secret);
    let code = Packet::new_checked(&reply[..]).unwrap().code();
    Some((code, reply))
}
