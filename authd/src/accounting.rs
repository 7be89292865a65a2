//! The accounting core, sans-IO: a checked Accounting-Request (RFC 2866)
//! of a known NAS client, its source address and the time of arrival
//! become a typed [`AcctRecord`] for the store, or a [`Refusal`] that the
//! caller counts and logs. No socket, no clock, no store here.
//!
//! What the record holds is what the `acct_sessions` table holds (schema
//! version 5): the session key, the NAS, the station, the counters with
//! their Gigawords (RFC 2869 section 5.1), the Class as echoed (and what it
//! names when it is authd's, [`crate::class`]) and the time of the event:
//! Event-Timestamp when present (RFC 2869 section 5.3), else the arrival
//! time minus Acct-Delay-Time (RFC 2866 section 5.2).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use radius_proto::{Packet, dict};

use crate::class::{self, ClassInfo};

/// Acct-Status-Type (RFC 2866 section 5.1) values authd records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusType {
    Start,
    Stop,
    InterimUpdate,
    AccountingOn,
    AccountingOff,
}

impl StatusType {
    pub fn label(self) -> &'static str {
        match self {
            StatusType::Start => "start",
            StatusType::Stop => "stop",
            StatusType::InterimUpdate => "interim-update",
            StatusType::AccountingOn => "accounting-on",
            StatusType::AccountingOff => "accounting-off",
        }
    }

    /// A status about one session (not the whole NAS).
    pub fn is_session(self) -> bool {
        matches!(
            self,
            StatusType::Start | StatusType::Stop | StatusType::InterimUpdate
        )
    }
}

/// Acct-Terminate-Cause (RFC 2866 section 5.10) authd writes itself.
pub mod terminate_cause {
    /// Lost Service: a session the NAS stopped updating, closed by the
    /// stale-session sweeper.
    pub const LOST_SERVICE: i64 = 3;
    /// Admin Reboot: Accounting-Off, "for example prior to rebooting the
    /// NAS".
    pub const ADMIN_REBOOT: i64 = 7;
    /// NAS Reboot: Accounting-On, the NAS restarted and its sessions are
    /// gone.
    pub const NAS_REBOOT: i64 = 11;
}

/// One Accounting-Request, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcctRecord {
    pub status: StatusType,
    /// Lowercase hex SHA-256, see [`session_key`].
    pub session_key: String,
    pub acct_session_id: String,
    pub acct_multi_session_id: Option<String>,
    pub user_name: String,
    /// The NAS client's name in authd.
    pub nas_name: String,
    /// The request's source address.
    pub nas_address: String,
    pub nas_ip_address: Option<String>,
    pub nas_identifier: Option<String>,
    pub nas_port: Option<i64>,
    pub nas_port_id: Option<String>,
    pub called_station_id: Option<String>,
    pub calling_station_id: Option<String>,
    pub framed_ip_address: Option<String>,
    /// The Class as text, or `hex:` and its hex.
    pub class: Option<String>,
    /// What the Class names, when it is one authd issued.
    pub auth: Option<ClassInfo>,
    /// When the event happened, Unix seconds.
    pub event_time: i64,
    pub session_time: i64,
    pub input_octets: i64,
    pub output_octets: i64,
    pub input_packets: i64,
    pub output_packets: i64,
    pub terminate_cause: Option<i64>,
    pub interim_interval: Option<i64>,
}

impl AcctRecord {
    /// When the session started: the Start's event time, else the event
    /// time minus Acct-Session-Time.
    pub fn start_time(&self) -> i64 {
        match self.status {
            StatusType::Start => self.event_time,
            _ => self.event_time.saturating_sub(self.session_time),
        }
    }
}

/// Why an Accounting-Request is not recorded (it gets no answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    MissingStatusType,
    /// A status authd does not record (e.g. Failed, 15, RFC 2866 lists
    /// only 1 to 8; the tunnel ones of RFC 2867).
    UnsupportedStatusType(u32),
    /// Start, Stop and Interim-Update need Acct-Session-Id (RFC 2866
    /// section 5.5: "MUST be present in all Accounting-Request packets").
    MissingSessionId,
    /// An integer attribute not 4 octets long, or an address not 4 / 16.
    BadLength(&'static str),
}

impl Refusal {
    /// The counter label.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::MissingStatusType => "acct_missing_status_type",
            Refusal::UnsupportedStatusType(_) => "acct_unsupported_status_type",
            Refusal::MissingSessionId => "acct_missing_session_id",
            Refusal::BadLength(_) => "acct_bad_attribute_length",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::MissingStatusType => f.write_str("Accounting-Request without Acct-Status-Type"),
            Refusal::UnsupportedStatusType(v) => {
                write!(f, "Acct-Status-Type {v} is not recorded")
            }
            Refusal::MissingSessionId => {
                f.write_str("Accounting-Request for a session without Acct-Session-Id")
            }
            Refusal::BadLength(what) => write!(f, "{what} has a wrong length"),
        }
    }
}

/// The unique session key: lowercase hex of SHA-256 over the NAS client
/// name, Acct-Session-Id, Calling-Station-Id and the port (NAS-Port-Id,
/// else NAS-Port in decimal), each prefixed with its length (4 octets,
/// big-endian), so no two different tuples hash the same input.
pub fn session_key(nas_name: &str, session_id: &[u8], calling: &[u8], port: &[u8]) -> String {
    let mut h = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in [nas_name.as_bytes(), session_id, calling, port] {
        h.update(&(part.len() as u32).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finish().as_ref())
}

/// Text for a TEXT column: the value when it is UTF-8 without control
/// characters, else `hex:` and its hex.
pub fn text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        _ => format!("hex:{}", hex::encode(value)),
    }
}

fn integer(packet: &Packet<&[u8]>, typ: u8, name: &'static str) -> Result<Option<u32>, Refusal> {
    match packet.attr(typ) {
        None => Ok(None),
        Some(v) => <[u8; 4]>::try_from(v)
            .map(|b| Some(u32::from_be_bytes(b)))
            .map_err(|_| Refusal::BadLength(name)),
    }
}

fn address(packet: &Packet<&[u8]>, typ: u8, name: &'static str) -> Result<Option<String>, Refusal> {
    match packet.attr(typ) {
        None => Ok(None),
        Some(v) => match v.len() {
            4 => Ok(Some(
                Ipv4Addr::from(<[u8; 4]>::try_from(v).unwrap_or_default()).to_string(),
            )),
            16 => Ok(Some(
                Ipv6Addr::from(<[u8; 16]>::try_from(v).unwrap_or_default()).to_string(),
            )),
            _ => Err(Refusal::BadLength(name)),
        },
    }
}

/// A 64-bit counter from its low 32 bits and its Gigawords, clamped to the
/// largest BIGINT.
fn counter(low: Option<u32>, giga: Option<u32>) -> i64 {
    let v = (u64::from(giga.unwrap_or(0)) << 32) | u64::from(low.unwrap_or(0));
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Builds the record of `packet`, an Accounting-Request admission checked
/// (authenticator verified), from NAS client `nas_name` at `source`,
/// arrived at `now_unix` (Unix seconds).
pub fn parse(
    packet: &Packet<&[u8]>,
    nas_name: &str,
    source: IpAddr,
    now_unix: i64,
) -> Result<AcctRecord, Refusal> {
    let status = match integer(packet, dict::ACCT_STATUS_TYPE, "Acct-Status-Type")? {
        None => return Err(Refusal::MissingStatusType),
        Some(dict::ACCT_STATUS_TYPE_START) => StatusType::Start,
        Some(dict::ACCT_STATUS_TYPE_STOP) => StatusType::Stop,
        Some(dict::ACCT_STATUS_TYPE_INTERIM_UPDATE) => StatusType::InterimUpdate,
        Some(dict::ACCT_STATUS_TYPE_ACCOUNTING_ON) => StatusType::AccountingOn,
        Some(dict::ACCT_STATUS_TYPE_ACCOUNTING_OFF) => StatusType::AccountingOff,
        Some(other) => return Err(Refusal::UnsupportedStatusType(other)),
    };
    let session_id = packet.attr(dict::ACCT_SESSION_ID).unwrap_or_default();
    if status.is_session() && session_id.is_empty() {
        return Err(Refusal::MissingSessionId);
    }
    let delay = integer(packet, dict::ACCT_DELAY_TIME, "Acct-Delay-Time")?;
    let event_time = match integer(packet, dict::EVENT_TIMESTAMP, "Event-Timestamp")? {
        Some(t) => i64::from(t),
        None => now_unix.saturating_sub(i64::from(delay.unwrap_or(0))),
    };
    let nas_port = integer(packet, dict::NAS_PORT, "NAS-Port")?;
    let nas_port_id = packet.attr(dict::NAS_PORT_ID);
    let port_part = match (nas_port_id, nas_port) {
        (Some(id), _) => id.to_vec(),
        (None, Some(p)) => p.to_string().into_bytes(),
        (None, None) => Vec::new(),
    };
    let calling = packet.attr(dict::CALLING_STATION_ID);
    let class_value = packet.attr(dict::CLASS);
    let opt_text = |typ| packet.attr(typ).map(text);
    let nas_ip = match address(packet, dict::NAS_IP_ADDRESS, "NAS-IP-Address")? {
        Some(a) => Some(a),
        None => address(packet, dict::NAS_IPV6_ADDRESS, "NAS-IPv6-Address")?,
    };
    let i64_of = |v: Option<u32>| v.map(i64::from);
    Ok(AcctRecord {
        status,
        session_key: session_key(nas_name, session_id, calling.unwrap_or_default(), &port_part),
        acct_session_id: text(session_id),
        acct_multi_session_id: opt_text(dict::ACCT_MULTI_SESSION_ID),
        user_name: packet.attr(dict::USER_NAME).map(text).unwrap_or_default(),
        nas_name: nas_name.to_owned(),
        nas_address: source.to_string(),
        nas_ip_address: nas_ip,
        nas_identifier: opt_text(dict::NAS_IDENTIFIER),
        nas_port: i64_of(nas_port),
        nas_port_id: nas_port_id.map(text),
        called_station_id: opt_text(dict::CALLED_STATION_ID),
        calling_station_id: calling.map(text),
        framed_ip_address: address(packet, dict::FRAMED_IP_ADDRESS, "Framed-IP-Address")?,
        class: class_value.map(text),
        auth: class_value.and_then(class::parse),
        event_time,
        session_time: i64::from(
            integer(packet, dict::ACCT_SESSION_TIME, "Acct-Session-Time")?.unwrap_or(0),
        ),
        input_octets: counter(
            integer(packet, dict::ACCT_INPUT_OCTETS, "Acct-Input-Octets")?,
            integer(packet, dict::ACCT_INPUT_GIGAWORDS, "Acct-Input-Gigawords")?,
        ),
        output_octets: counter(
            integer(packet, dict::ACCT_OUTPUT_OCTETS, "Acct-Output-Octets")?,
            integer(packet, dict::ACCT_OUTPUT_GIGAWORDS, "Acct-Output-Gigawords")?,
        ),
        input_packets: counter(
            integer(packet, dict::ACCT_INPUT_PACKETS, "Acct-Input-Packets")?,
            None,
        ),
        output_packets: counter(
            integer(packet, dict::ACCT_OUTPUT_PACKETS, "Acct-Output-Packets")?,
            None,
        ),
        terminate_cause: i64_of(integer(
            packet,
            dict::ACCT_TERMINATE_CAUSE,
            "Acct-Terminate-Cause",
        )?),
        interim_interval: i64_of(integer(
            packet,
            dict::ACCT_INTERIM_INTERVAL,
            "Acct-Interim-Interval",
        )?),
    })
}

#[cfg(test)]
mod tests;
