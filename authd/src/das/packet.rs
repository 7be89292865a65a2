//! The Disconnect-Request authd sends and the answers it accepts
//! (RFC 5176), as bytes: no sockets, no clock.
//!
//! What a request carries is what hostapd's DAS (`radius_das.c`,
//! `hostapd_das_find_sta`) needs to find the station and does not refuse:
//! it answers Error-Cause 401 (Unsupported Attribute) to any attribute
//! outside User-Name, NAS-IP-Address, Calling-Station-Id, NAS-Identifier,
//! Acct-Session-Id, Acct-Multi-Session-Id, Event-Timestamp,
//! Message-Authenticator, Chargeable-User-Identity and NAS-IPv6-Address; a
//! NAS-IP-Address other than its own is 403 (NAS Identification Mismatch),
//! so it is sent only as the NAS itself reported it in accounting; a
//! Calling-Station-Id that is not a MAC address is 407. Event-Timestamp
//! (RFC 5176 section 3) is always present: hostapd with
//! `radius_das_require_event_timestamp=1` drops a request without one, and
//! any hostapd drops one outside its time window (300 s by default).
//! Message-Authenticator is always present (RFC 5176 section 3.3 allows it;
//! `radius_das_require_message_authenticator=1` needs it).

use std::net::Ipv4Addr;

use radius_proto::{Code, Packet, PacketBuilder, dict};

/// Error-Cause (RFC 5176 section 3.6).
pub const ERROR_CAUSE: u8 = 101;

/// The session a Disconnect-Request names (RFC 5176 section 3: session
/// identification attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId {
    /// User-Name as the NAS reported it in accounting.
    pub user_name: String,
    /// Acct-Session-Id (RFC 2866 section 5.5).
    pub acct_session_id: String,
    /// Calling-Station-Id, if the accounting carried one.
    pub calling_station_id: Option<String>,
    /// NAS-IP-Address, if the accounting carried one (IPv4 only).
    pub nas_ip_address: Option<Ipv4Addr>,
}

/// Why a request cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("{0} is empty or longer than 253 octets")]
    BadAttribute(&'static str),
    #[error("{0}")]
    Encode(String),
}

/// The Disconnect-Request for `session` with this Identifier and
/// Event-Timestamp, Request Authenticator per RFC 5176 section 2.3.
pub fn disconnect_request(
    session: &SessionId,
    identifier: u8,
    event_timestamp: u32,
    secret: &[u8],
) -> Result<Vec<u8>, BuildError> {
    fn text(b: &mut PacketBuilder, typ: u8, name: &'static str, v: &str) -> Result<(), BuildError> {
        if v.is_empty() || v.len() > 253 {
            return Err(BuildError::BadAttribute(name));
        }
        b.add(typ, v.as_bytes())
            .map(|_| ())
            .map_err(|e| BuildError::Encode(e.to_string()))
    }
    let mut b = PacketBuilder::new(Code::DisconnectRequest, identifier);
    text(&mut b, dict::USER_NAME, "User-Name", &session.user_name)?;
    text(
        &mut b,
        dict::ACCT_SESSION_ID,
        "Acct-Session-Id",
        &session.acct_session_id,
    )?;
    if let Some(c) = &session.calling_station_id {
        text(&mut b, dict::CALLING_STATION_ID, "Calling-Station-Id", c)?;
    }
    if let Some(ip) = session.nas_ip_address {
        b.add(dict::NAS_IP_ADDRESS, &ip.octets())
            .map_err(|e| BuildError::Encode(e.to_string()))?;
    }
    b.add_u32(dict::EVENT_TIMESTAMP, event_timestamp)
        .map_err(|e| BuildError::Encode(e.to_string()))?;
    b.encode_request([0; 16], secret)
        .map_err(|e| BuildError::Encode(e.to_string()))
}

/// What a verified answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Disconnect-ACK: the NAS ended the session.
    Ack,
    /// Disconnect-NAK, with its Error-Cause if any.
    Nak { error_cause: Option<u32> },
}

/// Why an answer was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not a well-formed RADIUS packet.
    Malformed,
    /// From an address no request was sent to.
    WrongSource,
    /// No outstanding request with that Identifier.
    UnknownIdentifier,
    /// Neither Disconnect-ACK nor Disconnect-NAK.
    UnexpectedCode,
    /// Response Authenticator or Message-Authenticator wrong, or an
    /// EAP-Message without a Message-Authenticator (RFC 3579 section 3.2).
    BadAuthenticator,
}

impl Ignored {
    /// The counter label ([`crate::metrics::Metrics::drop_reason`]).
    pub fn label(self) -> &'static str {
        match self {
            Ignored::Malformed => "das_malformed",
            Ignored::WrongSource => "das_wrong_source",
            Ignored::UnknownIdentifier => "das_unknown_identifier",
            Ignored::UnexpectedCode => "das_unexpected_code",
            Ignored::BadAuthenticator => "das_bad_authenticator",
        }
    }
}

/// Checks `bytes` as the answer to `request` (the bytes sent): the
/// Identifier, the code, the Response Authenticator over the request's
/// authenticator (RFC 5176 section 2.3) and the Message-Authenticator if
/// present (hostapd adds one, keyed on the request's authenticator).
pub fn check_answer(bytes: &[u8], request: &[u8], secret: &[u8]) -> Result<Answer, Ignored> {
    let p = Packet::new_checked(bytes).map_err(|_| Ignored::Malformed)?;
    let req = Packet::new_checked(request).map_err(|_| Ignored::Malformed)?;
    if p.identifier() != req.identifier() {
        return Err(Ignored::UnknownIdentifier);
    }
    if !matches!(p.code(), Code::DisconnectAck | Code::DisconnectNak) {
        return Err(Ignored::UnexpectedCode);
    }
    radius_proto::verify_response(&p, req.authenticator(), secret)
        .map_err(|_| Ignored::BadAuthenticator)?;
    let error_cause = p
        .attr(ERROR_CAUSE)
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
        .map(u32::from_be_bytes);
    Ok(match p.code() {
        Code::DisconnectAck => Answer::Ack,
        _ => Answer::Nak { error_cause },
    })
}

/// The name RFC 5176 section 3.6 gives an Error-Cause value.
pub fn error_cause_name(value: u32) -> &'static str {
    match value {
        201 => "Residual Session Context Removed",
        202 => "Invalid EAP Packet (Ignored)",
        401 => "Unsupported Attribute",
        402 => "Missing Attribute",
        403 => "NAS Identification Mismatch",
        404 => "Invalid Request",
        405 => "Unsupported Service",
        406 => "Unsupported Extension",
        407 => "Invalid Attribute Value",
        501 => "Administratively Prohibited",
        502 => "Request Not Routable (Proxy)",
        503 => "Session Context Not Found",
        504 => "Session Context Not Removable",
        505 => "Other Proxy Processing Error",
        506 => "Resources Unavailable",
        507 => "Request Initiated",
        508 => "Multiple Session Selection Unsupported",
        _ => "unknown",
    }
}
