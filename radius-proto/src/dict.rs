//! Attribute type numbers, vendor numbers and a few enumerated values, named
//! after the RFCs that define them.
//!
//! Only what an 802.1X / WPA-Enterprise server and its NAS clients exchange is
//! listed; any other type still parses (the packet view works on raw `u8`
//! types) and can be added by number.

use crate::Error;

// RFC 2865 §5 (Attributes).
/// User-Name, RFC 2865 §5.1.
pub const USER_NAME: u8 = 1;
/// User-Password, RFC 2865 §5.2 (hidden, see [`crate::hiding`]).
pub const USER_PASSWORD: u8 = 2;
/// CHAP-Password, RFC 2865 §5.3.
pub const CHAP_PASSWORD: u8 = 3;
/// NAS-IP-Address, RFC 2865 §5.4.
pub const NAS_IP_ADDRESS: u8 = 4;
/// NAS-Port, RFC 2865 §5.5.
pub const NAS_PORT: u8 = 5;
/// Service-Type, RFC 2865 §5.6.
pub const SERVICE_TYPE: u8 = 6;
/// Framed-Protocol, RFC 2865 §5.7.
pub const FRAMED_PROTOCOL: u8 = 7;
/// Framed-IP-Address, RFC 2865 §5.8.
pub const FRAMED_IP_ADDRESS: u8 = 8;
/// Filter-Id, RFC 2865 §5.11.
pub const FILTER_ID: u8 = 11;
/// Framed-MTU, RFC 2865 §5.12.
pub const FRAMED_MTU: u8 = 12;
/// Reply-Message, RFC 2865 §5.18.
pub const REPLY_MESSAGE: u8 = 18;
/// State, RFC 2865 §5.24.
pub const STATE: u8 = 24;
/// Class, RFC 2865 §5.25.
pub const CLASS: u8 = 25;
/// Vendor-Specific, RFC 2865 §5.26.
pub const VENDOR_SPECIFIC: u8 = 26;
/// Session-Timeout, RFC 2865 §5.27.
pub const SESSION_TIMEOUT: u8 = 27;
/// Idle-Timeout, RFC 2865 §5.28.
pub const IDLE_TIMEOUT: u8 = 28;
/// Termination-Action, RFC 2865 §5.29.
pub const TERMINATION_ACTION: u8 = 29;
/// Called-Station-Id, RFC 2865 §5.30.
pub const CALLED_STATION_ID: u8 = 30;
/// Calling-Station-Id, RFC 2865 §5.31.
pub const CALLING_STATION_ID: u8 = 31;
/// NAS-Identifier, RFC 2865 §5.32.
pub const NAS_IDENTIFIER: u8 = 32;
/// Proxy-State, RFC 2865 §5.33 (a server copies it unchanged into its reply).
pub const PROXY_STATE: u8 = 33;
/// CHAP-Challenge, RFC 2865 §5.40.
pub const CHAP_CHALLENGE: u8 = 60;
/// NAS-Port-Type, RFC 2865 §5.41.
pub const NAS_PORT_TYPE: u8 = 61;

// RFC 2866 §5 (Accounting attributes).
/// Acct-Status-Type, RFC 2866 §5.1.
pub const ACCT_STATUS_TYPE: u8 = 40;
/// Acct-Delay-Time, RFC 2866 §5.2.
pub const ACCT_DELAY_TIME: u8 = 41;
/// Acct-Input-Octets, RFC 2866 §5.3.
pub const ACCT_INPUT_OCTETS: u8 = 42;
/// Acct-Output-Octets, RFC 2866 §5.4.
pub const ACCT_OUTPUT_OCTETS: u8 = 43;
/// Acct-Session-Id, RFC 2866 §5.5.
pub const ACCT_SESSION_ID: u8 = 44;
/// Acct-Authentic, RFC 2866 §5.6.
pub const ACCT_AUTHENTIC: u8 = 45;
/// Acct-Session-Time, RFC 2866 §5.7.
pub const ACCT_SESSION_TIME: u8 = 46;
/// Acct-Input-Packets, RFC 2866 §5.8.
pub const ACCT_INPUT_PACKETS: u8 = 47;
/// Acct-Output-Packets, RFC 2866 §5.9.
pub const ACCT_OUTPUT_PACKETS: u8 = 48;
/// Acct-Terminate-Cause, RFC 2866 §5.10.
pub const ACCT_TERMINATE_CAUSE: u8 = 49;
/// Acct-Multi-Session-Id, RFC 2866 §5.11.
pub const ACCT_MULTI_SESSION_ID: u8 = 50;
/// Acct-Link-Count, RFC 2866 §5.12.
pub const ACCT_LINK_COUNT: u8 = 51;

// RFC 2869 §5 (Extensions).
/// Acct-Input-Gigawords, RFC 2869 §5.1.
pub const ACCT_INPUT_GIGAWORDS: u8 = 52;
/// Acct-Output-Gigawords, RFC 2869 §5.2.
pub const ACCT_OUTPUT_GIGAWORDS: u8 = 53;
/// Event-Timestamp, RFC 2869 §5.3.
pub const EVENT_TIMESTAMP: u8 = 55;
/// Connect-Info, RFC 2869 §5.11.
pub const CONNECT_INFO: u8 = 77;
/// EAP-Message, RFC 3579 §3.1 (first defined in RFC 2869 §5.13).
pub const EAP_MESSAGE: u8 = 79;
/// Message-Authenticator, RFC 3579 §3.2 (first defined in RFC 2869 §5.14).
pub const MESSAGE_AUTHENTICATOR: u8 = 80;
/// Acct-Interim-Interval, RFC 2869 §5.16.
pub const ACCT_INTERIM_INTERVAL: u8 = 85;
/// NAS-Port-Id, RFC 2869 §5.17.
pub const NAS_PORT_ID: u8 = 87;

// RFC 2868 §3 (Tunnel attributes), used for dynamic VLAN assignment
// (RFC 3580 §3.31).
/// Tunnel-Type, RFC 2868 §3.1.
pub const TUNNEL_TYPE: u8 = 64;
/// Tunnel-Medium-Type, RFC 2868 §3.2.
pub const TUNNEL_MEDIUM_TYPE: u8 = 65;
/// Tunnel-Password, RFC 2868 §3.5 (hidden, see [`crate::hiding`]).
pub const TUNNEL_PASSWORD: u8 = 69;
/// Tunnel-Private-Group-ID, RFC 2868 §3.6 (the VLAN ID as text).
pub const TUNNEL_PRIVATE_GROUP_ID: u8 = 81;

/// NAS-IPv6-Address, RFC 3162 §2.1.
pub const NAS_IPV6_ADDRESS: u8 = 95;
/// EAP-Key-Name, RFC 4072 §6.2 (the same number serves as the RADIUS type).
pub const EAP_KEY_NAME: u8 = 102;

// Vendors (IANA Private Enterprise Numbers).
/// Microsoft, the vendor of the MS-MPPE attributes (RFC 2548 §2).
pub const VENDOR_MICROSOFT: u32 = 311;
/// MS-MPPE-Encryption-Policy, RFC 2548 §2.4.4.
pub const MS_MPPE_ENCRYPTION_POLICY: u8 = 7;
/// MS-MPPE-Encryption-Types, RFC 2548 §2.4.5.
pub const MS_MPPE_ENCRYPTION_TYPES: u8 = 8;
/// MS-MPPE-Send-Key, RFC 2548 §2.4.2 (key from server to NAS direction).
pub const MS_MPPE_SEND_KEY: u8 = 16;
/// MS-MPPE-Recv-Key, RFC 2548 §2.4.3.
pub const MS_MPPE_RECV_KEY: u8 = 17;

// Values.
/// Service-Type = Framed (RFC 2865 §5.6).
pub const SERVICE_TYPE_FRAMED: u32 = 2;
/// NAS-Port-Type = Wireless - IEEE 802.11 (RFC 2865 §5.41, RFC 3580 §3.20).
pub const NAS_PORT_TYPE_WIRELESS_802_11: u32 = 19;
/// NAS-Port-Type = Ethernet (RFC 2865 §5.41).
pub const NAS_PORT_TYPE_ETHERNET: u32 = 15;
/// Termination-Action = RADIUS-Request (RFC 2865 §5.29).
pub const TERMINATION_ACTION_RADIUS_REQUEST: u32 = 1;
/// Acct-Status-Type = Start (RFC 2866 §5.1).
pub const ACCT_STATUS_TYPE_START: u32 = 1;
/// Acct-Status-Type = Stop (RFC 2866 §5.1).
pub const ACCT_STATUS_TYPE_STOP: u32 = 2;
/// Acct-Status-Type = Interim-Update (RFC 2866 §5.1, RFC 2869 §2.1).
pub const ACCT_STATUS_TYPE_INTERIM_UPDATE: u32 = 3;
/// Acct-Status-Type = Accounting-On (RFC 2866 §5.1).
pub const ACCT_STATUS_TYPE_ACCOUNTING_ON: u32 = 7;
/// Acct-Status-Type = Accounting-Off (RFC 2866 §5.1).
pub const ACCT_STATUS_TYPE_ACCOUNTING_OFF: u32 = 8;
/// Tunnel-Type = VLAN (RFC 3580 §3.31).
pub const TUNNEL_TYPE_VLAN: u32 = 13;
/// Tunnel-Medium-Type = IEEE-802 (RFC 2868 §3.2, IANA "Address Family Numbers").
pub const TUNNEL_MEDIUM_IEEE_802: u32 = 6;

/// Largest valid tag of a tunnel attribute (RFC 2868 §3).
pub const MAX_TAG: u8 = 0x1F;

/// Encodes a tagged integer value (Tunnel-Type, Tunnel-Medium-Type): one Tag
/// octet then a 3-octet big-endian value (RFC 2868 §3.1, §3.2).
///
/// Tag 0 means "untagged". Both fields are fixed-width on the wire: a tag
/// above 0x1F or a value above 0xFF_FFFF cannot be expressed, so this is a
/// programming error caught by a debug assertion (the value is truncated to
/// its low 24 bits in release builds). Use [`try_tagged_integer`] for values
/// that come from configuration.
pub fn tagged_integer(tag: u8, value: u32) -> [u8; 4] {
    debug_assert!(tag <= MAX_TAG && value <= 0x00FF_FFFF);
    let [_, a, b, c] = value.to_be_bytes();
    [tag, a, b, c]
}

/// [`tagged_integer`] that checks its input: [`Error::InvalidTag`] for a tag
/// above 0x1F, [`Error::ValueTooLong`] for a value above 0xFF_FFFF.
pub fn try_tagged_integer(tag: u8, value: u32) -> Result<[u8; 4], Error> {
    if tag > MAX_TAG {
        return Err(Error::InvalidTag);
    }
    if value > 0x00FF_FFFF {
        return Err(Error::ValueTooLong);
    }
    Ok(tagged_integer(tag, value))
}

/// Decodes a tagged integer value into `(tag, value)` (RFC 2868 §3.1).
/// Returns `None` unless the value is exactly 4 octets.
pub fn parse_tagged_integer(value: &[u8]) -> Option<(u8, u32)> {
    match value {
        [tag, a, b, c] => Some((*tag, u32::from_be_bytes([0, *a, *b, *c]))),
        _ => None,
    }
}

/// Encodes a tagged string (Tunnel-Private-Group-ID and friends, RFC 2868
/// §3.6): the tag octet followed by the string.
///
/// A tag octet is always written, even for tag 0, so that a string whose first
/// octet is 0x01..=0x1F cannot be misread as a tag.
pub fn tagged_string(tag: u8, s: &[u8]) -> Result<Vec<u8>, Error> {
    if tag > MAX_TAG {
        return Err(Error::InvalidTag);
    }
    if s.len() > 252 {
        return Err(Error::ValueTooLong);
    }
    let mut v = Vec::with_capacity(1 + s.len());
    v.push(tag);
    v.extend_from_slice(s);
    Ok(v)
}

/// Splits a tagged string value into `(tag, string)`: per RFC 2868 §3.6 the
/// first octet is a tag only when it is 0x00..=0x1F; otherwise the whole value
/// is the string and the tag is 0.
pub fn parse_tagged_string(value: &[u8]) -> (u8, &[u8]) {
    match value.split_first() {
        Some((&t, rest)) if t <= MAX_TAG => (t, rest),
        _ => (0, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_tunnel_values() {
        // RFC 3580 §3.31: Tunnel-Type = VLAN (13), Tunnel-Medium-Type = 802 (6).
        assert_eq!(tagged_integer(0, TUNNEL_TYPE_VLAN), [0, 0, 0, 13]);
        assert_eq!(tagged_integer(1, TUNNEL_MEDIUM_IEEE_802), [1, 0, 0, 6]);
        assert_eq!(parse_tagged_integer(&[1, 0, 0, 6]), Some((1, 6)));
        assert_eq!(parse_tagged_integer(&[1, 0, 6]), None);
        assert_eq!(try_tagged_integer(0x20, 13), Err(Error::InvalidTag));
        assert_eq!(try_tagged_integer(0, 0x0100_0000), Err(Error::ValueTooLong));
        assert_eq!(
            parse_tagged_integer(&try_tagged_integer(0x1F, 0xFF_FFFF).unwrap()),
            Some((0x1F, 0xFF_FFFF))
        );
    }

    #[test]
    fn tagged_strings() {
        assert_eq!(tagged_string(0, b"100").unwrap(), b"\x00100");
        assert_eq!(parse_tagged_string(b"\x00100"), (0, &b"100"[..]));
        assert_eq!(parse_tagged_string(b"\x03100"), (3, &b"100"[..]));
        // '1' (0x31) is above 0x1F: no tag present.
        assert_eq!(parse_tagged_string(b"100"), (0, &b"100"[..]));
        assert_eq!(parse_tagged_string(b""), (0, &b""[..]));
        assert_eq!(tagged_string(0x20, b"x"), Err(Error::InvalidTag));
        assert_eq!(tagged_string(0, &[b'x'; 253]), Err(Error::ValueTooLong));
    }
}
