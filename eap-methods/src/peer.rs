//! The EAP peer side (RFC 4137 §4, reduced to Identity, Notification and
//! EAP-TLS), sans-IO: used by the simulated station.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::ServerName;

use crate::codec::{self, Code, EapType, Packet};
use crate::keys::{Emsk, Msk};
use crate::methods::identity;
use crate::methods::tls::{PeerStep, TlsPeer};
use crate::reason::Reason;
use crate::tls_common::TlsPacket;

/// Peer configuration.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Sent in EAP-Response/Identity.
    pub identity: String,
    /// Client certificate, trust anchors, versions, resumption store.
    pub tls: Arc<rustls::ClientConfig>,
    /// Name checked against the server certificate.
    pub server_name: ServerName<'static>,
    /// Maximum TLS-data octets per EAP-Response.
    pub fragment_size: usize,
    /// Bound on one reassembled TLS message from the server.
    pub max_tls_message_len: usize,
}

/// What the caller does after [`PeerSession::handle`].
#[derive(Debug)]
pub enum PeerOutcome {
    /// Send this EAP-Response.
    Response(Vec<u8>),
    /// EAP-Success after a completed handshake; keys available.
    Success(Box<PeerAuthenticated>),
    /// Authentication failed (EAP-Failure received, EAP-Success before the
    /// handshake completed, or a local error).
    Failure(Reason),
    /// Silently discard the packet (RFC 3748 §4.1).
    Discard(Reason),
}

/// Keys and facts of a successful authentication, peer side.
pub struct PeerAuthenticated {
    /// Master Session Key.
    pub msk: Msk,
    /// Extended Master Session Key.
    pub emsk: Emsk,
    /// Session-Id (RFC 5216 §2.3, RFC 9190 §2.3).
    pub session_id: Vec<u8>,
    /// Negotiated TLS version.
    pub tls_version: Option<rustls::ProtocolVersion>,
    /// The TLS handshake resumed an earlier session.
    pub resumed: bool,
}

impl fmt::Debug for PeerAuthenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerAuthenticated")
            .field("session_id_len", &self.session_id.len())
            .field("tls_version", &self.tls_version)
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

/// The EAP peer side of one authentication.
pub struct PeerSession {
    config: Arc<PeerConfig>,
    tls: Option<Box<TlsPeer>>,
    /// Identifier and bytes of the last Response, resent when the
    /// authenticator retransmits that Request (RFC 3748 §4.1).
    last: Option<(u8, Vec<u8>)>,
    finished: bool,
}

impl fmt::Debug for PeerSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerSession")
            .field("identity", &self.config.identity)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl PeerSession {
    /// A new peer session.
    pub fn new(config: Arc<PeerConfig>) -> Self {
        PeerSession {
            config,
            tls: None,
            last: None,
            finished: false,
        }
    }

    /// Whether Success or Failure ended the session.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether the TLS 1.3 commitment message (RFC 9190 §2.5) arrived.
    pub fn commitment_received(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.commitment_received())
    }

    fn respond(&mut self, id: u8, eap_type: EapType, data: &[u8]) -> PeerOutcome {
        let packet = codec::build(Code::Response, id, eap_type, data);
        self.last = Some((id, packet.clone()));
        PeerOutcome::Response(packet)
    }

    fn fail(&mut self, reason: Reason) -> PeerOutcome {
        self.finished = true;
        PeerOutcome::Failure(reason)
    }

    /// Handles one EAP packet from the authenticator.
    pub fn handle(&mut self, eap: &[u8]) -> PeerOutcome {
        if self.finished {
            return PeerOutcome::Discard(Reason::SessionFinished);
        }
        let packet = match Packet::new_checked(eap) {
            Ok(p) => p,
            Err(e) => return PeerOutcome::Discard(Reason::Malformed(e)),
        };
        let id = packet.identifier();
        match packet.code() {
            Code::Request => {}
            Code::Success => return self.on_success(),
            Code::Failure => {
                let reason = self
                    .tls
                    .as_ref()
                    .and_then(|t| t.failure().cloned())
                    .unwrap_or(Reason::EapFailure);
                return self.fail(reason);
            }
            Code::Response | Code::Unknown(_) => {
                return PeerOutcome::Discard(Reason::UnexpectedCode);
            }
        }
        // RFC 3748 §4.1: a retransmitted Request gets the same Response.
        if let Some((last_id, last)) = &self.last
            && *last_id == id
        {
            return PeerOutcome::Response(last.clone());
        }
        let data = packet.type_data();
        match packet.eap_type() {
            Some(EapType::Identity) => {
                let packet = identity::response(id, &self.config.identity);
                self.last = Some((id, packet.clone()));
                PeerOutcome::Response(packet)
            }
            // RFC 3748 §5.2: a Notification is answered with an empty one.
            Some(EapType::Notification) => self.respond(id, EapType::Notification, &[]),
            Some(EapType::Tls) => self.on_tls(id, data),
            // RFC 3748 §5.3: Nak never appears in a Request.
            Some(EapType::Nak) | None => PeerOutcome::Discard(Reason::UnexpectedType),
            // Any other method: Nak proposing EAP-TLS (RFC 3748 §5.3.1).
            Some(_) => self.respond(id, EapType::Nak, &[u8::from(EapType::Tls)]),
        }
    }

    fn on_tls(&mut self, id: u8, data: &[u8]) -> PeerOutcome {
        let is_start = TlsPacket::new_checked(data).is_ok_and(|p| p.is_start());
        if is_start {
            // RFC 5216 §2.1.1: EAP-TLS Start; answer with the ClientHello.
            let c = &self.config;
            return match TlsPeer::start(
                c.tls.clone(),
                c.server_name.clone(),
                c.fragment_size,
                c.max_tls_message_len,
            ) {
                Ok((tls, first)) => {
                    self.tls = Some(Box::new(tls));
                    self.respond(id, EapType::Tls, &first)
                }
                Err(reason) => self.fail(reason),
            };
        }
        let Some(tls) = self.tls.as_mut() else {
            return PeerOutcome::Discard(Reason::UnexpectedType);
        };
        match tls.process(data) {
            PeerStep::Send(td) => self.respond(id, EapType::Tls, &td),
            PeerStep::Fail(reason) => self.fail(reason),
        }
    }

    fn on_success(&mut self) -> PeerOutcome {
        let Some(tls) = self.tls.as_ref() else {
            // RFC 4137 §4: Success before any method completed.
            return self.fail(Reason::HandshakeIncomplete);
        };
        match tls.success() {
            Ok(r) => {
                self.finished = true;
                PeerOutcome::Success(Box::new(PeerAuthenticated {
                    msk: r.msk,
                    emsk: r.emsk,
                    session_id: r.session_id,
                    tls_version: r.tls_version,
                    resumed: r.resumed,
                }))
            }
            Err(reason) => self.fail(reason),
        }
    }
}
