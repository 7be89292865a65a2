//! The Dynamic Authorization client (RFC 5176): authd sends a
//! Disconnect-Request to the NAS of a session it wants ended (a user
//! disabled or deleted, a certificate revoked, an admin's `authd session
//! disconnect`), retransmits it, and takes the NAS's Disconnect-ACK or
//! Disconnect-NAK.
//!
//! This module is sans-IO: [`DasClient`] takes requests, datagrams and the
//! time and returns datagrams to send and results; `worker.rs` is the tokio
//! edge (one UDP socket, the store's queue), `wake.rs` how a server hears
//! of new queue rows at once.
//!
//! Retransmission (RFC 5176 section 2.3, RFC 5080 section 2.2.1): a
//! retransmission is the same bytes, the same Identifier and the same
//! Event-Timestamp. RFC 5176 section 2.3 says the Identifier MUST be
//! changed whenever the Attributes change and MUST stay the same for a
//! retransmission of identical contents; a fresh Event-Timestamp would
//! make every copy a new request the NAS cannot recognise as a duplicate.
//! The schedule (at most [`MAX_TRANSMISSIONS`] sends, [`RETRY_DELAYS`]
//! apart, then [`DasResult::Timeout`]) ends 23 s after the first send, far
//! inside the Event-Timestamp window a NAS enforces (hostapd: 300 s,
//! `radius_das_time_window`), so the original timestamp stays acceptable.
//!
//! Identifiers are per NAS address (RFC 5176 section 2.3 / RFC 2865
//! section 3: a client distinguishes requests to one server by
//! Identifier): at most 256 outstanding to one NAS; [`DasClient::can_start`]
//! says whether another fits, and the worker leaves a queued request
//! unclaimed until one does. The whole table is bounded by
//! [`MAX_OUTSTANDING`].

pub mod packet;
pub mod wake;
pub mod worker;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

pub use packet::{Answer, BuildError, Ignored, SessionId, error_cause_name};

/// Transmissions of one request, the first included.
pub const MAX_TRANSMISSIONS: u32 = 5;
/// Wait after the n-th transmission (from 0) before the next, or before
/// giving up after the last: exponential backoff, capped.
pub const RETRY_DELAYS: [Duration; MAX_TRANSMISSIONS as usize] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(8),
];
/// Requests in flight at once, over all NASes.
pub const MAX_OUTSTANDING: usize = 4096;

/// `[[client]] das_port` when not set: RFC 5176 section 2.1's UDP 3799.
pub fn default_das_port() -> u16 {
    crate::store::DEFAULT_DAS_PORT
}

/// One Disconnect-Request to send.
pub struct Request {
    /// The queue row's id, handed back with the result.
    pub id: String,
    /// Where the NAS's DAS listens: the session's accounting source
    /// address and the client's `das_port`.
    pub nas: SocketAddr,
    /// The NAS client's shared secret.
    pub secret: Zeroizing<Vec<u8>>,
    pub session: SessionId,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("nas", &self.nas)
            .field("secret", &"<redacted>")
            .field("session", &self.session)
            .finish()
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DasResult {
    Ack,
    Nak {
        error_cause: Option<u32>,
    },
    /// No valid answer after every transmission.
    Timeout,
}

impl DasResult {
    /// The state recorded in the store and the counter label.
    pub fn label(self) -> &'static str {
        match self {
            DasResult::Ack => "ack",
            DasResult::Nak { .. } => "nak",
            DasResult::Timeout => "timeout",
        }
    }

    pub fn error_cause(self) -> Option<u32> {
        match self {
            DasResult::Nak { error_cause } => error_cause,
            _ => None,
        }
    }
}

/// A finished request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub id: String,
    pub nas: SocketAddr,
    pub result: DasResult,
    /// Transmissions made.
    pub transmissions: u32,
}

/// Why a request was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("256 requests outstanding to this NAS, or the table is full")]
    Busy,
    #[error("cannot build the Disconnect-Request: {0}")]
    Build(#[from] BuildError),
}

struct Outstanding {
    id: String,
    bytes: Vec<u8>,
    secret: Zeroizing<Vec<u8>>,
    sent: u32,
    deadline: Instant,
}

/// Outstanding Disconnect-Requests, keyed by NAS address and Identifier.
#[derive(Default)]
pub struct DasClient {
    outstanding: HashMap<(SocketAddr, u8), Outstanding>,
    per_nas: HashMap<SocketAddr, u16>,
    next_identifier: HashMap<SocketAddr, u8>,
    ignored: HashMap<&'static str, u64>,
}

impl DasClient {
    pub fn new() -> DasClient {
        DasClient::default()
    }

    /// Whether a request to `nas` can start now.
    pub fn can_start(&self, nas: SocketAddr) -> bool {
        self.outstanding.len() < MAX_OUTSTANDING
            && self.per_nas.get(&nas).copied().unwrap_or(0) < 256
    }

    /// Requests in flight.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Starts `req` at `now` (`unix_now`: the Event-Timestamp, seconds since
    /// the Unix epoch) and returns its first transmission.
    pub fn start(
        &mut self,
        req: Request,
        now: Instant,
        unix_now: u32,
    ) -> Result<Transmit, StartError> {
        if !self.can_start(req.nas) {
            return Err(StartError::Busy);
        }
        let start = self.next_identifier.get(&req.nas).copied().unwrap_or(0);
        let identifier = (0..=255u8)
            .map(|i| start.wrapping_add(i))
            .find(|id| !self.outstanding.contains_key(&(req.nas, *id)))
            .ok_or(StartError::Busy)?;
        let bytes = packet::disconnect_request(&req.session, identifier, unix_now, &req.secret)?;
        self.next_identifier
            .insert(req.nas, identifier.wrapping_add(1));
        *self.per_nas.entry(req.nas).or_default() += 1;
        self.outstanding.insert(
            (req.nas, identifier),
            Outstanding {
                id: req.id,
                bytes: bytes.clone(),
                secret: req.secret,
                sent: 1,
                deadline: now + RETRY_DELAYS[0],
            },
        );
        Ok(Transmit { to: req.nas, bytes })
    }

    /// A datagram from `from`: the result it ends, or why it was ignored
    /// (also counted, see [`DasClient::ignored`]).
    pub fn handle_datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<Finished, Ignored> {
        let r = self.answer(from, bytes);
        if let Err(why) = r {
            *self.ignored.entry(why.label()).or_default() += 1;
        }
        r
    }

    fn answer(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<Finished, Ignored> {
        if !self.per_nas.contains_key(&from) {
            return Err(Ignored::WrongSource);
        }
        let identifier = *bytes.get(1).ok_or(Ignored::Malformed)?;
        let key = (from, identifier);
        let out = self
            .outstanding
            .get(&key)
            .ok_or(Ignored::UnknownIdentifier)?;
        let answer = packet::check_answer(bytes, &out.bytes, &out.secret)?;
        let out = self.remove(key);
        Ok(Finished {
            id: out.id,
            nas: from,
            result: match answer {
                Answer::Ack => DasResult::Ack,
                Answer::Nak { error_cause } => DasResult::Nak { error_cause },
            },
            transmissions: out.sent,
        })
    }

    fn remove(&mut self, key: (SocketAddr, u8)) -> Outstanding {
        let out = self
            .outstanding
            .remove(&key)
            .expect("caller checked the key is outstanding");
        if let Some(n) = self.per_nas.get_mut(&key.0) {
            *n -= 1;
            if *n == 0 {
                self.per_nas.remove(&key.0);
            }
        }
        out
    }

    /// The earliest time [`DasClient::poll`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.outstanding.values().map(|o| o.deadline).min()
    }

    /// Retransmissions due at `now`, and requests that ran out of them.
    pub fn poll(&mut self, now: Instant) -> (Vec<Transmit>, Vec<Finished>) {
        let mut sends = Vec::new();
        let mut done = Vec::new();
        let due: Vec<_> = self
            .outstanding
            .iter()
            .filter(|(_, o)| o.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            let Some(o) = self.outstanding.get_mut(&key) else {
                continue;
            };
            if o.sent < MAX_TRANSMISSIONS {
                o.deadline = now + RETRY_DELAYS[o.sent as usize];
                o.sent += 1;
                sends.push(Transmit {
                    to: key.0,
                    bytes: o.bytes.clone(),
                });
            } else {
                let o = self.remove(key);
                done.push(Finished {
                    id: o.id,
                    nas: key.0,
                    result: DasResult::Timeout,
                    transmissions: o.sent,
                });
            }
        }
        (sends, done)
    }

    /// Datagrams ignored so far, by reason label.
    pub fn ignored(&self) -> &HashMap<&'static str, u64> {
        &self.ignored
    }
}
