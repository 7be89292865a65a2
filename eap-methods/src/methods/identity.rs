//! The Identity method (RFC 3748 §5.1).

use crate::codec::{self, Code, EapType};
use crate::reason::Reason;

/// EAP-Request/Identity without a displayable message.
pub fn request(identifier: u8) -> Vec<u8> {
    codec::build(Code::Request, identifier, EapType::Identity, &[])
}

/// EAP-Response/Identity carrying `identity`.
pub fn response(identifier: u8, identity: &str) -> Vec<u8> {
    codec::build(
        Code::Response,
        identifier,
        EapType::Identity,
        identity.as_bytes(),
    )
}

/// The identity in the Type-Data of an EAP-Response/Identity. RFC 3748
/// §5.1 recommends UTF-8 and forbids NUL termination; a single trailing NUL
/// sent by some supplicants is tolerated and stripped.
pub fn parse_response(type_data: &[u8]) -> Result<String, Reason> {
    let data = type_data.strip_suffix(&[0]).unwrap_or(type_data);
    core::str::from_utf8(data)
        .map(str::to_owned)
        .map_err(|_| Reason::InvalidIdentity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_packets() {
        assert_eq!(request(5), [0x01, 0x05, 0x00, 0x05, 0x01]);
        assert_eq!(
            response(5, "user"),
            [0x02, 0x05, 0x00, 0x09, 0x01, b'u', b's', b'e', b'r']
        );
        assert_eq!(parse_response(b"user\0").unwrap(), "user");
        assert_eq!(parse_response(&[0xff, 0xfe]), Err(Reason::InvalidIdentity));
    }
}
