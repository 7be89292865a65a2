//! RADIUS/1.1 (RFC 9765): the transport profile negotiated by ALPN on a
//! RADIUS/TLS connection, where no MD5 and no shared secret are used.
//!
//! What changes on the wire, by the RFC's sections (checked against the
//! text of draft-ietf-radext-radiusv11-11, the version approved and
//! published as RFC 9765, whose section layout the RFC keeps):
//!
//! - §3.1: the ALPN protocol ID of RADIUS/1.1 is `radius/1.1`; §3.3
//!   names `radius/1.0` for historic RADIUS/TLS (RFC 6614). Without
//!   ALPN, or with `radius/1.0`, the connection is classic RadSec; §3.4:
//!   RADIUS/1.1 requires TLS 1.3 or later.
//! - §4.1 (packet format): the Identifier octet becomes Reserved-1, zero
//!   when sent and ignored when received; octets 4..8 (the first four of
//!   the former Authenticator) are the Token, an opaque value that
//!   matches a reply to its request; the other twelve octets are
//!   Reserved-2, zero when sent and ignored when received. There is no
//!   Request or Response Authenticator to compute or check ("Any
//!   operations which depend on those fields MUST NOT be performed").
//! - §4.2.1: a sender takes Tokens from a 32-bit counter per connection,
//!   started at a random value and incremented for every new packet.
//!   §4.2.2: over TLS the server SHOULD NOT deduplicate; a Token reused
//!   for distinct outstanding packets is logged and the connection MUST
//!   be closed.
//! - §5.1: attributes that RADIUS hides with MD5 are encoded as their
//!   base data type, the obfuscation omitted: User-Password (§5.1.1) as
//!   a 'string' of 1 to 128 octets, without padding; Tunnel-Password
//!   (§5.1.3) as a tagged 'string' like Tunnel-Client-Endpoint (RFC 2868
//!   §3.3), without Salt and Data-Length; MS-MPPE-Send-Key and
//!   MS-MPPE-Recv-Key (§5.1.4) as 'string', the key itself, without Salt,
//!   Key-Length or padding. §5.1.2: a CHAP-Password needs a
//!   CHAP-Challenge (there is no Request Authenticator to stand in for it).
//! - §5.2: Message-Authenticator MUST NOT be sent; one received is an
//!   "invalid attribute" (RFC 6929 §2.8): ignored, the packet still
//!   processed. §5.3: likewise Message-Authentication-Code and
//!   MAC-Randomizer (RFC 6218); §5.5: likewise Original-Packet-Code
//!   (RFC 7930 §4), which is never sent.
//! - §5.4: CHAP-Password, MS-CHAP and friends are unchanged.
//! - §6.1: a server unable to process an Access-Request or an
//!   Accounting-Request MUST answer a Protocol-Error (code 52, RFC 7930)
//!   with an Error-Cause, 506 (Resources Unavailable) when no other fits
//!   ([`protocol_error`]).
//! - §6.2: Status-Server gets a Token like any request (no Identifier is
//!   reserved for it).
//!
//! Sans-IO like the rest of the crate: the caller knows, from ALPN,
//! whether a connection speaks RADIUS/1.1, and says so by calling these.

use crate::builder::PacketBuilder;
use crate::packet::{Code, Packet, field};
use crate::{Error, dict};

/// ALPN protocol ID of historic RADIUS/TLS (RFC 9765 §3.3).
pub const ALPN_RADIUS_1_0: &[u8] = b"radius/1.0";
/// ALPN protocol ID of RADIUS/1.1 (RFC 9765 §3.1).
pub const ALPN_RADIUS_1_1: &[u8] = b"radius/1.1";

/// Code of Protocol-Error (RFC 7930 §4; RFC 9765 §6.1, §3.3.1).
pub const PROTOCOL_ERROR: u8 = 52;
/// Error-Cause (RFC 5176 §3.6), the attribute a Protocol-Error carries.
pub const ERROR_CAUSE: u8 = 101;
/// Error-Cause 506, Resources Unavailable: what a home server sends when
/// no other value names why it cannot process a request (RFC 9765 §6.1).
pub const ERROR_CAUSE_RESOURCES_UNAVAILABLE: u32 = 506;

/// The Protocol-Error of RFC 9765 §6.1 with Error-Cause `cause`, to be
/// encoded with [`PacketBuilder::encode_radius_1_1`] and the Token of the
/// request it answers.
pub fn protocol_error(cause: u32) -> PacketBuilder {
    let mut b = PacketBuilder::new(Code::from(PROTOCOL_ERROR), 0);
    // A u32 always fits an empty packet.
    let _ = b.add_u32(ERROR_CAUSE, cause);
    b
}

/// Longest User-Password value (RFC 9765 §5.1.1, kept from RFC 2865 §5.2).
pub const MAX_USER_PASSWORD_LEN: usize = 128;

/// The Token of a RADIUS/1.1 packet: octets 4..8 (RFC 9765 §4.1).
pub fn token<T: AsRef<[u8]>>(packet: &Packet<T>) -> [u8; 4] {
    let a = packet.authenticator();
    [a[0], a[1], a[2], a[3]]
}

/// The Token of a framed packet (at least 20 octets, as
/// `stream::StreamFramer` guarantees); `None` when shorter.
pub fn token_of(bytes: &[u8]) -> Option<[u8; 4]> {
    let t = bytes.get(field::AUTHENTICATOR.start..field::AUTHENTICATOR.start + 4)?;
    t.try_into().ok()
}

impl PacketBuilder {
    /// Encodes the packet for a RADIUS/1.1 connection (RFC 9765 §4.1):
    /// Reserved-1 zero, `token` in octets 4..8, Reserved-2 zero, and no
    /// Message-Authenticator (§5.2). A request gets a fresh Token from
    /// the sender; a reply carries its request's ([`token`]). Works for
    /// every code: nothing depends on a secret. Errors:
    /// [`Error::PacketTooLong`] above 4096 octets.
    pub fn encode_radius_1_1(&self, token: [u8; 4]) -> Result<Vec<u8>, Error> {
        let mut authenticator = [0u8; 16];
        authenticator[..4].copy_from_slice(&token);
        let mut buf = self.layout(&authenticator, false)?;
        buf[1] = 0;
        Ok(buf)
    }

    /// The reply of type `code` to `request` on a RADIUS/1.1 connection,
    /// to be encoded with [`PacketBuilder::encode_radius_1_1`] and the
    /// request's [`token`]. Reserved-1 is zero (RFC 9765 §4.1).
    pub fn reply_radius_1_1(code: Code) -> Self {
        PacketBuilder::new(code, 0)
    }
}

/// The password of a RADIUS/1.1 User-Password value (RFC 9765 §5.1.1:
/// encoded as any 'string', 1 to 128 octets, no hiding, no padding).
/// Errors: [`Error::BadHiddenValue`] for an empty or longer value.
pub fn user_password(value: &[u8]) -> Result<&[u8], Error> {
    if value.is_empty() || value.len() > MAX_USER_PASSWORD_LEN {
        return Err(Error::BadHiddenValue);
    }
    Ok(value)
}

/// The value of MS-MPPE-Send-Key / MS-MPPE-Recv-Key on a RADIUS/1.1
/// connection: the key as it is (RFC 9765 §5.1.4: encoded as its base
/// data type, without the RFC 2548 §2.4.2 Salt, Key-Length and padding).
/// Errors: [`Error::ValueTooLong`] when it cannot fit in a
/// Vendor-Specific attribute.
pub fn mppe_key(key: &[u8]) -> Result<&[u8], Error> {
    // 253 octets of VSA value minus Vendor-Id, vendor type and length.
    if key.is_empty() || key.len() > 247 {
        return Err(Error::ValueTooLong);
    }
    Ok(key)
}

/// The value of a Tunnel-Password on a RADIUS/1.1 connection: the Tag
/// then the password (RFC 9765 §5.1.3: no Salt, no Data-Length, no
/// padding). Errors: [`Error::InvalidTag`] above 0x1F,
/// [`Error::ValueTooLong`] when it does not fit in an attribute.
pub fn tunnel_password(tag: u8, password: &[u8]) -> Result<Vec<u8>, Error> {
    if tag > dict::MAX_TAG {
        return Err(Error::InvalidTag);
    }
    if password.is_empty() || password.len() > 252 {
        return Err(Error::ValueTooLong);
    }
    let mut v = Vec::with_capacity(1 + password.len());
    v.push(tag);
    v.extend_from_slice(password);
    Ok(v)
}

/// The (tag, password) of a RADIUS/1.1 Tunnel-Password value
/// (RFC 9765 §5.1.3: encoded as any tagged 'string' such as
/// Tunnel-Client-Endpoint, whose RFC 2868 §3.3 reads a first octet above
/// 0x1F as the first octet of the string, not as a Tag: such a value is
/// untagged, tag 0, and all of it is the password). Errors:
/// [`Error::BadHiddenValue`] without a password.
pub fn parse_tunnel_password(value: &[u8]) -> Result<(u8, &[u8]), Error> {
    match value {
        [tag, password @ ..] if *tag <= dict::MAX_TAG && !password.is_empty() => {
            Ok((*tag, password))
        }
        [tag, ..] if *tag > dict::MAX_TAG => Ok((0, value)),
        _ => Err(Error::BadHiddenValue),
    }
}

/// Whether attribute `typ` is one RFC 9765 says to treat as an "invalid
/// attribute" (RFC 6929 §2.8: ignored, the packet still processed) on a
/// RADIUS/1.1 connection: Message-Authenticator (§5.2),
/// Message-Authentication-Code and MAC-Randomizer (§5.3, RFC 6218).
/// Original-Packet-Code (§5.5) is the extended attribute 241.4, which
/// nothing here reads or sends.
pub fn is_discarded(typ: u8) -> bool {
    matches!(
        typ,
        dict::MESSAGE_AUTHENTICATOR | MESSAGE_AUTHENTICATION_CODE | MAC_RANDOMIZER
    )
}

/// Message-Authentication-Code (RFC 6218 §3.3).
const MESSAGE_AUTHENTICATION_CODE: u8 = 147;
/// MAC-Randomizer (RFC 6218 §3.2).
const MAC_RANDOMIZER: u8 = 148;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Packet;

    #[test]
    fn header_carries_the_token_and_zeroes_and_no_message_authenticator() {
        let mut b = PacketBuilder::new(Code::AccessRequest, 0x77);
        b.add(dict::USER_NAME, b"bob").unwrap();
        let wire = b.encode_radius_1_1([1, 2, 3, 4]).unwrap();
        assert_eq!(wire[0], 1);
        assert_eq!(wire[1], 0, "Reserved-1 is zero whatever the builder held");
        assert_eq!(&wire[4..8], &[1, 2, 3, 4]);
        assert_eq!(&wire[8..20], &[0u8; 12]);
        let p = Packet::new_checked(&wire[..]).unwrap();
        assert_eq!(token(&p), [1, 2, 3, 4]);
        assert_eq!(token_of(&wire), Some([1, 2, 3, 4]));
        assert!(p.attr(dict::MESSAGE_AUTHENTICATOR).is_none());
        assert_eq!(p.attr(dict::USER_NAME), Some(&b"bob"[..]));
        // Control: the classic encoder of the same builder adds one.
        let classic = b.encode_request([9; 16], b"secret").unwrap();
        let p = Packet::new_checked(&classic[..]).unwrap();
        assert!(p.attr(dict::MESSAGE_AUTHENTICATOR).is_some());
        assert_eq!(p.identifier(), 0x77);
    }

    #[test]
    fn replies_of_every_code_encode_without_a_secret() {
        for code in [
            Code::AccessAccept,
            Code::AccessReject,
            Code::AccessChallenge,
            Code::AccountingResponse,
        ] {
            let wire = PacketBuilder::reply_radius_1_1(code)
                .encode_radius_1_1([0xde, 0xad, 0xbe, 0xef])
                .unwrap();
            assert_eq!(wire.len(), 20, "{code:?}");
            assert_eq!(&wire[1..8], &[0, 0, 20, 0xde, 0xad, 0xbe, 0xef]);
        }
        let mut b = PacketBuilder::reply_radius_1_1(Code::AccessChallenge);
        b.add_eap_message(&[0; 4080]);
        assert_eq!(b.encode_radius_1_1([0; 4]), Err(Error::PacketTooLong));
    }

    #[test]
    fn user_password_is_the_string_itself_within_1_to_128_octets() {
        assert_eq!(user_password(b"hunter2"), Ok(&b"hunter2"[..]));
        // No padding is stripped: the value is a 'string' (RFC 8044 §3.5).
        assert_eq!(user_password(b"pw\0\0"), Ok(&b"pw\0\0"[..]));
        assert_eq!(user_password(&[b'x'; 128]).map(<[u8]>::len), Ok(128));
        assert_eq!(user_password(b""), Err(Error::BadHiddenValue));
        assert_eq!(user_password(&[b'x'; 129]), Err(Error::BadHiddenValue));
    }

    #[test]
    fn mppe_key_and_tunnel_password_have_no_salt() {
        let key = [0x5a; 32];
        assert_eq!(mppe_key(&key), Ok(&key[..]));
        assert!(mppe_key(&[]).is_err());
        // Control: the RFC 2548 encoding of the same key is longer (salt,
        // key-length octet, padding) and differs.
        let hidden = crate::encrypt_mppe_key(&key, b"radsec", &[0; 16], [0x80, 1]);
        assert_eq!(hidden.len(), 2 + 48);
        let tp = tunnel_password(3, b"tunnel-pw").unwrap();
        assert_eq!(tp, b"\x03tunnel-pw");
        assert_eq!(parse_tunnel_password(&tp), Ok((3, &b"tunnel-pw"[..])));
        assert_eq!(tunnel_password(0x20, b"x"), Err(Error::InvalidTag));
        assert_eq!(parse_tunnel_password(b"\x01"), Err(Error::BadHiddenValue));
        assert_eq!(parse_tunnel_password(b""), Err(Error::BadHiddenValue));
        // RFC 2868 §3.3: a first octet above 0x1F is no Tag but the
        // string's first octet (RFC 9765 §5.1.3 encodes it that way).
        assert_eq!(parse_tunnel_password(b"\x21pw"), Ok((0, &b"\x21pw"[..])));
        assert_eq!(parse_tunnel_password(b"pw"), Ok((0, &b"pw"[..])));
    }

    #[test]
    fn protocol_error_carries_error_cause_and_the_token() {
        let wire = protocol_error(ERROR_CAUSE_RESOURCES_UNAVAILABLE)
            .encode_radius_1_1([0xa, 0xb, 0xc, 0xd])
            .unwrap();
        assert_eq!(wire[0], 52);
        assert_eq!(&wire[1..8], &[0, 0, 26, 0xa, 0xb, 0xc, 0xd]);
        assert_eq!(&wire[8..20], &[0u8; 12]);
        let p = Packet::new_checked(&wire[..]).unwrap();
        assert_eq!(p.attr(ERROR_CAUSE), Some(&506u32.to_be_bytes()[..]));
        assert!(p.attr(dict::MESSAGE_AUTHENTICATOR).is_none());
    }

    #[test]
    fn token_of_short_input_is_none() {
        assert_eq!(token_of(&[1, 0, 0, 20, 1, 2, 3]), None);
        assert!(is_discarded(dict::MESSAGE_AUTHENTICATOR));
        assert!(is_discarded(147) && is_discarded(148));
        assert!(!is_discarded(dict::USER_NAME));
    }
}
