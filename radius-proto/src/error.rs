//! Errors of the RADIUS wire layer.
//!
//! Every way a datagram can be refused has its own variant, so the server can
//! drop the packet and count the reason ([`Error::reason`]) without parsing a
//! message string.

use crate::packet::Code;

/// Why a RADIUS packet could not be parsed, verified, built or un-hidden.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The buffer is shorter than the 20-octet RADIUS header (RFC 2865 §3).
    #[error("packet shorter than the 20-octet header")]
    Truncated,
    /// The Length field is below 20, above 4096, or larger than the buffer
    /// (RFC 2865 §3: such a packet MUST be silently discarded).
    #[error("Length field out of range or larger than the datagram")]
    BadLength,
    /// An attribute's Length octet is 0 or 1 (RFC 2865 §5: minimum is 2).
    #[error("attribute type {typ} at offset {offset} has a length below 2")]
    AttributeTooShort {
        /// Offset of the attribute from the start of the packet.
        offset: usize,
        /// Attribute type octet.
        typ: u8,
    },
    /// An attribute runs past the end given by the packet's Length field.
    #[error("attribute type {typ} at offset {offset} runs past the packet end")]
    AttributeOverrun {
        /// Offset of the attribute from the start of the packet.
        offset: usize,
        /// Attribute type octet.
        typ: u8,
    },
    /// A value does not fit in one attribute (at most 253 octets, RFC 2865
    /// §5), or a hidden value exceeds its algorithm's limit.
    #[error("value too long for the attribute")]
    ValueTooLong,
    /// The encoded packet would exceed 4096 octets (RFC 2865 §3).
    #[error("encoded packet longer than 4096 octets")]
    PacketTooLong,
    /// A Message-Authenticator is required but absent (RFC 3579 §3.2,
    /// RFC 5997 §3, or local policy).
    #[error("Message-Authenticator required but missing")]
    MissingMessageAuthenticator,
    /// A Message-Authenticator attribute whose length is not 18
    /// (RFC 3579 §3.2).
    #[error("Message-Authenticator attribute length is not 18")]
    BadMessageAuthenticatorLength,
    /// More than one Message-Authenticator attribute (RFC 3579 §3.2 allows
    /// at most one).
    #[error("more than one Message-Authenticator attribute")]
    DuplicateMessageAuthenticator,
    /// The Message-Authenticator HMAC-MD5 does not match (RFC 3579 §3.2).
    #[error("Message-Authenticator does not match")]
    BadMessageAuthenticator,
    /// The Response Authenticator does not match (RFC 2865 §3).
    #[error("Response Authenticator does not match")]
    BadResponseAuthenticator,
    /// The Request Authenticator of an Accounting-Request (RFC 2866 §3), or
    /// of a CoA-Request / Disconnect-Request (RFC 5176 §2.3), does not match.
    #[error("Accounting Request Authenticator does not match")]
    BadAccountingAuthenticator,
    /// A hidden value (User-Password, MS-MPPE key, Tunnel-Password) has an
    /// impossible length or decrypts to an impossible length octet.
    #[error("malformed hidden attribute value")]
    BadHiddenValue,
    /// A tag outside 0x00..=0x1F (RFC 2868 §3).
    #[error("tag outside 0x00..=0x1F")]
    InvalidTag,
    /// The operation does not apply to a packet with this code (for example
    /// `verify_request` on an Access-Accept).
    #[error("operation not valid for packet code {0:?}")]
    UnexpectedCode(Code),
}

impl Error {
    /// A short, stable, snake_case label for counters and log fields.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadLength => "bad_length",
            Error::AttributeTooShort { .. } => "attribute_too_short",
            Error::AttributeOverrun { .. } => "attribute_overrun",
            Error::ValueTooLong => "value_too_long",
            Error::PacketTooLong => "packet_too_long",
            Error::MissingMessageAuthenticator => "missing_message_authenticator",
            Error::BadMessageAuthenticatorLength => "bad_message_authenticator_length",
            Error::DuplicateMessageAuthenticator => "duplicate_message_authenticator",
            Error::BadMessageAuthenticator => "bad_message_authenticator",
            Error::BadResponseAuthenticator => "bad_response_authenticator",
            Error::BadAccountingAuthenticator => "bad_accounting_authenticator",
            Error::BadHiddenValue => "bad_hidden_value",
            Error::InvalidTag => "invalid_tag",
            Error::UnexpectedCode(_) => "unexpected_code",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct_snake_case() {
        let all = [
            Error::Truncated,
            Error::BadLength,
            Error::AttributeTooShort { offset: 0, typ: 0 },
            Error::AttributeOverrun { offset: 0, typ: 0 },
            Error::ValueTooLong,
            Error::PacketTooLong,
            Error::MissingMessageAuthenticator,
            Error::BadMessageAuthenticatorLength,
            Error::DuplicateMessageAuthenticator,
            Error::BadMessageAuthenticator,
            Error::BadResponseAuthenticator,
            Error::BadAccountingAuthenticator,
            Error::BadHiddenValue,
            Error::InvalidTag,
            Error::UnexpectedCode(Code::AccessAccept),
        ];
        let mut seen = std::collections::HashSet::new();
        for e in all {
            let r = e.reason();
            assert!(seen.insert(r), "duplicate reason {r}");
            assert!(
                r.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{r} is not snake_case"
            );
            assert!(!e.to_string().is_empty());
        }
    }
}
