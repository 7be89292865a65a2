//! The EAP peer side (RFC 4137 §4, reduced to Identity, Notification and
//! EAP-TLS), sans-IO: used by the simulated station.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::ServerName;

use crate::codec::{self, Code, EapType, Packet};
use crate::keys::{Emsk, Msk};
use crate::methods::identity;
use crate::methods::peap::{PeapPeer, PeerMethodStep};
use crate::methods::tls::{PeerStep, TlsPeer};
use crate::methods::ttls::TtlsPeer;

/// A PEAP or TTLS peer in progress.
enum PeerTunnel {
    Peap(Box<PeapPeer>),
    Ttls(Box<TtlsPeer>),
}
use crate::reason::Reason;
use crate::tls_common::TlsPacket;

/// Which method the peer runs, and its credentials.
#[derive(Clone)]
pub enum PeerMethod {
    /// EAP-TLS with the client certificate of [`PeerConfig::tls`].
    Tls,
    /// PEAPv0 with EAP-MSCHAPv2 inside.
    Peap(PasswordCredentials),
    /// EAP-TTLS with this inner method.
    Ttls(TtlsInner, PasswordCredentials),
}

impl PeerMethod {
    /// The EAP type of the method.
    pub fn eap_type(&self) -> EapType {
        match self {
            PeerMethod::Tls => EapType::Tls,
            PeerMethod::Peap(_) => EapType::Peap,
            PeerMethod::Ttls(..) => EapType::Ttls,
        }
    }
}

impl fmt::Debug for PeerMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerMethod::Tls => f.write_str("Tls"),
            PeerMethod::Peap(c) => write!(f, "Peap({:?})", c.user),
            PeerMethod::Ttls(inner, c) => write!(f, "Ttls({inner:?}, {:?})", c.user),
        }
    }
}

/// The inner identity and password of PEAP or TTLS. No `Debug` of the
/// password; wiped on drop.
#[derive(Clone)]
pub struct PasswordCredentials {
    /// The inner identity (the user).
    pub user: String,
    /// The password.
    pub password: zeroize::Zeroizing<String>,
}

pub use crate::methods::ttls::TtlsInner;

/// Peer configuration.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Sent in EAP-Response/Identity (PEAP, TTLS: the outer identity, which
    /// may be anonymous).
    pub identity: String,
    /// The method, and for PEAP and TTLS the inner credentials.
    pub method: PeerMethod,
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
    tunnel: Option<PeerTunnel>,
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
            tunnel: None,
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
            Some(t) if t == self.config.method.eap_type() && t == EapType::Tls => {
                self.on_tls(id, data)
            }
            Some(t) if t == self.config.method.eap_type() => self.on_tunnel(id, t, data),
            // RFC 3748 §5.3: Nak never appears in a Request.
            Some(EapType::Nak) | None => PeerOutcome::Discard(Reason::UnexpectedType),
            // Any other method: Nak proposing ours (RFC 3748 §5.3.1).
            Some(_) => {
                let ours = u8::from(self.config.method.eap_type());
                self.respond(id, EapType::Nak, &[ours])
            }
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

    fn on_tunnel(&mut self, id: u8, eap_type: EapType, data: &[u8]) -> PeerOutcome {
        let is_start = TlsPacket::new_checked(data).is_ok_and(|p| p.is_start());
        if is_start {
            if self.tunnel.is_some() {
                return PeerOutcome::Discard(Reason::UnexpectedType);
            }
            let c = self.config.clone();
            let mut peer_challenge = [0u8; 16];
            if c.tls
                .crypto_provider()
                .secure_random
                .fill(&mut peer_challenge)
                .is_err()
            {
                return self.fail(Reason::Tls(rustls::Error::FailedToGetRandomBytes));
            }
            let started = match &c.method {
                PeerMethod::Peap(cred) => PeapPeer::start(
                    c.tls.clone(),
                    c.server_name.clone(),
                    c.fragment_size,
                    c.max_tls_message_len,
                    &cred.user,
                    &cred.password,
                    peer_challenge,
                )
                .map(|(p, hello)| (PeerTunnel::Peap(Box::new(p)), hello)),
                PeerMethod::Ttls(inner, cred) => TtlsPeer::start(
                    c.tls.clone(),
                    c.server_name.clone(),
                    c.fragment_size,
                    c.max_tls_message_len,
                    *inner,
                    &cred.user,
                    &cred.password,
                    peer_challenge,
                )
                .map(|(p, hello)| (PeerTunnel::Ttls(Box::new(p)), hello)),
                PeerMethod::Tls => Err(Reason::UnexpectedType),
            };
            return match started {
                Ok((tunnel, hello)) => {
                    self.tunnel = Some(tunnel);
                    self.respond(id, eap_type, &hello)
                }
                Err(reason) => self.fail(reason),
            };
        }
        let step = match self.tunnel.as_mut() {
            Some(PeerTunnel::Peap(p)) => p.process(data),
            Some(PeerTunnel::Ttls(p)) => p.process(data),
            None => return PeerOutcome::Discard(Reason::UnexpectedType),
        };
        match step {
            PeerMethodStep::Send(td) => self.respond(id, eap_type, &td),
            PeerMethodStep::Fail(reason) => self.fail(reason),
        }
    }

    fn on_success(&mut self) -> PeerOutcome {
        if let Some(tunnel) = &self.tunnel {
            let result = match tunnel {
                PeerTunnel::Peap(p) => p.success(),
                PeerTunnel::Ttls(p) => p.success(),
            };
            return match result {
                Ok(r) => {
                    self.finished = true;
                    PeerOutcome::Success(Box::new(PeerAuthenticated {
                        msk: r.keys.msk,
                        emsk: r.keys.emsk,
                        session_id: r.keys.session_id,
                        tls_version: r.tls_version,
                        resumed: r.resumed,
                    }))
                }
                Err(reason) => self.fail(reason),
            };
        }
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
